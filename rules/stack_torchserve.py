"""Serving signals from TorchServe (stack `torchserve`).

Source (docs/stacks/torchserve.md): pytorch/serve @ 62c4d6a1fdc1 ts/configs/metrics.yaml and the
frontend: `ts_inference_requests_total` (every request), `ts_inference_latency_microseconds`
and `ts_queue_latency_microseconds` (µs, successful requests), labels `model_name`,
`model_version`; host-level `Requests2XX`/`Requests4XX`/`Requests5XX` (simpleclient 0.9: no
`_total`; a `_total` spelling is accepted too).
- Errors per model do not exist: a model's errors are estimated as its requests times its
  host's share of 4XX+5XX responses (exact when errors are spread evenly across the host's
  models; the panel descriptions say so).
- No latency histogram: mean latency = latency counter / successful requests (requests less
  the estimated errors), µs -> s; percentile panels show the mean. Mean queue wait alike.
- Load time: `WorkerLoadTime` (gauge, ms; labels `WorkerName`, `Level`, `Hostname`), set when
  a worker reaches WORKER_MODEL_LOADED (frontend .../wlm/WorkerThread.java setState); the worker
  name is `W-<port>-<model>_<version>` (getWorkerName, ModelVersionName.getVersionedModelName):
  model and version come from it; the slowest worker counts. No loaded-state gauge.
"""

from _rulelib import WINDOW
from _stacklib import (
    JM,
    JMV,
    core,
    group,
    load_seconds,
    per,
    rate,
    rate_by,
    record,
    relabel,
    selector,
    sum_by,
)

STACK = "torchserve"
US, MS = 1e6, 1e3
HOST = "job, instance"  # the host-level counters join the model series of the same target


def _v(expr: str) -> str:
    return relabel(expr, model="model_name", version="model_version")


def _class(c: str) -> str:
    """Responses/s of one status class on each host (`RequestsNXX`, or `RequestsNXX_total`)."""
    return "(" + " or ".join(
        f"sum by ({HOST}) (rate({selector(f'Requests{c}XX{suffix}')}[{WINDOW}]))"
        for suffix in ("", "_total")) + ")"


# A class counter appears with its first response of that class: 0 until then.
_ZERO = f"(0 * ({_class('2')} or {_class('4')} or {_class('5')}))"


def _host(classes: str) -> str:
    return " + ".join(f"({_class(c)} or {_ZERO})" for c in classes)


HOST_ERROR_RATIO = f"({_host('45')})\n  / ({_host('245')} > 0)"


def _errors_raw() -> str:
    return (f"{rate('ts_inference_requests_total')}\n"
            f"  * on ({HOST}) group_left ()\n({HOST_ERROR_RATIO})")


def _success(g: str) -> str:
    return (f"{rate_by(g, _v, 'ts_inference_requests_total')}\n  - "
            f"{sum_by(g, _v(_errors_raw()))}")


_rules = [
    *core(
        requests=rate_by(JMV, _v, "ts_inference_requests_total"),
        errors=sum_by(JMV, _v(_errors_raw())),
        mean=per(rate_by(JMV, _v, "ts_inference_latency_microseconds"), _success(JMV), US),
    ),
    record("model:ml_inference_queue_duration_seconds:mean5m",
           per(rate_by(JM, _v, "ts_queue_latency_microseconds"), _success(JM), US)),
    load_seconds(relabel(selector("WorkerLoadTime"), model="WorkerName",
                         model_regex="W-[0-9]+-(.+)_[^_]*", version_from="WorkerName",
                         version_regex="W-[0-9]+-.+_([^_]*)"), MS),
]

groups = group(STACK, _rules)

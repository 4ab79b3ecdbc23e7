"""Serving signals from TensorFlow Serving (stack `tfserving`).

Source (docs/stacks/tfserving.md): tensorflow/serving @ 9d981c5c2708
tensorflow_serving/servables/tensorflow/util.cc and util/prometheus_exporter.cc:
`:tensorflow:serving:request_count` (label `model_name`, `status` = OK or an error code name),
`:tensorflow:serving:request_latency` (histogram in MICROseconds, labels `model_name`, `API`,
`entrypoint`). No version label (version="unknown"), no in-flight gauge; the batch-size
histogram has no model label.
- Percentiles: histogram_quantile over the µs buckets, / 1e6.
- Load time: TensorFlow's SavedModel loader (tensorflow/tensorflow @ f760627a5af0
  tensorflow/cc/saved_model/loader.cc, exported by TF Serving like its own metrics):
  `:tensorflow:cc:saved_model:load_latency` (counter, µs, every attempt) and
  `:tensorflow:cc:saved_model:load_attempt_count` (`status` success|fail), both by
  `model_path` = the version's directory, `<base_path>/<version>`: the model is the base
  path's last directory (TF Serving's convention, /models/<name>), the version the number.
  Mean load time = latency / attempts. No loaded-state gauge (the counters outlive an unload).
"""

from _stacklib import (
    JMV,
    LOAD_SECONDS,
    core,
    group,
    latency,
    mean_by,
    per,
    percentile,
    rate_by,
    record,
    relabel,
    selector,
    sum_by,
)

STACK = "tfserving"
US = 1e6
COUNT, LATENCY = ":tensorflow:serving:request_count", ":tensorflow:serving:request_latency"
LOADS = ":tensorflow:cc:saved_model:load_attempt_count"
LOAD_US = ":tensorflow:cc:saved_model:load_latency"


def _v(expr: str) -> str:
    return relabel(expr, model="model_name")


def _path(expr: str) -> str:
    """model and version from `model_path` = `.../<model>/<version>`."""
    return relabel(expr, model="model_path", model_regex=".*/([^/]+)/[0-9]+/?",
                   version_from="model_path", version_regex=".*/([0-9]+)/?")


_rules = [
    *core(
        requests=rate_by(JMV, _v, COUNT),
        errors=rate_by(JMV, _v, COUNT, 'status!="OK"'),
        mean=mean_by(JMV, _v, LATENCY, US),
    ),
    *latency(others=[percentile(_v, LATENCY, US)]),
    record(LOAD_SECONDS, per(sum_by(JMV, _path(selector(LOAD_US))),
                             sum_by(JMV, _path(selector(LOADS))), US)),
]

groups = group(STACK, _rules)

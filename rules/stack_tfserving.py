"""Serving signals from TensorFlow Serving (stack `tfserving`).

Source (docs/stacks/tfserving.md): tensorflow/serving @ 9d981c5c2708
tensorflow_serving/servables/tensorflow/util.cc and util/prometheus_exporter.cc:
`:tensorflow:serving:request_count` (label `model_name`, `status` = OK or an error code name),
`:tensorflow:serving:request_latency` (histogram in MICROseconds, labels `model_name`, `API`,
`entrypoint`). No version label (version="unknown"), no in-flight gauge; the batch-size
histogram has no model label.
- Percentiles: histogram_quantile over the µs buckets, / 1e6.
"""

from _stacklib import JMV, by, core, group, latency, per, quantile, rate, relabel, sum_by

STACK = "tfserving"
US = 1e6
COUNT, LATENCY = ":tensorflow:serving:request_count", ":tensorflow:serving:request_latency"


def _v(expr: str) -> str:
    return relabel(expr, model="model_name")


def _micros(level: str, q: str) -> str:
    g = by("job", "le", version=level == "version")
    return quantile(q, sum_by(g, _v(rate(f"{LATENCY}_bucket"))), US)


_rules = [
    *core(
        requests=sum_by(JMV, _v(rate(COUNT))),
        errors=sum_by(JMV, _v(rate(COUNT, 'status!="OK"'))),
        mean=per(sum_by(JMV, _v(rate(f"{LATENCY}_sum"))),
                 sum_by(JMV, _v(rate(f"{LATENCY}_count"))), US),
    ),
    *latency(others=[_micros]),
]

groups = group(STACK, _rules)

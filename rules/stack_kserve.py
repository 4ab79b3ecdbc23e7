"""Serving signals from KServe: the Knative queue-proxy beside each predictor, else the KServe
Python model server's own histograms (stack `kserve`).

Sources (docs/stacks/kserve.md): kserve/kserve @ aaac4e294dae python/kserve/kserve/metrics.py
(`request_predict_seconds` etc., label `model_name`, seconds, no error counter);
knative/serving @ 98e5ef90aa70 pkg/queue/request_metric.go and knative/pkg @ 521cb33b33dd
(>= 1.21: `kn_serving_invocation_duration_seconds`, `kn_serving_queue_depth`; 1.19-1.20:
`kn_queueproxy_app_duration_seconds`, `kn_queueproxy_depth`; label
`http_response_status_code`), the same repository @ 19b9a095db (<= 1.18 OpenCensus:
`revision_app_request_count`, `revision_app_request_latencies` in milliseconds,
`revision_queue_depth`, labels `response_code`, `response_code_class`).

The queue-proxy series have no model label: the scrape config must copy the pod label
`serving.kserve.io/inferenceservice` to the target label `inferenceservice` (docs/stacks/kserve.md).
KServe has no model version label: version="unknown".
- requests, errors (non-2xx) and latency from the queue-proxy (end to end through the model
  server), newest names first; a model without a scraped queue-proxy (RawDeployment mode) gets
  its request rate and latency from `request_predict_seconds` (predict step only, no errors:
  error ratio 0).
"""

from _stacklib import (
    JM,
    JMV,
    buckets,
    core,
    first,
    group,
    latency,
    mean_by,
    percentile,
    rate_by,
    record,
    relabel,
    selector,
    sum_by,
)

STACK = "kserve"
ISVC = "inferenceservice"
OTEL = ("kn_serving_invocation_duration_seconds", "kn_queueproxy_app_duration_seconds")
OC_COUNT, OC_LAT = "revision_app_request_count", "revision_app_request_latencies"
PREDICT = "request_predict_seconds"


def _qp(expr: str) -> str:
    return relabel(expr, model=ISVC)


def _py(expr: str) -> str:
    return relabel(expr, model="model_name")


def _requests(g: str) -> str:
    return first(*[rate_by(g, _qp, f"{m}_count") for m in OTEL],
                 rate_by(g, _qp, OC_COUNT),
                 rate_by(g, _py, f"{PREDICT}_count"))


def _errors(g: str) -> str:
    return first(*[rate_by(g, _qp, f"{m}_count", 'http_response_status_code!~"2.."')
                   for m in OTEL],
                 rate_by(g, _qp, OC_COUNT, 'response_code_class!="2xx"'),
                 )


def _seconds_buckets(level: str) -> str:
    return first(*[buckets(_qp, m)(level) for m in OTEL], le=True)


def _mean(g: str) -> str:
    return first(*[mean_by(g, _qp, m) for m in OTEL],
                 mean_by(g, _qp, OC_LAT, 1000),
                 mean_by(g, _py, PREDICT),
                 )


_rules = [
    *core(requests=_requests(JMV), errors=_errors(JMV), mean=_mean(JMV)),
    *latency(_seconds_buckets, [percentile(_qp, OC_LAT, 1000), percentile(_py, PREDICT)]),
    record("model:ml_inference_queued_requests:sum",
           first(*[sum_by(JM, _qp(selector(m)))
                   for m in ("kn_serving_queue_depth", "kn_queueproxy_depth",
                             "revision_queue_depth")])),
]

groups = group(STACK, _rules)


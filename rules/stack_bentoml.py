"""Serving signals from BentoML (stack `bentoml`).

Source (docs/stacks/bentoml.md): bentoml/BentoML @ 32230a5276a8
src/bentoml/_internal/server/http/instruments.py and configuration/v{1,2}/default_configuration.yaml:
`bentoml_service_request_total`, `bentoml_service_request_duration_seconds`,
`bentoml_service_request_in_progress` (BentoML >= 1.2), `bentoml_api_server_*` (1.0/1.1; the
newer names win per model); labels `service_name` (the model), `service_version` (its version),
`http_response_code`; `bentoml_service_adaptive_batch_size` (histogram of batch sizes).
- Errors: response codes other than 2xx. Latency: seconds histogram (percentiles in
  recording.py); in flight; mean adaptive batch size.
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
    rate_by,
    record,
    relabel,
    selector,
    sum_by,
)

STACK = "bentoml"
NAMESPACES = ("bentoml_service", "bentoml_api_server")


def _v(expr: str) -> str:
    return relabel(expr, model="service_name", version="service_version")


def _each(fn) -> str:
    return first(*[fn(ns) for ns in NAMESPACES])


def _buckets(level: str) -> str:
    return first(*[buckets(_v, f"{ns}_request_duration_seconds")(level) for ns in NAMESPACES],
                 le=True)


_rules = [
    *core(
        requests=_each(lambda ns: rate_by(JMV, _v, f"{ns}_request_total")),
        errors=_each(lambda ns: rate_by(JMV, _v, f"{ns}_request_total",
                                        'http_response_code!~"2.."')),
        mean=_each(lambda ns: mean_by(JMV, _v, f"{ns}_request_duration_seconds")),
    ),
    *latency(_buckets),
    record("model_version:ml_inference_in_progress_requests:sum",
           _each(lambda ns: sum_by(JMV, _v(selector(f"{ns}_request_in_progress"))))),
    record("model:ml_inference_batch_size:mean5m",
           mean_by(JM, _v, "bentoml_service_adaptive_batch_size")),
]

groups = group(STACK, _rules)

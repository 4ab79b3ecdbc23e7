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

from _stacklib import JM, JMV, by, core, first, group, latency, per, rate, record, relabel, sum_by

STACK = "bentoml"
NAMESPACES = ("bentoml_service", "bentoml_api_server")


def _v(expr: str) -> str:
    return relabel(expr, model="service_name", version="service_version")


def _each(fn) -> str:
    return first(*[fn(ns) for ns in NAMESPACES])


def _buckets(level: str) -> str:
    g = by("job", "le", version=level == "version")
    return first(*[sum_by(g, _v(rate(f"{ns}_request_duration_seconds_bucket")))
                   for ns in NAMESPACES], le=True)


_rules = [
    *core(
        requests=_each(lambda ns: sum_by(JMV, _v(rate(f"{ns}_request_total")))),
        errors=_each(lambda ns: sum_by(JMV, _v(rate(f"{ns}_request_total",
                                                     'http_response_code!~"2.."')))),
        mean=_each(lambda ns: per(sum_by(JMV, _v(rate(f"{ns}_request_duration_seconds_sum"))),
                                  sum_by(JMV, _v(rate(f"{ns}_request_duration_seconds_count"))))),
    ),
    *latency(_buckets),
    record("model_version:ml_inference_in_progress_requests:sum",
           _each(lambda ns: sum_by(JMV, _v(f"{ns}_request_in_progress")))),
    record("model:ml_inference_batch_size:mean5m",
           per(sum_by(JM, _v(rate("bentoml_service_adaptive_batch_size_sum"))),
               sum_by(JM, _v(rate("bentoml_service_adaptive_batch_size_count"))))),
]

groups = group(STACK, _rules)

"""Serving signals from the contract's own ml_* series (stack `contract`, on by default).

Every serving-stack adapter (one `stack_<name>.py` module each, enabled by `stacks:` in the
monitoring config) records the same model_version-level signals from its stack's native metrics:
requests/s, errors/s and the error ratio (0-1), predictions/s, latency buckets per version, p50,
p95 and p99 (absent where the stack has no latency histogram) and the mean latency, each keeping
`job` and the configured model and version labels. With no traffic, ratios, quantiles and means
are absent (never NaN or +Inf): `divide()` and `quantile_with_traffic()` guard every one.
rules/recording.py rolls them up per model.
Naming: level:metric:operations (prometheus.io/docs/practices/rules).
"""

from _rulelib import CONFIG, WINDOW, by, divide, record, sel

STACK = "contract"

LE = by("job", "le", version=True)
JMV = by("job", version=True)
JM = by("job")
ERROR = sel('status="error"')


def _rules() -> list[dict]:
    return [
        # --- traffic (RED: rate) ---------------------------------------------------------------
        record("model_version:ml_inference_requests:rate5m",
               f"sum {JMV} (rate(ml_inference_requests_total{sel()}[{WINDOW}]))"),
        record("model_version:ml_predictions:rate5m",
               f"sum {JMV} (rate(ml_predictions_total{sel()}[{WINDOW}]))"),
        # --- errors (RED: errors); numerator and denominator aggregated before dividing ---------
        record("model_version:ml_inference_request_errors:rate5m",
               f"sum {JMV} (rate(ml_inference_requests_total{ERROR}[{WINDOW}]))"),
        # Read from this stack's own series, not from the recorded names: those also hold every
        # other enabled stack's series (rules/_stacklib.py), which their adapters divide.
        record("model_version:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m",
               divide(f"sum {JMV} (rate(ml_inference_requests_total{ERROR}[{WINDOW}]))",
                      f"sum {JMV} (rate(ml_inference_requests_total{sel()}[{WINDOW}]))")),
        # --- latency (RED: duration): end-to-end request latency ---------------------------------
        # (the percentiles of every seconds histogram are computed in recording.py)
        record("model_version_le:ml_inference_duration_seconds_bucket:rate5m",
               f"sum {LE} (rate(ml_inference_duration_seconds_bucket{sel()}[{WINDOW}]))"),
        record("model_version:ml_inference_duration_seconds:mean5m",
               divide(f"sum {JMV} (rate(ml_inference_duration_seconds_sum{sel()}[{WINDOW}]))",
                      f"sum {JMV} (rate(ml_inference_duration_seconds_count{sel()}[{WINDOW}]))")),
        # --- saturation: in flight, queued, queue wait ------------------------------------------
        record("model_version:ml_inference_in_progress_requests:sum",
               f"sum {JMV} (ml_inference_in_progress_requests{sel()})"),
        record("model:ml_inference_queued_requests:sum",
               f"sum {JM} (ml_inference_queued_requests{sel()})"),
        record("model:ml_inference_queue_duration_seconds:p95_rate5m",
               f"histogram_quantile(0.95, sum {by('job', 'le')} "
               f"(rate(ml_inference_queue_duration_seconds_bucket{sel()}[{WINDOW}])))\n"
               "  >= 0\n"),  # NaN (a histogram without requests) dropped
        record("model:ml_inference_queue_duration_seconds:mean5m",
               divide(f"sum {JM} (rate(ml_inference_queue_duration_seconds_sum{sel()}[{WINDOW}]))",
                      f"sum {JM} (rate(ml_inference_queue_duration_seconds_count{sel()}[{WINDOW}]))")),
    ]


groups = [{"name": "ml-serving-contract.rules", "rules": _rules()}] if CONFIG.stack_on(STACK) else []

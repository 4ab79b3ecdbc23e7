"""Serving signals from NVIDIA Triton Inference Server's native metrics (stack `triton`).

Source: triton-inference-server/core @ 73aad7c3348d (src/metrics.cc, src/infer_stats.cc,
src/metric_model_reporter.cc); docs/stacks/triton.md. Labels `model`, `version`.
- requests = success + failure counters (a batch counts as one request); errors = failures
  (every `reason`);
- latency: `nv_inference_first_response_histogram_ms` (milliseconds; only with
  `--metrics-config histogram_latencies=true`) -> quantile in ms, / 1000. Without it the
  percentile panels show the mean (the duration counters, microseconds, successes only);
- queue: `nv_inference_pending_request_count`; mean queue wait from
  `nv_inference_queue_duration_us`; batch size = `nv_inference_count` / `nv_inference_exec_count`;
- load: `nv_model_load_duration_secs` (gauge, seconds; src/metrics.cc). The model's reporter
  creates it at 0 and model_repository_manager/model_lifecycle.cc sets it when the load
  completes; unloading removes it (~MetricModelReporter): > 0 = loaded, 0 = loading.
"""


from _stacklib import (
    JM,
    JMV,
    core,
    group,
    latency,
    load_seconds,
    loaded,
    per,
    percentile,
    rate_by,
    relabel,
    selector,
    sum_by,
)

STACK = "triton"
US, MS = 1e6, 1e3


def _v(expr: str) -> str:
    return relabel(expr, model="model", version="version")


# Successes and failures aggregated apart, then added: one `rate()` over both names would drop
# `__name__` and fail ("vector cannot contain metrics with the same labelset") wherever a failure
# series has the same labels as the success series (Triton before the `reason` label, or the
# TensorRT-LLM backend's models: rules/llm_triton.py reads the same counters).
SUCCESS = rate_by(JMV, _v, "nv_inference_request_success")
FAILURE = rate_by(JMV, _v, "nv_inference_request_failure")

_rules = [
    *core(
        # both sides by (cluster, job, model, version): one-to-one; no failure series yet = 0
        requests=f"{SUCCESS}\n  + (\n{FAILURE}\n  or\n0 * {SUCCESS})",
        errors=FAILURE,
        mean=per(rate_by(JMV, _v, "nv_inference_request_duration_us"), SUCCESS, US),
    ),
    *latency(others=[percentile(_v, "nv_inference_first_response_histogram_ms", MS)]),
    {"record": "model:ml_inference_queued_requests:sum",
     "expr": sum_by(JM, _v(selector("nv_inference_pending_request_count")))},
    {"record": "model:ml_inference_queue_duration_seconds:mean5m",
     "expr": per(rate_by(JM, _v, "nv_inference_queue_duration_us"),
                 rate_by(JM, _v, "nv_inference_request_success"), US)},
    {"record": "model:ml_inference_batch_size:mean5m",
     "expr": per(rate_by(JM, _v, "nv_inference_count"), rate_by(JM, _v, "nv_inference_exec_count"))},
    loaded(f'{_v(selector("nv_model_load_duration_secs"))} > bool 0'),
    load_seconds(f'{_v(selector("nv_model_load_duration_secs"))} > 0'),
]

groups = group(STACK, _rules)


"""promtool cases for no traffic (issue #12, item 16): no recording rule yields NaN or +Inf, and
no alert fires or flaps on the NaN a division by zero would give.

A model whose counters are flat (no requests for the whole window), a retired version whose pod
still costs money, a zero budget, a GPU reporting 0 MiB used and 0 MiB free, and a zero
worker-concurrency gauge: every ratio, quantile and mean over them must be absent, never NaN or
+Inf (rules/_rulelib.py: divide(), quantile_with_traffic()).
"""

from __future__ import annotations

from _rulelib import LABELED_ACCURACY, LABELED_COUNT, RECENT_ACCURACY
from _testlib import job, out, series

JOB = "ml-model"
FLAT = "0x40"
IDLE = {"job": JOB, "model": "idle", "version": "v1"}
POD = {"namespace": "ml", "pod": "idle-v0-0"}

GUARDED = [
    "model_version:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m",
    "model:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m",
    "model_version:ml_predictions_share:ratio_rate5m",
    "model_version:ml_inference_duration_seconds:p50_rate5m",
    "model_version:ml_inference_duration_seconds:p95_rate5m",
    "model_version:ml_inference_duration_seconds:p99_rate5m",
    "model:ml_inference_duration_seconds:p95_rate5m",
    "model_version:ml_inference_duration_seconds:mean5m",
    "model:ml_serving_cost_usd_per_1k_predictions:ratio_rate5m",
    "model_version:ml_serving_cost_usd_per_1k_predictions:ratio_rate5m",
    "model:ml_serving_cost_usd_per_hour_per_budget:ratio",
    "instance_gpu:dcgm_framebuffer_used:ratio",
    LABELED_ACCURACY,
    RECENT_ACCURACY,
]
SILENT = ["MLErrorRatioHigh", "MLLatencySLOBreach", "MLWorkersSaturated", "MLAuditLogGap",
          "MLCostOverBudget", "MLGPUMemoryPressure", "MLGPUSaturated", "MLFeedbackVolumeDrop",
          "MLFeedbackPositiveShareLow", "MLRolloutErrorRegression", "MLModelStoppedReporting",
          "MLRolloutQualityRegression", "MLModelQualityBelowBaseline"]
RECORDED = '{__name__=~".+:.+"}'


def _inputs() -> list[dict]:
    idle = [
        *[series("ml_inference_requests_total", **IDLE, status=s) for s in ("success", "error")],
        series("ml_predictions_total", **IDLE),
        series("ml_predictions_logged_total", **IDLE),
        *[series("ml_feedback_total", **IDLE, feedback=f) for f in ("positive", "negative")],
        *[series("ml_labeled_predictions_total", **IDLE, correct=c) for c in ("true", "false")],
        *[series("ml_inference_duration_seconds_bucket", **IDLE, le=le) for le in ("0.1", "+Inf")],
        series("ml_inference_duration_seconds_sum", **IDLE),
        series("ml_inference_duration_seconds_count", **IDLE),
        series("ml_inference_in_progress_requests", **IDLE),
        series("ml_inference_max_concurrency", job=JOB, model="idle"),
        series("ml_cost_budget_usd_per_hour", job=JOB, model="idle"),
    ]
    money = [  # the retired version's pod still costs 0.75 USD/h; the GPU reports no memory at all
        series("ml_model_info", **IDLE, **POD, approved="true"),
        series("node_cpu_hourly_cost", job="opencost", node="n1"),
        series("node_ram_hourly_cost", job="opencost", node="n1"),
        series("container_cpu_allocation", job="opencost", **POD, container="idle", node="n1"),
        series("container_memory_allocation_bytes", job="opencost", **POD, container="idle", node="n1"),
        series("DCGM_FI_DEV_GPU_UTIL", job="dcgm", gpu="0", **POD),
        series("DCGM_FI_DEV_FB_USED", job="dcgm", gpu="0", **POD),
        series("DCGM_FI_DEV_FB_FREE", job="dcgm", gpu="0", **POD),
    ]
    values = {"node_cpu_hourly_cost": "0.5x40", "container_cpu_allocation": "1x40",
              "node_ram_hourly_cost": "0.25x40", "container_memory_allocation_bytes": "1073741824x40",
              "ml_model_info": "1x40",
              # one request stuck in flight while the concurrency gauge reads 0: 1/0 = +Inf
              "ml_inference_in_progress_requests": "1x40"}
    return [{"series": s, "values": values.get(s.split("{")[0], FLAT)} for s in idle + money]


def cases() -> list[dict]:
    checks = [{"expr": rule, "eval_time": "20m", "exp_samples": []} for rule in GUARDED]
    checks += [
        # the rate itself is a real 0 (no requests), not absent: panels show 0 req/s
        {"expr": "model_version:ml_inference_requests:rate5m", "eval_time": "20m",
         "exp_samples": [{"labels": out("model_version:ml_inference_requests:rate5m",
                                        job=job(JOB), model="idle", version="v1"), "value": 0}]},
        # no labels arrived: a count of 0 (the accuracy over them is absent, above)
        {"expr": LABELED_COUNT, "eval_time": "20m",
         "exp_samples": [{"labels": out(LABELED_COUNT, job=job(JOB), model="idle", version="v1"),
                          "value": 0}]},
        # nothing recorded is NaN (NaN fails every comparison, so `>= -Inf` drops exactly NaN) ...
        {"expr": f"count({RECORDED}) - count({RECORDED} >= -Inf)", "eval_time": "20m",
         "exp_samples": [{"labels": "{}", "value": 0}]},
        # the retired version's pod still costs money: the cost itself is recorded
        {"expr": "model_version:ml_serving_cost_usd_per_hour:sum", "eval_time": "20m",
         "exp_samples": [{"labels": out("model_version:ml_serving_cost_usd_per_hour:sum", model="idle",
                                        version="v1"), "value": 0.75}]},
        # ... or infinite
        {"expr": f"{RECORDED} == +Inf or {RECORDED} == -Inf", "eval_time": "20m", "exp_samples": []},
    ]
    alerts = [{"eval_time": t, "alertname": name, "exp_alerts": []}
              for name in SILENT for t in ("10m", "39m")]
    return [{"interval": "1m", "input_series": _inputs(), "promql_expr_test": checks,
             "alert_rule_test": alerts}]

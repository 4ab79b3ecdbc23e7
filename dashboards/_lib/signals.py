"""The ML signals several dashboards share, as PromQL (metric names from docs/metrics.md).

One definition per signal, so the overview's "error ratio" is the errors dashboard's error
ratio and the retraining rule is written down exactly once.
"""

from __future__ import annotations

from _config import CONFIG

from _lib.promql import (
    INFO,
    F,
    M,
    V,
    by,
    per_model,
    pod_sum,
    quantile,
    ratio,
    sel,
    sum_increase,
    sum_rate,
)
from ml_monitoring.config import LABELED_WINDOW

QUALITY = "ml_model_quality_ratio"
BASELINE = "ml_model_baseline_quality_ratio"


# Recording rules from prometheus/rules/recording.yml (names are an interface there). They keep
# `job`, `model` and `version`, so the same selectors apply. Rule windows are fixed (5m).
RULE = {
    "requests": ("model:ml_inference_requests:rate5m", "model_version:ml_inference_requests:rate5m"),
    "predictions": ("model:ml_predictions:rate5m", "model_version:ml_predictions:rate5m"),
    "errors": (
        "model:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m",
        "model_version:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m",
    ),
    "p50": ("model:ml_inference_duration_seconds:p50_rate5m",
            "model_version:ml_inference_duration_seconds:p50_rate5m"),
    "p95": ("model:ml_inference_duration_seconds:p95_rate5m",
            "model_version:ml_inference_duration_seconds:p95_rate5m"),
    "p99": ("model:ml_inference_duration_seconds:p99_rate5m",
            "model_version:ml_inference_duration_seconds:p99_rate5m"),
    # every stack adapter records the mean; the percentile queries fall back to it where a stack
    # has no latency histogram (Seldon, TorchServe, Triton without histogram_latencies)
    "mean": ("model:ml_inference_duration_seconds:mean5m",
             "model_version:ml_inference_duration_seconds:mean5m"),
    "in_flight": ("model:ml_inference_in_progress_requests:sum",
                  "model_version:ml_inference_in_progress_requests:sum"),
    "queued": ("model:ml_inference_queued_requests:sum",),
    "queue_p95": ("model:ml_inference_queue_duration_seconds:p95_rate5m",),
    "queue_mean": ("model:ml_inference_queue_duration_seconds:mean5m",),
}
# Positive / all feedback per version over FEEDBACK_WINDOW (ml_monitoring/config.py), where
# enough events arrived (rules/recording.py), also what MLFeedbackPositiveShareLow alerts on.
FEEDBACK_SHARE_RULE = "model_version:ml_feedback_positive_per_ml_feedback:ratio_rate15m"
# Overrides per prediction per version over FEEDBACK_WINDOW (rules/recording.py).
OVERRIDE_RATIO_RULE = "model_version:ml_prediction_overrides_per_ml_predictions:ratio_rate15m"
# Correct / all labelled predictions per version over LABELED_WINDOW (ml_monitoring/config.py),
# where enough labels arrived (rules/recording.py), what MLRolloutQualityRegression compares.
LABELED_ACCURACY_RULE = ("model_version:ml_labeled_predictions_correct_per_ml_labeled_predictions:"
                         f"ratio_rate{LABELED_WINDOW}")
# Per-feature aggregates (rules/recording.py), also what MLFeatureDrift alerts on.
DRIFT_RELATIVE_RULE = "model_feature_method:ml_feature_drift_score_per_threshold:ratio"
VALIDATION_RULE = ("model_feature_reason:ml_input_validation_failures_per_ml_inference_requests"
                   ":ratio_rate5m")
# Serving stacks (monitoring.yaml `stacks:`) feed the dashboards only through these recording
# rules; a panel that reads the contract's ml_inference_* series at the dashboard's resolution
# falls back to them with `or` (docs/stacks/).
LATENCY_BUCKETS_RULE = "model_version_le:ml_inference_duration_seconds_bucket:rate5m"
# What the latency panels show where a stack lacks the signal (appended to their descriptions).
MEAN_NOTE = (" Serving stacks without a latency histogram (Seldon, TorchServe, Triton without "
             "histogram_latencies; docs/stacks/) show the mean latency instead.")
HEATMAP_NOTE = (" Needs a latency histogram in seconds (the contract, KServe, BentoML); stacks "
                "whose histogram is in ms or µs, or absent, leave it empty: read the percentile "
                "panels.")
QUEUE_NOTE = (" Triton and TorchServe give only the mean queue wait (shown instead); other "
              "stacks have no queue-time metric.")


def _rule(name: str, per_version: bool, labels: tuple[str, ...]) -> str:
    record = RULE[name][1 if per_version else 0]
    return f"sum by ({by(*labels)}) ({record}{sel(version=per_version)})"


def _rule_max(name: str, per_version: bool, labels: tuple[str, ...]) -> str:
    record = RULE[name][1 if per_version else 0]
    return f"max by ({by(*labels)}) ({record}{sel(version=per_version)})"


def request_rate(labels: tuple[str, ...] = (M,), per_version: bool = False) -> str:
    """Inference requests per second (recording rule, 5m rate)."""
    return _rule("requests", per_version, labels)


def prediction_rate(labels: tuple[str, ...] = (M,), per_version: bool = False) -> str:
    return _rule("predictions", per_version, labels)


def error_ratio(labels: tuple[str, ...] = (M,), per_version: bool = False) -> str:
    """Failed / all inference requests (RED errors; recording rule, 5m)."""
    return _rule_max("errors", per_version, labels)


def latency(q: int, labels: tuple[str, ...] = (M,), per_version: bool = False) -> str:
    """p50/p95/p99 end-to-end latency from the recording rules (q in 50, 95, 99); the mean
    where the serving stack has no latency histogram."""
    return f"{_rule_max(f'p{q}', per_version, labels)}\nor\n{_rule_max('mean', per_version, labels)}"


def _fallback(live: str, name: str, labels: tuple[str, ...], agg: str = "max") -> str:
    """`live` (the contract's series at the dashboard's resolution), else the recording rule
    every stack adapter writes (5m)."""
    per_version = V in labels
    record = RULE[name][1 if per_version else 0]
    return f"{live}\nor\n{agg} by ({by(*labels)}) ({record}{sel(version=per_version)})"


def request_rate_live(labels: tuple[str, ...] = (M,), selector: str | None = None) -> str:
    """Requests/s at the dashboard's resolution, else the stack adapters' rule."""
    live = sum_rate("ml_inference_requests_total",
                    sel(version=True) if selector is None else selector, labels)
    return _fallback(live, "requests", labels, agg="sum")


def error_ratio_live(labels: tuple[str, ...] = (M,)) -> str:
    """The same ratio computed at the dashboard's resolution ($__rate_interval), where a point
    rests on at least `error_ratio_point_min_requests` requests; elsewhere (a low-traffic canary, a stack
    without the contract's series) the recorded 5m ratio. A few errors among a few dozen
    requests cross the critical ratio by chance (binomial noise)."""
    enough = (f"{sum_increase('ml_inference_requests_total', sel(version=True), labels)}"
              f" >= {CONFIG.error_ratio_point_min_requests:g}")
    live = ratio(
        sum_rate("ml_inference_requests_total", sel('status="error"', version=True), labels),
        sum_rate("ml_inference_requests_total", sel(version=True), labels),
    )
    return _fallback(f"(\n{live}\nand\n  {enough}\n)", "errors", labels)


def latency_live(q: float, labels: tuple[str, ...] = (M,)) -> str:
    live = quantile(q, "ml_inference_duration_seconds", sel(version=True), labels)
    name = f"p{round(q * 100)}"
    return f"{_fallback(live, name, labels)}\nor\n{_rule_max('mean', V in labels, labels)}"


def latency_buckets_live() -> str:
    """Requests per latency bucket (all selected models) for a heatmap: the contract's series,
    else the seconds histograms the stack adapters record (their rate x the interval)."""
    live = sum_increase("ml_inference_duration_seconds_bucket", sel(version=True), ("le",))
    rule = (f"sum by ({by('le')}) ({LATENCY_BUCKETS_RULE}{sel(version=True)})"
            " * $__rate_interval_ms / 1000")
    return f"{live}\nor\n{rule}"


def queued(labels: tuple[str, ...] = (M,)) -> str:
    return f"sum by ({by(*labels)}) ({RULE['queued'][0]}{sel()})"


def in_flight(labels: tuple[str, ...] = (M,)) -> str:
    return f"sum by ({by(*labels)}) ({RULE['in_flight'][0]}{sel()})"


def queue_wait_p95(labels: tuple[str, ...] = (M,)) -> str:
    """p95 queue wait; the mean where the stack only has a queue-time counter (Triton,
    TorchServe)."""
    live = quantile(0.95, "ml_inference_queue_duration_seconds", sel(), labels)
    return (f"{_fallback(live, 'queue_p95', labels)}\nor\n"
            f"max by ({by(*labels)}) ({RULE['queue_mean'][0]}{sel()})")


def quality(metric: str | None = None, labels: tuple[str, ...] = (M, V), agg: str = "max") -> str:
    matcher = f'metric="{metric or CONFIG.quality_metric}"'
    return f"{agg} by ({by(*labels)}) ({QUALITY}{sel(matcher, version=True)})"


def quality_drop(metric: str | None = None, labels: tuple[str, ...] = (M,)) -> str:
    """Training baseline minus live score (positive = worse than at training), worst version."""
    metric = metric or CONFIG.quality_metric
    matcher = f'metric="{metric}"'
    return (
        f"max by ({by(*labels)}) (\n"
        f"  {BASELINE}{sel(matcher, version=True)}\n"
        f"  - {QUALITY}{sel(matcher, version=True)}\n)"
    )


def drift_relative(selector: str) -> str:
    """Drift score / exported threshold per model, feature and method (1 = at the threshold)."""
    return f"max by ({by(M, F, 'method')}) ({DRIFT_RELATIVE_RULE}{selector})"


def validation_failure_ratio(selector: str) -> str:
    """Rejected input values per request, per model, feature and reason (5m rule)."""
    return f"max by ({by(M, F, 'reason')}) ({VALIDATION_RULE}{selector})"


def drifted_share(labels: tuple[str, ...] = (M,)) -> str:
    return f"max by ({by(*labels)}) (ml_drifted_features_ratio{sel()})"


# --- cost (recording rules: OpenCost allocation x node prices, joined via ml_model_info) -------

COST_RULE = "model:ml_serving_cost_usd_per_hour:sum"
COST_VERSION_RULE = "model_version:ml_serving_cost_usd_per_hour:sum"
GPU_POD_COST_RULE = "namespace_pod:ml_gpu_cost_usd_per_hour:sum"


def cost_per_hour(labels: tuple[str, ...] = (M,), per_version: bool = False) -> str:
    """USD per hour of the model's serving pods."""
    record = COST_VERSION_RULE if per_version else COST_RULE
    return f"sum by ({by(*labels)}) ({record}{sel(source='none', version=per_version)})"


def _over(series: str, window: str | None) -> str:
    return series if window is None else f"avg_over_time({series}[{window}])"


def gpu_cost_per_hour(labels: tuple[str, ...] = (M,), window: str | None = None) -> str:
    """GPU spend per hour now, or averaged over `window` (e.g. `$__range`)."""
    return per_model(_over(f"{GPU_POD_COST_RULE}{sel(source='none', model=False)}", window), labels)


def gpu_idle_cost_per_hour(labels: tuple[str, ...] = (M,), window: str | None = None) -> str:
    """GPU spend times the unused share of the GPU (1 - utilisation), now or averaged over
    `window`."""
    join = by(*CONFIG.pod_join_labels)
    cost = _over(f"{GPU_POD_COST_RULE}{sel(source='none', model=False)}", window)
    util = _over(f"DCGM_FI_DEV_GPU_UTIL{sel(source='gpu', model=False)}", window)
    idle = f"{cost}\n  * on ({join}) (1 - max by ({join}) ({util}) / 100)"
    return per_model(idle, labels)


def cost_per_1k_predictions(labels: tuple[str, ...] = (M,), per_version: bool = False) -> str:
    record = ("model_version:ml_serving_cost_usd_per_1k_predictions:ratio_rate5m" if per_version
              else "model:ml_serving_cost_usd_per_1k_predictions:ratio_rate5m")
    return f"max by ({by(*labels)}) ({record}{sel(source='none', version=per_version)})"


def budget(labels: tuple[str, ...] = (M,)) -> str:
    """The model's hourly budget: the service's ml_cost_budget_usd_per_hour, else CONFIG's."""
    return (
        f"(max by ({by(*labels)}) (ml_cost_budget_usd_per_hour{sel()})\n"
        f" or on ({by(*labels)}) ({cost_per_hour(labels)} * 0 + {CONFIG.budget_usd_per_hour}))"
    )


def budget_burn(labels: tuple[str, ...] = (M,)) -> str:
    """Cost per hour / budget per hour: 1 = spending exactly the budget."""
    return ratio(cost_per_hour(labels), budget(labels))


# --- retraining rule (documented in docs/dashboards.md) ---------------------------------------


def retraining_status() -> str:
    """0 = OK, 1 = watch, 2 = retraining recommended, per model.

    watch   = drifted share >= drifted_share_crit, or quality drop >= quality_drop_warn,
              or concept drift detected
    retrain = quality drop >= quality_drop_crit,
              or (drifted share >= drifted_share_crit and quality drop >= quality_drop_warn),
              or concept drift detected
    status  = watch + retrain (retrain implies watch, so the sum is 0, 1 or 2).
    """
    drift = f"({drifted_share()} >= bool {CONFIG.drifted_share_crit})"
    drop = quality_drop()
    mild = f"({drop} >= bool {CONFIG.quality_drop_warn})"
    severe = f"({drop} >= bool {CONFIG.quality_drop_crit})"
    concept = f"max by ({by(M)}) (ml_concept_drift_detected{sel()})"
    watch = f"clamp_max({drift} + {mild} + {concept}, 1)"
    retrain = f"clamp_max({severe} + {drift} * {mild} + {concept}, 1)"
    return f"{watch}\n+\n{retrain}"


def live_versions(extra: str = 'stage!="retired"') -> str:
    return f"max by ({by(M, V, 'stage', 'approved')}) ({INFO}{sel(extra, version=True)})"


# --- containers (cAdvisor + kube-state-metrics), per model via ml_model_info ------------------

_CONTAINER = sel('container!=""', source="container", model=False)


def _pod_rate(counter: str) -> str:
    return pod_sum(f"rate({counter}{_CONTAINER}[$__rate_interval])")


def _pod_resource(metric: str, resource: str) -> str:
    return pod_sum(f"{metric}" + sel(f'resource="{resource}"', source="container", model=False))


def cpu_throttling() -> str:
    """Share of CFS periods the model's containers were throttled (worst pod)."""
    pods = (_pod_rate("container_cpu_cfs_throttled_periods_total") + "\n  / "
            + _pod_rate("container_cpu_cfs_periods_total"))
    return per_model(pods, (M,), agg="max")


def cpu_used_vs_requested() -> str:
    return ratio(per_model(_pod_rate("container_cpu_usage_seconds_total")),
                 per_model(_pod_resource("kube_pod_container_resource_requests", "cpu")))


def memory_vs_limit() -> str:
    return ratio(per_model(pod_sum(f"container_memory_working_set_bytes{_CONTAINER}")),
                 per_model(_pod_resource("kube_pod_container_resource_limits", "memory")))


def memory_working_set(labels: tuple[str, ...] = (M, V)) -> str:
    return per_model(pod_sum(f"container_memory_working_set_bytes{_CONTAINER}"), labels)


def positive_feedback_share() -> str:
    """Positive / all feedback per model and version over FEEDBACK_WINDOW, where at least
    `feedback_min_events` arrived (the recorded share MLFeedbackPositiveShareLow judges)."""
    return f"max by ({by(M, V)}) ({FEEDBACK_SHARE_RULE}{sel(version=True)})"


def labeled_accuracy() -> str:
    """Labelled accuracy per model and version over LABELED_WINDOW (absent below the minimum of
    labels), the same window for every version."""
    return f"max by ({by(M, V)}) ({LABELED_ACCURACY_RULE}{sel(version=True)})"


def override_ratio() -> str:
    """Overrides per prediction per model and version over FEEDBACK_WINDOW (recorded)."""
    return f"max by ({by(M, V)}) ({OVERRIDE_RATIO_RULE}{sel(version=True)})"

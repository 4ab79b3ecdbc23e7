"""Recording rules for the expensive dashboard queries and for the alerts.

Naming: level:metric:operations (prometheus.io/docs/practices/rules): `_total` stripped after
rate(), ratios as `<a>_per_<b>:ratio_...`, quantiles as `pNN_rate5m`. The names are an interface
(the dashboards and alerts read them): keep them stable, change expressions only. `job` stays in
every `by` except where a rule joins series of several jobs (cost, infra), and the labels the
dashboards filter on (the configured model and version labels) are always kept. The per-version
serving signals come from the stack adapters (rules/stack_*.py); this module rolls them up.
"""

from _rulelib import (
    DRIFT_RELATIVE,
    FEEDBACK_SHARE,
    OVERRIDE_RATIO,
    POD,
    VALIDATION_RATIO,
    WINDOW,
    F,
    V,
    by,
    divide,
    labeled_accuracy,
    labeled_count,
    labels,
    node_join,
    num,
    on,
    pod_join,
    quantile_with_traffic,
    record,
    sel,
    t,
)
from _testlib import render
from _zero_traffic import cases as zero_traffic_cases

from ml_monitoring.config import FEEDBACK_WINDOW, LABELED_RECENT_WINDOW, LABELED_WINDOW

MV = by(version=True)
MODEL_BUCKETS = "model_le:ml_inference_duration_seconds_bucket:rate5m"
VERSION_BUCKETS = "model_version_le:ml_inference_duration_seconds_bucket:rate5m"
JM = by("job")
POD_BY = f"by ({pod_join()})"
INFO_JOIN = (f"* on({pod_join()}) group_left({labels(version=True)})\n"
             f"  max by ({pod_join()}, {labels(version=True)}) (ml_model_info{sel()})")


def _serving() -> list[dict]:
    """Per-model roll-ups of the stack adapters' per-version serving signals."""
    return [
        record("model:ml_inference_requests:rate5m",
               f"sum {JM} (model_version:ml_inference_requests:rate5m)"),
        record("model:ml_predictions:rate5m", f"sum {JM} (model_version:ml_predictions:rate5m)"),
        # Share of a model's predictions served by each version (canary / rollout progress).
        record("model_version:ml_predictions_share:ratio_rate5m",
               divide("model_version:ml_predictions:rate5m", "model:ml_predictions:rate5m",
                      f"ignoring({V}) group_left()")),
        record("model:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m",
               divide(f"sum {JM} (model_version:ml_inference_request_errors:rate5m)",
                      f"sum {JM} (model_version:ml_inference_requests:rate5m)")),
        # Percentiles of every latency histogram in seconds (the contract's, and stacks' whose
        # native histogram is in seconds), per version and per model. Adapters of stacks whose
        # histogram is in ms or µs record theirs (quantile in the native unit, then scaled).
        *[record(f"model_version:ml_inference_duration_seconds:p{q}_rate5m",
                 quantile_with_traffic(f"0.{q}", VERSION_BUCKETS, "job", version=True))
          for q in ("50", "95", "99")],
        record("model_le:ml_inference_duration_seconds_bucket:rate5m",
               f"sum {by('job', 'le')} (model_version_le:ml_inference_duration_seconds_bucket:rate5m)"),
        *[record(f"model:ml_inference_duration_seconds:p{q}_rate5m",
                 quantile_with_traffic(f"0.{q}", MODEL_BUCKETS, "job"))
          for q in ("50", "95", "99")],
        # Mean latency per model: the versions' means weighted by their request rates.
        record("model:ml_inference_duration_seconds:mean5m",
               divide(f"sum {JM} (\n  model_version:ml_inference_duration_seconds:mean5m\n"
                      f"    * {on('job', version=True)} model_version:ml_inference_requests:rate5m\n)",
                      f"sum {JM} (model_version:ml_inference_requests:rate5m)")),
        record("model:ml_inference_in_progress_requests:sum",
               f"sum {JM} (model_version:ml_inference_in_progress_requests:sum)"),
    ]


def _feedback_rate(kind: str = "") -> str:
    matcher = (f'feedback="{kind}"',) if kind else ()
    return (f"sum {by('job', version=True)} "
            f"(rate(ml_feedback_total{sel(*matcher)}[{FEEDBACK_WINDOW}]))")


def _labeled(window: str, *matchers: str) -> str:
    return (f"sum {by('job', version=True)} "
            f"(increase(ml_labeled_predictions_total{sel(*matchers)}[{window}]))")


def _labeled_accuracy(window: str) -> list[dict]:
    """Labelled predictions per version over `window` (0 when none arrived) and the share of them
    correct, only where at least quality_window_min_samples arrived: the same time span for
    every version (the library's quality gauges span each version's last 1000 labels:
    docs/alerts.md, "The canary lag"). A version with labels but none correct yet has no
    correct="true" series in some clients: its accuracy is 0, not absent (the `or`)."""
    labeled, correct = _labeled(window), _labeled(window, 'correct="true"')
    return [
        record(labeled_count(window), labeled),
        record(labeled_accuracy(window),
               f"(\n{divide(f'({correct} or 0 * {labeled})', labeled)})\n"
               f"and {on('job', version=True)}\n{labeled} >= {num(t('quality_window_min_samples'))}\n"),
    ]


def _quality() -> list[dict]:
    return [
        # MLRolloutQualityRegression compares canary and production over LABELED_WINDOW;
        # MLModelQualityBelowBaseline's accuracy resolves on LABELED_RECENT_WINDOW
        *_labeled_accuracy(LABELED_WINDOW),
        *_labeled_accuracy(LABELED_RECENT_WINDOW),
        # Online quality minus the training-time validation baseline, per metric (negative =
        # worse than at training). Both gauges carry the same labels, so they match 1:1.
        record("model_version:ml_model_quality_ratio:baseline_delta",
               f"ml_model_quality_ratio{sel()} - ml_model_baseline_quality_ratio{sel()}"),
        # Positive share of user feedback over FEEDBACK_WINDOW (the window in the name), only
        # where at least feedback_min_events arrived in it: a share of a handful of events is
        # noise (docs/alerts.md, "Healthy traffic").
        record(FEEDBACK_SHARE,
               f"(\n{divide(_feedback_rate('positive'), _feedback_rate())})\n"
               f"and {on('job', version=True)}\n"
               f"sum {by('job', version=True)} (increase(ml_feedback_total{sel()}[{FEEDBACK_WINDOW}]))"
               f" >= {num(t('feedback_min_events'))}\n"),
        # Overrides per prediction over FEEDBACK_WINDOW (absent without predictions)
        record(OVERRIDE_RATIO,
               divide(f"sum {by('job', version=True)} "
                      f"(rate(ml_prediction_overrides_total{sel()}[{FEEDBACK_WINDOW}]))",
                      f"sum {by('job', version=True)} "
                      f"(rate(ml_predictions_total{sel()}[{FEEDBACK_WINDOW}]))")),
        # Share of a model's monitored features drifted under any method, 0-1 (the service's own
        # ml_drifted_features_ratio counts the primary method, psi, only).
        record("model:ml_feature_drift_detected:ratio",
               f"avg {JM} (\n  max {by('job', F)} (ml_feature_drift_detected{sel()})\n)\n"),
        # Each feature's drift score over its exported threshold (1 = at the threshold), per
        # method: what MLFeatureDrift alerts on and the drift dashboard's per-feature panels
        # read (one series per model, feature and method instead of two raw gauges each).
        record(DRIFT_RELATIVE,
               divide(f"max {by('job', F, 'method')} (ml_feature_drift_score{sel()})",
                      f"max {by('job', F, 'method')} (ml_feature_drift_threshold{sel()})")),
        # Rejected input values per request, per feature and reason (the errors dashboard's
        # per-feature panel): a 5m rate recorded once instead of a rate over every raw series
        # at every step of every dashboard load.
        record(VALIDATION_RATIO,
               divide(f"sum {by('job', F, 'reason')} "
                      f"(rate(ml_input_validation_failures_total{sel()}[{WINDOW}]))",
                      # the model's requests whatever job serves them (a stack adapter's)
                      "sum without (job) (model:ml_inference_requests:rate5m)",
                      f"{on()} group_left()")),
    ]


def _cost() -> list[dict]:
    # OpenCost allocation x node prices per pod (split so CPU-only pods are not dropped by +).
    # These join series of several jobs (OpenCost, the model service), so `job` is not kept.
    cost, node = sel(source="cost"), node_join()
    return [
        record("namespace_pod:ml_cpu_ram_cost_usd_per_hour:sum",
               f"sum {POD_BY} (\n"
               f"    container_cpu_allocation{cost}\n"
               f"      * on({node}) group_left() avg by ({node}) (node_cpu_hourly_cost{cost})\n"
               f"  + container_memory_allocation_bytes{cost} / 1024^3\n"
               f"      * on({node}) group_left() avg by ({node}) (node_ram_hourly_cost{cost})\n)\n"),
        record("namespace_pod:ml_gpu_cost_usd_per_hour:sum",
               f"sum {POD_BY} (\n"
               f"  container_gpu_allocation{cost} * on({node}) group_left() avg by ({node}) "
               f"(node_gpu_hourly_cost{cost})\n)\n"),
        record("namespace_pod:ml_serving_cost_usd_per_hour:sum",
               "(namespace_pod:ml_cpu_ram_cost_usd_per_hour:sum\n"
               "  + namespace_pod:ml_gpu_cost_usd_per_hour:sum)\n"
               "  or namespace_pod:ml_cpu_ram_cost_usd_per_hour:sum\n"),
        # Hourly serving cost per model (and per version): OpenCost pods joined to the model
        # through ml_model_info's pod labels.
        record("model_version:ml_serving_cost_usd_per_hour:sum",
               f"sum {MV} (\n  namespace_pod:ml_serving_cost_usd_per_hour:sum\n    {INFO_JOIN}\n)\n"),
        record("model:ml_serving_cost_usd_per_hour:sum",
               f"sum {by()} (model_version:ml_serving_cost_usd_per_hour:sum)"),
        # Spend against the budget the team configured (ml_cost_budget_usd_per_hour), 1 = on budget.
        record("model:ml_serving_cost_usd_per_hour_per_budget:ratio",
               divide("model:ml_serving_cost_usd_per_hour:sum",
                      f"max {by()} (ml_cost_budget_usd_per_hour{sel()})", on())),
        record("model:ml_serving_cost_usd_per_1k_predictions:ratio_rate5m",
               divide("1000 * model:ml_serving_cost_usd_per_hour:sum",
                      f"sum {by()} (model:ml_predictions:rate5m) * 3600", on())),
        record("model_version:ml_serving_cost_usd_per_1k_predictions:ratio_rate5m",
               divide("1000 * model_version:ml_serving_cost_usd_per_hour:sum",
                      f"sum {MV} (model_version:ml_predictions:rate5m) * 3600", on(version=True))),
    ]


def _infra() -> list[dict]:
    node, gpu = sel('mode=~"idle|iowait|steal"', source="node"), sel(source="gpu")
    return [
        # node-mixin definitions (prometheus/node_exporter node-mixin/rules/rules.libsonnet).
        record("instance:node_cpu_utilisation:rate5m",
               "1 - avg without (cpu) (\n"
               f"  sum without (mode) (rate(node_cpu_seconds_total{node}[{WINDOW}]))\n)\n"),
        record("instance:node_memory_utilisation:ratio",
               "1 - " + divide(f"node_memory_MemAvailable_bytes{sel(source='node')}",
                               f"node_memory_MemTotal_bytes{sel(source='node')}")),
        # DCGM exporter: utilisation in percent -> ratio; framebuffer is in MiB (used + free = total).
        record("instance_gpu:dcgm_gpu_utilisation:ratio", f"DCGM_FI_DEV_GPU_UTIL{gpu} / 100"),
        record("instance_gpu:dcgm_framebuffer_used:ratio",
               divide(f"DCGM_FI_DEV_FB_USED{gpu}", f"DCGM_FI_DEV_FB_USED{gpu} + DCGM_FI_DEV_FB_FREE{gpu}")),
        # GPU utilisation and memory occupancy of each model version's serving pods (DCGM joined
        # to ml_model_info on the pod labels), so GPU alerts carry the model like every other alert.
        record("model_version:dcgm_gpu_utilisation:avg_ratio",
               f"avg {MV} (\n  instance_gpu:dcgm_gpu_utilisation:ratio\n    {INFO_JOIN}\n)\n"),
        record("model_version:dcgm_framebuffer_used:max_ratio",
               f"max {MV} (\n  instance_gpu:dcgm_framebuffer_used:ratio\n    {INFO_JOIN}\n)\n"),
    ]


assert POD  # the pod join labels are configured (labels.pod)

# promtool tests (prometheus/tests/recording_test.yml): the hand-checked template under the
# config's names, and the no-traffic cases.
tests = render("recording_test.yml") + zero_traffic_cases()

groups = [
    {"name": "ml-serving.rules", "rules": _serving()},
    {"name": "ml-quality.rules", "rules": _quality()},
    {"name": "ml-cost.rules", "rules": _cost()},
    {"name": "ml-infra.rules", "rules": _infra()},
]

"""The one place a team adapts the dashboards to its own metrics.

Every query in dashboards/ builds its label matchers from `CONFIG`: the label names the
dashboards filter and group on, the extra matchers (job/namespace selectors) that pick each
metric source, and the thresholds panels colour by. Edit the defaults below (or replace `CONFIG`
with `dataclasses.replace(MonitoringConfig(), model_label="model_name", ...)`), run
`make dashboards`, and every dashboard follows. docs/dashboards.md documents each field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MonitoringConfig:
    """Label names, source selectors and thresholds shared by all ML monitoring dashboards."""

    # --- label names (as they appear on your series) ---------------------------------------
    model_label: str = "model"
    version_label: str = "version"
    feature_label: str = "feature"
    attribute_label: str = "attribute"  # protected attribute of a fairness group (e.g. sex)
    group_label: str = "group"  # the group within that attribute
    # labels that locate a serving pod; exporter series (cAdvisor, DCGM, OpenCost) are joined to
    # model/version through ml_model_info on these
    pod_join_labels: tuple[str, ...] = ("namespace", "pod")

    # --- extra matchers per metric source (PromQL matcher list, "" = none) -------------------
    # e.g. serving_selector='job="model-serving", namespace="ml"'.
    serving_selector: str = ""  # the model service's own ml_* metrics
    evaluation_selector: str = ""  # batch evaluation / drift jobs (usually via the Pushgateway)
    container_selector: str = ""  # cAdvisor / kube-state-metrics series of the model pods
    gpu_selector: str = ""  # NVIDIA DCGM exporter
    node_selector: str = ""  # node_exporter
    cost_selector: str = ""  # OpenCost

    # --- Grafana ---------------------------------------------------------------------------
    datasource_uid: str = "prometheus"  # fixed by provisioning/datasources/prometheus.yaml
    folder: str = "ml-monitoring"

    # --- the quality score the overview and the retraining rule use ---------------------------
    quality_metric: str = "accuracy"

    # --- thresholds (keep in step with prometheus/rules alerts) ------------------------------
    error_ratio_warn: float = 0.01
    error_ratio_crit: float = 0.05
    latency_p95_warn_seconds: float = 0.25
    latency_p95_crit_seconds: float = 0.5
    latency_p99_crit_seconds: float = 1.0
    quality_drop_warn: float = 0.02  # production score below training baseline (absolute)
    quality_drop_crit: float = 0.05
    drift_score_warn: float = 0.1  # PSI "watch" (per-feature thresholds come from the metric)
    drift_score_crit: float = 0.25  # PSI "act"
    drifted_share_warn: float = 0.2
    drifted_share_crit: float = 0.3  # also the retraining rule's drift condition
    evaluation_missed_runs_warn: float = 1.5  # evaluation age in schedule intervals
    evaluation_missed_runs_crit: float = 2.0
    label_coverage_warn: float = 0.5  # share of predictions whose ground truth arrived
    label_coverage_crit: float = 0.2
    quality_window_min_samples: float = 100  # fewer labelled predictions: scores are noise
    spd_fair_bound: float = 0.1  # statistical parity difference fair range [-0.1, 0.1]
    dir_fair_lower: float = 0.8  # disparate impact ratio fair range [0.8, 1.25] (4/5ths rule)
    dir_fair_upper: float = 1.25
    audit_coverage_min: float = 0.99
    feedback_positive_warn: float = 0.8  # positive share of user feedback below this: watch
    feedback_positive_crit: float = 0.6
    override_ratio_warn: float = 0.05  # share of predictions a human overrode
    override_ratio_crit: float = 0.1
    concept_drift_z: float = 3.0  # ml_concept_drift_score (binomial z) at or above: concept drift
    budget_usd_per_hour: float = 5.0  # cost budget per model; burn > 1 means over budget
    gpu_idle_utilisation: float = 0.3  # below this GPU utilisation the spend counts as idle
    # LLM serving (dashboards/llm.py, LLM alerts)
    llm_ttft_slo_seconds: float = 1.0  # time-to-first-token SLO: a bucket bound of the histogram
    llm_ttft_slo_target: float = 0.95  # share of requests within the SLO (p95 <= SLO)
    llm_burn_rate_fast: float = 14.4  # error-budget burn over 1 h (and 5 min): page
    llm_burn_rate_slow: float = 6.0  # over 6 h (and 30 min): ticket
    llm_itl_p95_warn_seconds: float = 0.1  # inter-token latency p95: slower than people read
    llm_error_finish_ratio_warn: float = 0.01
    llm_error_finish_ratio_crit: float = 0.05
    llm_kv_cache_usage_warn: float = 0.8
    llm_kv_cache_usage_crit: float = 0.95  # KV cache saturated: preemptions and queueing
    llm_queue_waiting_max: float = 10  # waiting requests above this and rising: queue growing
    llm_preemption_ratio_crit: float = 0.05  # preemptions per finished request
    llm_eval_score_min: float = 0.75  # LLM-judge score below this: do not promote
    llm_guardrail_trigger_warn: float = 0.02  # share of evaluated answers flagged


CONFIG = MonitoringConfig()

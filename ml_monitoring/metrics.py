"""The metric families the library emits: names, types, labels, buckets (docs/metrics.md).

`SPECS` is the library's copy of the service part of the metrics contract; a unit test checks it
against docs/metrics.md in both directions. Label names written in capitals are *roles*
(MODEL, VERSION, FEATURE, ATTRIBUTE, GROUP) resolved to the configured label names
(`monitoring.yaml` `labels`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ml_monitoring._settings import LabelNames, label_names

# `_created` series would be undocumented extra series for every counter and histogram.
prometheus_client.disable_created_metrics()

MODEL, VERSION, FEATURE = "MODEL", "VERSION", "FEATURE"
ATTRIBUTE, GROUP = "ATTRIBUTE", "GROUP"
MV = (MODEL, VERSION)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
DELAY_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)
OUTLIER_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)

# multiprocess aggregation of gauges (prometheus_client multiprocess mode)
LIVE_SUM = "livesum"  # per-process amounts (in flight, queued)
LATEST = "mostrecent"  # values every process sets alike (info, thresholds, budgets)
WINDOW = "livemostrecent"  # window scores: the last one a live worker computed


@dataclass(frozen=True)
class Spec:
    name: str  # counters without `_total` (prometheus_client adds it)
    kind: str  # counter | gauge | histogram
    doc: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] | None = None
    mode: str = LATEST


SPECS: tuple[Spec, ...] = (
    # infrastructure
    Spec("ml_inference_requests", "counter", "Inference requests finished, by status.",
         (*MV, "status")),
    Spec("ml_predictions", "counter", "Predictions returned.", MV),
    Spec("ml_inference_duration_seconds", "histogram", "End-to-end request latency.", MV,
         LATENCY_BUCKETS),
    Spec("ml_inference_in_progress_requests", "gauge", "Requests being processed.", MV,
         mode=LIVE_SUM),
    Spec("ml_inference_queued_requests", "gauge", "Requests waiting in the queue.", (MODEL,),
         mode=LIVE_SUM),
    Spec("ml_inference_queue_duration_seconds", "histogram", "Time a request waited in the "
         "queue.", (MODEL,), QUEUE_BUCKETS),
    Spec("ml_inference_max_concurrency", "gauge", "Configured worker concurrency.", (MODEL,),
         mode=LIVE_SUM),
    # quality on delayed ground truth
    Spec("ml_model_quality_ratio", "gauge", "Online quality over the labelled window.",
         (*MV, "metric"), mode=WINDOW),
    Spec("ml_model_baseline_quality_ratio", "gauge", "Quality on the validation split.",
         (*MV, "metric")),
    Spec("ml_model_quality_window_samples", "gauge", "Labelled predictions in the window.", MV,
         mode=WINDOW),
    Spec("ml_labeled_predictions", "counter", "Predictions whose ground truth arrived, by "
         "correctness.", (*MV, "correct")),
    Spec("ml_classification_outcomes", "counter", "One-vs-rest confusion counts per class.",
         (*MV, "class", "outcome")),
    Spec("ml_ground_truth_received", "counter", "Ground-truth labels joined to a prediction.",
         MV),
    Spec("ml_ground_truth_delay_seconds", "histogram", "Delay between prediction and ground "
         "truth.", (MODEL,), DELAY_BUCKETS),
    # data drift
    Spec("ml_feature_drift_score", "gauge", "Feature drift vs the reference.",
         (MODEL, FEATURE, "method"), mode=WINDOW),
    Spec("ml_feature_drift_threshold", "gauge", "Drift threshold per feature and method.",
         (MODEL, FEATURE, "method")),
    Spec("ml_feature_drift_pvalue", "gauge", "KS test p-value.", (MODEL, FEATURE), mode=WINDOW),
    Spec("ml_feature_drift_detected", "gauge", "1 when score >= threshold.",
         (MODEL, FEATURE, "method"), mode=WINDOW),
    Spec("ml_drifted_features", "gauge", "Features drifted under psi.", (MODEL,), mode=WINDOW),
    Spec("ml_drifted_features_ratio", "gauge", "Share of features drifted under psi.",
         (MODEL,), mode=WINDOW),
    Spec("ml_dataset_drift_detected", "gauge", "1 when any feature drifted under psi.",
         (MODEL,), mode=WINDOW),
    Spec("ml_drift_window_samples", "gauge", "Requests in the drift window.", (MODEL,),
         mode=WINDOW),
    Spec("ml_drift_last_run_timestamp_seconds", "gauge", "Last drift computation.", (MODEL,),
         mode=WINDOW),
    # concept drift
    Spec("ml_concept_drift_score", "gauge", "Window error rate above the baseline error rate, "
         "in standard errors.", MV, mode=WINDOW),
    Spec("ml_concept_drift_detected", "gauge", "1 when the concept-drift score is at or above "
         "its threshold.", MV, mode=WINDOW),
    Spec("ml_target_drift_score", "gauge", "Ground-truth class drift vs training labels.",
         (MODEL, "method"), mode=WINDOW),
    # prediction distribution
    Spec("ml_prediction_score", "histogram", "Probability of the predicted class.", MV,
         SCORE_BUCKETS),
    Spec("ml_predicted_class", "counter", "Predictions per predicted class.", (*MV, "class")),
    Spec("ml_prediction_drift_score", "gauge", "Output drift vs the validation outputs.",
         (*MV, "method"), mode=WINDOW),
    # errors and anomalies
    Spec("ml_prediction_errors", "counter", "Failed requests by cause.", (*MV, "error_type")),
    Spec("ml_input_validation_failures", "counter", "Input values rejected by validation.",
         (MODEL, FEATURE, "reason")),
    Spec("ml_outliers", "counter", "Requests flagged as outliers.", (MODEL, "detector")),
    Spec("ml_outlier_score", "histogram", "Outlier score (squared Mahalanobis distance).",
         (MODEL, "detector"), OUTLIER_BUCKETS),
    Spec("ml_monitoring_errors", "counter", "Internal errors of the monitoring library "
         "(never raised into the request path).", (MODEL, "operation")),
    # cost
    Spec("ml_cost_budget_usd_per_hour", "gauge", "Hourly cost budget of the model.", (MODEL,)),
    # versions
    Spec("ml_model_info", "gauge", "Loaded model versions (value 1).",
         (*MV, "stage", "approved", "framework", "algorithm", "namespace", "pod")),
    Spec("ml_model_deployed_timestamp_seconds", "gauge", "When the version was deployed.", MV),
    Spec("ml_model_traffic_share_ratio", "gauge", "Configured traffic share.", MV),
    # fairness
    Spec("ml_group_predictions", "counter", "Predictions per fairness group and outcome.",
         (*MV, ATTRIBUTE, GROUP, "outcome")),
    Spec("ml_group_favorable_outcome_ratio", "gauge", "Favourable rate of the group.",
         (*MV, ATTRIBUTE, GROUP), mode=WINDOW),
    Spec("ml_fairness_parity_difference", "gauge", "Favourable rate of the group minus that of "
         "the other groups.", (*MV, ATTRIBUTE, GROUP), mode=WINDOW),
    Spec("ml_fairness_disparate_impact_ratio", "gauge", "Favourable rate of the group over that "
         "of the other groups.", (*MV, ATTRIBUTE, GROUP), mode=WINDOW),
    Spec("ml_predictions_logged", "counter", "Predictions written to the audit log.", MV),
    # feedback
    Spec("ml_feedback", "counter", "User feedback on predictions.", (*MV, "feedback")),
    Spec("ml_prediction_overrides", "counter", "Predictions a human reviewer overrode.", MV),
)

# Batch evaluation job (pushed to the Pushgateway): all gauges.
EVALUATION_SPECS: tuple[Spec, ...] = (
    Spec("ml_evaluation_quality_ratio", "gauge", "Scores of the last successful evaluation run.",
         (*MV, "metric")),
    Spec("ml_evaluation_samples", "gauge", "Labelled predictions the last run evaluated.", MV),
    Spec("ml_evaluation_duration_seconds", "gauge", "Runtime of the last successful run.",
         (MODEL,)),
    Spec("ml_evaluation_last_success_timestamp_seconds", "gauge", "When the last evaluation run "
         "succeeded.", (MODEL,)),
    Spec("ml_evaluation_last_failure_timestamp_seconds", "gauge", "When the last evaluation run "
         "failed (0 = never).", (MODEL,)),
    Spec("ml_evaluation_window_end_timestamp_seconds", "gauge", "End of the data window the last "
         "successful run evaluated.", (MODEL,)),
    Spec("ml_evaluation_schedule_interval_seconds", "gauge", "How often the evaluation job is "
         "scheduled (wall-clock seconds).", (MODEL,)),
)


def resolve(labels: tuple[str, ...], names: LabelNames) -> tuple[str, ...]:
    roles = {MODEL: names.model, VERSION: names.version, FEATURE: names.feature,
             ATTRIBUTE: names.attribute, GROUP: names.group}
    return tuple(roles.get(label, label) for label in labels)


def exposed_name(spec: Spec) -> str:
    return spec.name + "_total" if spec.kind == "counter" else spec.name


def multiprocess_dir() -> str | None:
    """The prometheus_client multiprocess directory when multiprocess mode is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get(
        "prometheus_multiproc_dir") or None


class MetricSet:
    """Every family of `specs` created on one registry (attribute access by metric name)."""

    def __init__(self, registry: CollectorRegistry | None, specs=SPECS,
                 names: LabelNames | None = None) -> None:
        self.registry = registry
        self.names = names or label_names()
        self.families: dict[str, object] = {}
        for spec in specs:
            labels = resolve(spec.labels, self.names)
            kwargs = {"registry": registry}
            if spec.kind == "counter":
                metric = Counter(spec.name, spec.doc, labels, **kwargs)
            elif spec.kind == "histogram":
                metric = Histogram(spec.name, spec.doc, labels, buckets=spec.buckets, **kwargs)
            else:
                metric = Gauge(spec.name, spec.doc, labels, multiprocess_mode=spec.mode, **kwargs)
            self.families[spec.name] = metric

    def __getitem__(self, name: str):
        return self.families[name]

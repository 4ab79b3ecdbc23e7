"""Errors and anomalies: what is failing, and what looks unlike anything seen in training?"""

from _config import CONFIG as C
from _lib import signals as s
from _lib.dashboard import label_variable, ml_dashboards
from _lib.layout import section
from _lib.panels import OK_BAD, higher_is_bad, q, state_timeline, timeseries
from _lib.promql import (
    FEATURE_POINTS,
    MODEL,
    MV,
    TOP_N,
    F,
    M,
    V,
    by,
    eq,
    legend,
    match,
    per_model,
    pod_sum,
    quantile,
    ratio,
    sel,
    sum_rate,
    worst,
)

folder = C.folder

ERRORS = higher_is_bad(C.error_ratio_warn, C.error_ratio_crit)
CONTAINER = sel(source="container", model=False)

dashboards = ml_dashboards(
    uid="ml-errors",
    title="ML monitoring: errors and anomalies",
    area="errors",
    description="Failed requests by cause, input validation failures by feature, outliers, "
    "unexpected prediction distributions, restarts and OOM kills, GPU hardware errors.",
    extra_variables=[
        label_variable("feature", F, "ml_input_validation_failures_total", "Feature",
                       "Input features with rejected values (the per-feature panel shows the "
                       "worst; select features to see them)."),
    ],
    sections=[
        section(
            "Failed requests",
            timeseries("Error ratio", "Share of failed inference requests per model and "
                       "version at the dashboard's resolution, where a point rests on at least "
                       f"{C.error_ratio_point_min_requests:g} requests; a version with less traffic (a "
                       "canary) shows its 5-minute ratio instead, as a few errors among a few "
                       "dozen requests cross the red line by chance. Bad: above "
                       f"{C.error_ratio_warn:.0%} (orange) or {C.error_ratio_crit:.0%} (red).",
                       [q(s.error_ratio_live((M, V)), MV)], unit="percentunit", steps=ERRORS,
                       min=0, w=12),
            timeseries("Error ratio by cause", "Share of requests failing per cause "
                       "(timeout, invalid_input, model_exception, dependency_unavailable), "
                       "stacked. Bad: any cause growing; the cause says who to call.",
                       [q(ratio(
                           sum_rate("ml_prediction_errors_total", sel(version=True),
                                    (M, "error_type")),
                           s.request_rate_live((M,)),
                           on=(M,),
                       ), MODEL + " {{error_type}}")],
                       unit="percentunit", steps=ERRORS, stack=True, fill=40, min=0, w=12),
            timeseries("Errors per second by cause", "Failed requests per second per cause. "
                       "Bad: a burst of one cause (e.g. dependency_unavailable = feature store "
                       "down).",
                       [q(sum_rate("ml_prediction_errors_total", sel(version=True),
                                   (M, V, "error_type")), MV + " {{error_type}}")],
                       unit="reqps", bars=True, stack=True, min=0, w=24, h=7),
        ),
        section(
            "Bad inputs and outliers",
            timeseries("Input validation failures by feature", "Rejected input values per "
                       "request, by feature and reason (missing, out_of_range). Bad: a feature "
                       "suddenly missing or out of range (an upstream pipeline broke). "
                       f"Shows the {TOP_N} worst at each moment; select features in the "
                       "Feature variable to see others.",
                       [q(worst(s.validation_failure_ratio(sel(match(F, "$feature")))),
                          legend(M, F, "reason"))],
                       unit="percentunit", steps=higher_is_bad(0.01, 0.05), min=0,
                       points=FEATURE_POINTS, w=12),
            timeseries("Outlier rate", "Share of requests the outlier detector flags "
                       "(squared Mahalanobis distance above its 99.9 % quantile on the "
                       "reference data: about 0.1 % expected). Bad: well above 1 %.",
                       [q(ratio(
                           sum_rate("ml_outliers_total", sel(), (M, "detector")),
                           sum_rate("ml_predictions_total", sel(), (M,)),
                           on=(M,),
                       ), MODEL + " {{detector}}")],
                       unit="percentunit", steps=higher_is_bad(0.01, 0.05), min=0, w=6),
            timeseries("Outlier score p99", "99th percentile of the outlier score. Bad: a "
                       "rise (inputs move away from the training data).",
                       [q(quantile(0.99, "ml_outlier_score", sel(), (M, "detector")),
                          MODEL + " {{detector}}")],
                       unit="none", min=0, w=6),
        ),
        section(
            "Unexpected outputs",
            timeseries("Prediction drift", "Drift of the model's output distribution from "
                       f"its validation outputs (psi). Bad: above {C.prediction_drift_crit:g}: "
                       "the model answers differently than it did at training, even if nothing errors.",
                       [q(f"max by ({by(M, V)}) (ml_prediction_drift_score"
                          f"{sel(eq('method', 'psi'), version=True)})", MV)],
                       unit="none", steps=higher_is_bad(C.prediction_drift_warn, C.prediction_drift_crit),
                       min=0, w=12),
            timeseries("Low-confidence share", "Share of predictions whose confidence is "
                       "below 0.6. Bad: a rise (inputs the model does not recognise).",
                       [q(ratio(
                           sum_rate("ml_prediction_score_bucket",
                                    sel(eq("le", "0.6"), version=True), (M, V)),
                           sum_rate("ml_prediction_score_count", sel(version=True), (M, V)),
                       ), MV)],
                       unit="percentunit", steps=higher_is_bad(0.2, 0.4), min=0, max=1, w=12),
        ),
        section(
            "Platform",
            timeseries("Container restarts", "Restarts of the model's containers per "
                       "interval (kube-state-metrics). Bad: any (crash loops, OOM kills).",
                       [q(per_model(pod_sum(
                           f"increase(kube_pod_container_status_restarts_total{CONTAINER}"
                           "[$__rate_interval])"), (M, V)), MV)],
                       unit="short", bars=True, steps=higher_is_bad(None, 1), min=0, w=8),
            state_timeline("Last termination OOMKilled", "ALERT for a pod whose last "
                           "container termination was an OOM kill.",
                           [q(per_model(pod_sum(
                               "kube_pod_container_status_last_terminated_reason"
                               + sel(eq("reason", "OOMKilled"), source="container", model=False)
                           ), (M, V), agg="max"), MV)],
                           mappings=OK_BAD, steps=higher_is_bad(None, 1), w=8),
            timeseries("GPU XID errors", "Last XID error code per GPU of the model's pods "
                       "(0 = none). Bad: any non-zero code (hardware or driver fault).",
                       [q(per_model(pod_sum(
                           f"DCGM_FI_DEV_XID_ERRORS{sel(source='gpu', model=False)}"),
                           (M, V), agg="max"), MV)],
                       unit="none", steps=higher_is_bad(None, 1), min=0, w=8),
        ),
    ],
)


"""Data and concept drift: has the world the model sees moved away from its training data?"""

from _config import CONFIG as C
from _lib import signals as s
from _lib.dashboard import label_variable, ml_dashboards
from _lib.layout import section
from _lib.panels import (
    OK_BAD,
    bargauge,
    heatmap,
    higher_is_bad,
    lower_is_bad,
    q,
    stat,
    state_timeline,
    table,
    table_q,
    timeseries,
)
from _lib.promql import (
    FEATURE_POINTS,
    MODEL,
    MV,
    TOP_N,
    F,
    M,
    V,
    age,
    by,
    eq,
    match,
    ratio,
    sel,
    sum_increase,
    sum_rate,
    worst,
)

folder = C.folder

FEATURE = sel(match(F, "$feature"), match("method", "$method"))
SHARE = higher_is_bad(C.drifted_share_warn, C.drifted_share_crit)
RELATIVE = higher_is_bad(0.8, 1.0)  # score / threshold: 1 = at the threshold

# Score / threshold (recording rule, the series MLFeatureDrift alerts on); per-feature panels show
# the TOP_N worst, the Feature variable narrows them (docs/dashboards.md).
relative_score = s.drift_relative(FEATURE)


def shows(which: str) -> str:
    return f" Shows the {TOP_N} {which}; select features in the Feature variable to see others."


WORST = shows("worst at each moment")

dashboards = ml_dashboards(
    uid="ml-drift",
    title="ML monitoring: data and concept drift",
    area="drift",
    description="Per-feature drift scores against their thresholds, the share of drifted "
    "features, the prediction distribution and class mix over time, and concept-drift signals "
    "from the labelled stream.",
    extra_variables=[
        label_variable("feature", F, "ml_feature_drift_score", "Feature",
                       "Monitored input features."),
        label_variable("method", "method", "ml_feature_drift_score", "Method",
                       "Drift method: psi, ks (Kolmogorov-Smirnov D), jensenshannon."),
    ],
    sections=[
        section(
            "Data drift status",
            state_timeline("Dataset drift", "Per model: ALERT while at least one monitored "
                           "feature is drifted under the primary method (psi).",
                           [q(f"max by ({by(M)}) (ml_dataset_drift_detected{sel()})", MODEL)],
                           mappings=OK_BAD, steps=higher_is_bad(None, 1), w=12, h=6),
            timeseries("Share of drifted features", "Share of monitored features whose psi "
                       "score is at or above its threshold. Bad: at or above "
                       f"{C.drifted_share_crit:.0%} (retraining rule, see docs/dashboards.md).",
                       [q(s.drifted_share(), MODEL)], unit="percentunit", steps=SHARE,
                       min=0, max=1, w=8, h=6),
            stat("Drifted features", "Number of features drifted under psi right now. Bad: "
                 "above 0.", [q(f"max by ({by(M)}) (ml_drifted_features{sel()})", MODEL)],
                 unit="short", steps=higher_is_bad(1, 2), w=4, h=6),
        ),
        section(
            "Per feature",
            bargauge("Drift score / threshold now", "Each feature's drift score divided by "
                     "its threshold (exported by the service), per method. Bad: at or above 1 "
                     "(drifted), orange from 0.8." + WORST,
                     [q(worst(relative_score), MODEL + " {{" + F + "}} {{method}}",
                        instant=True)],
                     unit="none", steps=RELATIVE, min=0, max=2, w=12, h=12),
            table("Drift scores", "Raw drift score per model, feature and method "
                  "(psi: population stability index; ks: Kolmogorov-Smirnov D; jensenshannon: "
                  "JS distance). Bad: at or above the threshold (psi 0.2, ks 0.2, "
                  "js 0.15 by default)." + shows("worst by score / threshold"),
                  [table_q(f"max by ({by(M, F, 'method')}) (ml_feature_drift_score{FEATURE})\n"
                           f"and on ({by(M, F, 'method')})\n{worst(relative_score)}")],
                  unit="none", hide=("Time",), sort_by="Value", w=12, h=12),
            timeseries("Drift score / threshold over time", "When each feature crossed its "
                       "threshold (1 = at the threshold). Bad: lines above 1." + WORST,
                       [q(worst(relative_score), MODEL + " {{" + F + "}} {{method}}")],
                       unit="none", steps=RELATIVE, min=0, points=FEATURE_POINTS, w=12),
            timeseries("KS test p-value", "p-value of the two-sample Kolmogorov-Smirnov test "
                       "per feature (log scale). Bad: below "
                       f"{C.drift_pvalue_crit:g} (chance under 0.01 a day over every feature's tests, "
                       f"Bonferroni), watch below {C.drift_pvalue_warn:g}; healthy traffic dips "
                       "below 0.05 about one sample in twenty." + shows("lowest at each moment"),
                       [q(worst(f"min by ({by(M, F)}) (ml_feature_drift_pvalue"
                                f"{sel(match(F, '$feature'))})", lowest=True),
                          MODEL + " {{" + F + "}}")],
                       unit="none", steps=lower_is_bad(C.drift_pvalue_crit, C.drift_pvalue_warn),
                       log=True, points=FEATURE_POINTS, w=12),
        ),
        section(
            "Predictions",
            heatmap("Prediction confidence distribution", "Predictions per confidence "
                    "bucket over time (probability of the predicted class). Bad: mass moving "
                    "towards low confidence (inputs unlike the training data).",
                    q(sum_increase("ml_prediction_score_bucket", sel(version=True), ("le",))),
                    unit="percentunit", w=12),
            timeseries("Prediction drift", "Drift of the model's output distribution vs its "
                       "outputs on the validation split (psi / jensenshannon). Bad: psi above "
                       f"{C.prediction_drift_crit:g}.",
                       [q(f"max by ({by(M, V, 'method')}) (ml_prediction_drift_score"
                          f"{sel(version=True)})", MV + " {{method}}")],
                       unit="none", steps=higher_is_bad(C.prediction_drift_warn, C.prediction_drift_crit),
                       min=0, w=12),
            timeseries("Predicted class mix", "Share of predictions per predicted class. "
                       "Bad: a class share moving far from its training prior.",
                       [q(ratio(
                           sum_rate("ml_predicted_class_total", sel(version=True), (M, "class")),
                           sum_rate("ml_predicted_class_total", sel(version=True), (M,)),
                           on=(M,),
                       ), MODEL + " {{class}}")],
                       unit="percentunit", stack=True, fill=60, min=0, max=1, w=12),
            timeseries("Mean confidence", "Average probability the model gave its predicted "
                       "class. Bad: a sustained drop.",
                       [q(ratio(sum_rate("ml_prediction_score_sum", sel(version=True), (M, V)),
                                sum_rate("ml_prediction_score_count", sel(version=True), (M, V))),
                          MV)],
                       unit="percentunit", w=12),
        ),
        section(
            "Concept drift",
            timeseries("Concept drift score", "Error rate in the labelled window above the "
                       "validation error rate, in binomial standard errors (z). Bad: at or "
                       f"above {C.concept_drift_z:g} (the relation inputs -> label changed).",
                       [q(f"max by ({by(M, V)}) (ml_concept_drift_score{sel(version=True)})", MV)],
                       unit="none", steps=higher_is_bad(C.concept_drift_z - 1, C.concept_drift_z),
                       w=8),
            timeseries("Target drift", "Drift of the ground-truth class distribution vs the "
                       "training labels. Bad: psi above 0.2 (prior shift).",
                       [q(f"max by ({by(M, 'method')}) (ml_target_drift_score{sel()})",
                          MODEL + " {{method}}")],
                       unit="none", steps=higher_is_bad(0.1, 0.2), min=0, w=8),
            timeseries(f"{C.quality_metric} minus baseline", "Live score minus training "
                       "baseline (recording rule). Drift that hurts shows here. Bad: below "
                       f"-{C.quality_drop_crit}.",
                       [q(f"model_version:ml_model_quality_ratio:baseline_delta"
                          f"{sel(eq('metric', C.quality_metric), version=True)}",
                          MV)],
                       unit="percentunit",
                       steps=lower_is_bad(-C.quality_drop_crit, -C.quality_drop_warn), w=8),
        ),
        section(
            "Drift computation",
            timeseries("Drift computation lag", "Time since the drift scores were last "
                       "computed. Bad: growing (the scores above are stale).",
                       [q(age("ml_drift_last_run_timestamp_seconds", sel()), MODEL)],
                       unit="s", steps=higher_is_bad(600, 3600), min=0, w=12, h=6),
            timeseries("Requests in the drift window", "Requests behind the current drift "
                       "scores. Bad: very few (scores are noisy).",
                       [q(f"max by ({by(M)}) (ml_drift_window_samples{sel()})", MODEL)],
                       unit="short", steps=lower_is_bad(50), min=0, w=12, h=6),
        ),
    ],
)

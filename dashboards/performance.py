"""Model performance: is the model still as good as when it was trained?"""

from _config import CONFIG as C
from _lib import signals as s
from _lib.dashboard import ml_dashboards
from _lib.layout import section
from _lib.panels import (
    OK_BAD,
    bargauge,
    higher_is_bad,
    lower_is_bad,
    neutral,
    q,
    stat,
    table,
    table_q,
    timeseries,
)
from _lib.promql import MODEL, MV, M, V, age, by, quantile, ratio, sel, sum_rate

folder = C.folder

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
DELTA = lower_is_bad(-C.quality_drop_crit, -C.quality_drop_warn)
EVAL = sel(source="evaluation")
NOT_PRODUCTION = sel('stage!="production"')
QUALITY_METRIC = f'metric="{C.quality_metric}"'


def per_class_share(title: str, description: str, denominator_outcomes: str):
    """TP over the given outcomes, per model and class, from the one-vs-rest outcome counters."""
    def outcomes(matcher: str) -> str:
        return sum_rate("ml_classification_outcomes_total", sel(matcher, version=True), (M, "class"))

    expr = ratio(outcomes('outcome="tp"'), outcomes(f'outcome=~"{denominator_outcomes}"'))
    return timeseries(title, description, [q(expr, MODEL + " {{class}}")], unit="percentunit", w=8)


def score_over_time(metric: str):
    """Live score vs the training baseline, the other live versions and last week."""
    match = f'metric="{metric}"'
    live = f"max by ({by(M, V)}) ({s.QUALITY}{sel(match, version=True)}"
    return timeseries(
        f"{metric} vs baseline, other versions, last week",
        f"Live {metric} on labelled traffic (sliding window) per model version, against the "
        "same score on the validation split at training time (dashed baseline), the other "
        "live versions (canary / previous: legend shows the stage) and the same series one "
        f"week earlier (offset 7d; empty until the service has a week of history). Bad: live "
        f"more than {C.quality_drop_crit} below its baseline, or below last week.",
        [
            q(live + ")", MV + " live"),
            q(f"max by ({by(M, V)}) ({s.BASELINE}{sel(match, version=True)})", MV + " baseline"),
            q(f"max by ({by(M, V, 'stage')}) (\n  {s.QUALITY}{sel(match)}\n"
              f"  * on ({by(M, V)}) group_left (stage) max by ({by(M, V, 'stage')}) "
              f"({s.INFO}{NOT_PRODUCTION})\n)", MV + " ({{stage}})"),
            q(live + " offset 7d)", MV + " last week"),
        ],
        unit="percentunit", w=12, h=8,
    )


dashboards = ml_dashboards(
    uid="ml-performance",
    title="ML monitoring: model performance",
    area="performance",
    description="Accuracy, precision, recall, F1 and AUC on delayed ground truth against the "
    "training baseline, the other versions and last week; label coverage and delay; "
    "evaluation-job freshness.",
    sections=[
        section(
            "Now",
            bargauge("Score minus training baseline", "Live score minus the validation score "
                     "at training time, per model, version and metric (recording rule). Bad: "
                     f"below -{C.quality_drop_crit} (red) or -{C.quality_drop_warn} (orange).",
                     [q(f"model_version:ml_model_quality_ratio:baseline_delta"
                        f"{sel(version=True)}", MV + " {{metric}}", instant=True)],
                     unit="percentunit", steps=DELTA, min=-0.3, max=0.1, w=12, h=10),
            table("Live scores", "Current live scores per model, version and metric (one row "
                  "each). Compare with the baseline bars on the left. Bad: a score far "
                  "below the others of its model.",
                  [table_q(f"max by ({by(M, V, 'metric')}) ({s.QUALITY}{sel(version=True)})")],
                  unit="percentunit", hide=("Time",), w=12, h=10),
        ),
        section("Scores over time", *(score_over_time(m) for m in METRICS)),
        section(
            "Streaming quality from counters",
            timeseries("Streaming accuracy", "Correct / labelled predictions from counters at "
                       "the dashboard's resolution (no window). Bad: a downward step.",
                       [q(ratio(
                           sum_rate("ml_labeled_predictions_total",
                                    sel('correct="true"', version=True), (M, V)),
                           sum_rate("ml_labeled_predictions_total", sel(version=True), (M, V)),
                       ), MV)], unit="percentunit", w=8),
            per_class_share("Precision per class", "TP / (TP + FP) per class (one-vs-rest "
                            "counts). Bad: one class falling while others hold (class-specific "
                            "decay).", "tp|fp"),
            per_class_share("Recall per class", "TP / (TP + FN) per class. Bad: a class the "
                            "model stops finding (e.g. missed positives).", "tp|fn"),
        ),
        section(
            "Ground truth",
            timeseries("Label coverage", "Ground-truth labels received per prediction served. "
                       f"Bad: below {C.label_coverage_crit:.0%} (quality scores rest on few "
                       "labels).",
                       [q(ratio(sum_rate("ml_ground_truth_received_total", sel(version=True)),
                                sum_rate("ml_predictions_total", sel(version=True))), MODEL)],
                       unit="percentunit",
                       steps=lower_is_bad(C.label_coverage_crit, C.label_coverage_warn),
                       min=0, w=8),
            timeseries("Ground-truth delay p50 / p90", "Time from a prediction to the "
                       "arrival of its label. Bad: growing (quality panels lag reality by this "
                       "much).",
                       [q(quantile(0.5, "ml_ground_truth_delay_seconds", sel()), "p50 " + MODEL),
                        q(quantile(0.9, "ml_ground_truth_delay_seconds", sel()), "p90 " + MODEL)],
                       unit="s", min=0, w=8),
            timeseries("Labelled predictions in the window", "Labelled predictions behind the "
                       f"live scores. Bad: below {C.quality_window_min_samples:.0f} (the scores "
                       "are noise).",
                       [q(f"max by ({by(M, V)}) (ml_model_quality_window_samples"
                          f"{sel(version=True)})", MV)],
                       unit="short", steps=lower_is_bad(C.quality_window_min_samples), min=0,
                       w=8),
        ),
        section(
            "Batch evaluation job",
            stat("Evaluation age", "Time since the evaluation job last succeeded. Bad: "
                 "more than two schedule intervals (see the next panel).",
                 [q(age("ml_evaluation_last_success_timestamp_seconds", EVAL), MODEL)],
                 unit="s", graph=False, w=6),
            timeseries("Evaluation age in schedule intervals", "Time since the last success "
                       "divided by the job's schedule interval. Bad: at or above "
                       f"{C.evaluation_missed_runs_crit:g} (runs are being missed).",
                       [q(ratio(age("ml_evaluation_last_success_timestamp_seconds", EVAL),
                                f"max by ({by(M)}) (ml_evaluation_schedule_interval_seconds{EVAL})"),
                          MODEL)],
                       unit="short",
                       steps=higher_is_bad(C.evaluation_missed_runs_warn,
                                           C.evaluation_missed_runs_crit), min=0, w=6),
            stat("Last run failed", "ALERT when the job's last failure is newer than its last "
                 "success (the scores shown are from an older run).",
                 [q(f"max by ({by(M)}) (ml_evaluation_last_failure_timestamp_seconds{EVAL})\n"
                    f"> bool max by ({by(M)}) (ml_evaluation_last_success_timestamp_seconds{EVAL})",
                    MODEL)],
                 unit="none", steps=higher_is_bad(None, 1), mappings=OK_BAD, graph=False, w=6),
            timeseries(f"Evaluated {C.quality_metric}", f"{C.quality_metric} from the last "
                       "successful batch evaluation run per version. Bad: disagreeing with the "
                       "live score for long (one of the two pipelines is wrong).",
                       [q(f"max by ({by(M, V)}) (ml_evaluation_quality_ratio"
                          f"{sel(QUALITY_METRIC, source='evaluation', version=True)})",
                          MV)],
                       unit="percentunit", steps=neutral(), w=6),
        ),
    ],
)

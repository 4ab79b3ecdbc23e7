"""User feedback: what do the people using the predictions say about them?"""

from _config import CONFIG as C
from _lib.dashboard import ml_dashboards
from _lib.layout import section
from _lib.panels import higher_is_bad, lower_is_bad, q, stat, table, table_q, timeseries
from _lib.promql import MV, M, V, ratio, sel, sum_increase, sum_rate
from _lib.signals import override_ratio, positive_feedback_share

folder = C.folder

POSITIVE = lower_is_bad(C.feedback_positive_crit, C.feedback_positive_warn)
OVERRIDES = higher_is_bad(C.override_ratio_warn, C.override_ratio_crit)
ALL = sel(version=True)


def per_prediction(counter: str, *matchers: str, labels: tuple[str, ...] = (M, V)) -> str:
    """Events of `counter` per prediction served (aggregated separately, then divided)."""
    return ratio(sum_rate(counter, sel(*matchers, version=True), labels),
                 sum_rate("ml_predictions_total", ALL, labels))


positive_share = positive_feedback_share()

dashboards = ml_dashboards(
    uid="ml-feedback",
    title="ML monitoring: user feedback",
    area="feedback",
    description="Feedback rate and coverage, share of positive feedback and human overrides, "
    "per model and version: the users' view of quality, available before ground truth is.",
    sections=[
        section(
            "Now",
            stat("Positive feedback share now", "Positive / all feedback per model and version "
                 f"over {C.feedback_window} (at least "
                 f"{C.feedback_min_events:g} events, else empty). "
                 f"Bad: below {C.feedback_positive_warn:.0%} (orange) or "
                 f"{C.feedback_positive_crit:.0%} (red).",
                 [q(positive_share, MV)], unit="percentunit", steps=POSITIVE, w=8),
            stat("Override rate now", "Share of predictions a human reviewer overrode over "
                 f"the last {C.feedback_window}. Bad: above {C.override_ratio_warn:.0%} (orange) or "
                 f"{C.override_ratio_crit:.0%} (red): people stopped trusting the model.",
                 [q(override_ratio(), MV)], unit="percentunit",
                 steps=OVERRIDES, w=8),
            table("Feedback over the range", "Feedback events per model, version and kind over "
                  "the selected time range. Bad: few events (shares are noisy) or mostly "
                  "negative.",
                  [table_q(sum_increase("ml_feedback_total", ALL, (M, V, "feedback"),
                                        window="$__range"))],
                  unit="short", hide=("Time",), w=8),
        ),
        section(
            "Over time",
            timeseries("Feedback rate", "Feedback events per second by kind. Bad: a drop to 0 "
                       "(the feedback widget or pipeline broke) or a burst of negative.",
                       [q(sum_rate("ml_feedback_total", ALL, (M, V, "feedback")),
                          MV + " {{feedback}}")],
                       unit="ops", stack=True, fill=40, min=0, w=12),
            timeseries("Feedback coverage", "Feedback events per prediction served. Bad: "
                       "falling (fewer users answer; the share panels get noisy).",
                       [q(per_prediction("ml_feedback_total"), MV)], unit="percentunit",
                       min=0, w=12),
            timeseries("Positive feedback share over time", "Positive / all feedback per version "
                       f"over {C.feedback_window} (gaps: fewer than {C.feedback_min_events:g} events). Bad: "
                       "a new version below the old one, or a sustained fall.",
                       [q(positive_share, MV)], unit="percentunit", steps=POSITIVE, min=0,
                       max=1, w=12),
            timeseries("Override rate over time", "Predictions overridden by a human / predictions "
                       f"served, per version, over {C.feedback_window} (reviewers work at human "
                       "pace; at the dashboard's resolution a canary's few dozen predictions "
                       "make the share noise). Bad: above "
                       f"{C.override_ratio_crit:.0%}.",
                       [q(override_ratio(), MV)],
                       unit="percentunit", steps=OVERRIDES, min=0, w=12),
        ),
    ],
)

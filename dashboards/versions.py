"""Model versions: which versions are live, since when, with how much traffic, and how they compare."""

from _config import CONFIG as C
from _lib import signals as s
from _lib.dashboard import DEPLOYED_METRIC, ml_dashboards
from _lib.layout import section
from _lib.panels import (
    higher_is_bad,
    lower_is_bad,
    q,
    state_mapping,
    state_timeline,
    table,
    table_q,
    timeseries,
)
from _lib.promql import INFO, MV, M, V, by, eq, sel

folder = C.folder

LATENCY = higher_is_bad(C.latency_p95_warn_seconds, C.latency_p95_crit_seconds)
ERRORS = higher_is_bad(C.error_ratio_warn, C.error_ratio_crit)
LOADED = state_mapping({1: ("loaded", "blue")})

dashboards = ml_dashboards(
    uid="ml-versions",
    title="ML monitoring: model versions",
    area="versions",
    description="Live versions with stage and approval, when each was deployed (also as "
    "annotations on every dashboard), traffic share, and latency, errors and quality per "
    "version to judge a canary or a rollout.",
    sections=[
        section(
            "Live versions",
            table("Loaded versions", "Every loaded model version with its stage, approval, "
                  "framework and algorithm (from ml_model_info). Bad: a production version "
                  "that is not approved; more versions than expected.",
                  [table_q(f"max by ({by(M, V, 'stage', 'approved', 'framework', 'algorithm')}) "
                           f"({INFO}{sel(version=True)})")],
                  unit="none", hide=("Time", "Value"), w=14, h=7),
            table("Time since deployment", "How long each version has been taking traffic "
                  "(from ml_model_deployed_timestamp_seconds). Bad: a canary running "
                  "for days (a rollout that stalled).",
                  [table_q(f"time() - max by ({by(M, V)}) ({DEPLOYED_METRIC}{sel(version=True)})")],
                  unit="s", hide=("Time",), w=10, h=7),
            state_timeline("Versions loaded over time", "One lane per model version while it "
                           "is loaded: rollouts and rollbacks at a glance. Bad: lanes "
                           "flapping (repeated rollbacks).",
                           [q(f"max by ({by(M, V)}) ({INFO}{sel(version=True)})", MV)],
                           mappings=LOADED, steps=[{"color": "blue", "value": None}], w=24,
                           h=5),
        ),
        section(
            "Traffic",
            timeseries("Traffic share (measured)", "Share of each model's predictions served by "
                       "each version (recording rule). Bad: differing from the configured "
                       "weight on the right (router misconfigured).",
                       [q(f"max by ({by(M, V)}) (model_version:ml_predictions_share:ratio_rate5m"
                          f"{sel(version=True)})", MV)],
                       unit="percentunit", stack=True, fill=50, min=0, max=1, w=12),
            timeseries("Traffic share (configured)", "Weight the router is configured to send "
                       "to each version. Bad: a change nobody announced.",
                       [q(f"max by ({by(M, V)}) (ml_model_traffic_share_ratio{sel(version=True)})",
                          MV)],
                       unit="percentunit", min=0, max=1, w=12),
        ),
        section(
            "Per version",
            timeseries("p95 latency by version", "95th-percentile latency per version "
                       f"(recording rule). Bad: a new version slower than the old, or above "
                       f"{C.latency_p95_crit_seconds} s." + s.MEAN_NOTE,
                       [q(s.latency(95, (M, V), per_version=True), MV)], unit="s",
                       steps=LATENCY, min=0, w=8),
            timeseries("Error ratio by version", "Failed / all requests per version "
                       "(recording rule). Bad: a canary with more errors than production.",
                       [q(s.error_ratio((M, V), per_version=True), MV)], unit="percentunit",
                       steps=ERRORS, min=0, w=8),
            timeseries(f"{C.quality_metric} by version", f"Live {C.quality_metric} per "
                       "version on delayed ground truth. Bad: the new version below the old "
                       "one, or more than the tolerance below its training baseline.",
                       [q(s.quality(), MV)], unit="percentunit", w=8),
            timeseries("Labelled accuracy by version", "Correct / all labelled predictions per "
                       f"version over the last {C.labeled_window}: the same time window for "
                       "every version, unlike the score beside it (a fixed number of labels, "
                       "which a low-traffic canary takes longer to turn over); gaps: fewer than "
                       f"{C.quality_window_min_samples:g} labels. Bad: the canary below "
                       f"production by more than {C.quality_drop_warn:g} beyond its noise "
                       "(MLRolloutQualityRegression).",
                       [q(s.labeled_accuracy(), MV)], unit="percentunit", w=8),
            timeseries(f"{C.quality_metric} minus baseline by version", "Live score minus the "
                       "training baseline per version (recording rule). Bad: below "
                       f"-{C.quality_drop_crit}.",
                       [q("model_version:ml_model_quality_ratio:baseline_delta"
                          f"{sel(eq('metric', C.quality_metric), version=True)}", MV)],
                       unit="percentunit",
                       steps=lower_is_bad(-C.quality_drop_crit, -C.quality_drop_warn), w=12),
            timeseries("Cost per 1k predictions by version", "Serving cost per 1k predictions "
                       "per version (recording rule). Bad: the new version much more "
                       "expensive.",
                       [q(s.cost_per_1k_predictions((M, V), per_version=True), MV)],
                       unit="currencyUSD", min=0, w=12),
        ),
    ],
)

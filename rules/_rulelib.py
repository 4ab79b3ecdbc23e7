"""Building blocks of the rule modules: the config, label groupings, selectors, rules and alerts.

Every label name, threshold, `for` window and severity comes from the monitoring config
(`ml_monitoring.config`, monitoring.yaml): rule modules never write `by (model, version)` or a
literal threshold; they call `by(...)`, `on(...)`, `sel(...)` and `CONFIG.threshold(...)`.
"""

from __future__ import annotations

import re
from pathlib import Path

from grafana_sync.errors import ConfigError
from ml_monitoring.config import (  # noqa: F401 - human_duration: the rule modules' import
    LABELED_RECENT_WINDOW,
    LABELED_WINDOW,
    MonitoringConfig,
    MonitoringConfigError,
    human_duration,
    load_config,
)

ROOT = Path(__file__).resolve().parents[1]

try:
    CONFIG: MonitoringConfig = load_config(root=ROOT)
except MonitoringConfigError as exc:  # one line naming the file and key, reported once by build
    raise ConfigError(str(exc)) from None

# Each serving stack listed in `stacks:` is adapted by one module, rules/stack_<name>.py.
_missing = [s for s in CONFIG.stacks if not (Path(__file__).with_name(f"stack_{s}.py")).is_file()]
if _missing:
    raise ConfigError(f"{CONFIG.source}: stacks: no adapter module for {', '.join(_missing)} "
                      f"(expected rules/stack_{_missing[0]}.py)")

L = CONFIG.labels
M, V, F = L.model, L.version, L.feature
POD = L.pod
# Per-feature aggregates recorded in recording.py, read by MLFeatureDrift and the dashboards
# (names are an interface).
DRIFT_RELATIVE = "model_feature_method:ml_feature_drift_score_per_threshold:ratio"
VALIDATION_RATIO = ("model_feature_reason:ml_input_validation_failures_per_ml_inference_requests"
                    ":ratio_rate5m")
# Positive / all user feedback per version over FEEDBACK_WINDOW, where at least
# feedback_min_events arrived: MLFeedbackPositiveShareLow and the feedback share panels read it.
FEEDBACK_SHARE = "model_version:ml_feedback_positive_per_ml_feedback:ratio_rate15m"
# Predictions a human overrode per prediction served, per version over FEEDBACK_WINDOW (reviewers
# work at human pace; at a dashboard point a canary's few dozen predictions make it noise): the
# override panels read it.
OVERRIDE_RATIO = "model_version:ml_prediction_overrides_per_ml_predictions:ratio_rate15m"
# Labelled predictions per version over LABELED_WINDOW, and the share of them correct (labelled
# accuracy, absent below quality_window_min_samples): MLRolloutQualityRegression compares a canary
# with production on these, both over the same time span.
# The same over LABELED_RECENT_WINDOW: lets MLModelQualityBelowBaseline's accuracy resolve.


def labeled_count(window: str) -> str:
    return f"model_version:ml_labeled_predictions:increase{window}"


def labeled_accuracy(window: str) -> str:
    return f"model_version:ml_labeled_predictions_correct_per_ml_labeled_predictions:ratio_rate{window}"


LABELED_COUNT, LABELED_ACCURACY = labeled_count(LABELED_WINDOW), labeled_accuracy(LABELED_WINDOW)
RECENT_COUNT = labeled_count(LABELED_RECENT_WINDOW)
RECENT_ACCURACY = labeled_accuracy(LABELED_RECENT_WINDOW)
WINDOW = "5m"  # recording rule windows are part of their names (…:rate5m): fixed


def by(*extra: str, model: bool = True, version: bool = False) -> str:
    """`by (cluster, job, model, version)`: the cluster label, `extra`, the configured labels."""
    return f"by ({CONFIG.by(*extra, model=model, version=version)})"


def on(*extra: str, model: bool = True, version: bool = False) -> str:
    """`on (cluster, model, version)` for one-to-one matching on the configured labels."""
    return f"on ({CONFIG.by(*extra, model=model, version=version)})"


def labels(*extra: str, model: bool = True, version: bool = False) -> str:
    """The bare label list for `group_left (model, version)` or `ignoring (version)`: without the
    cluster label, which is always matched on (a label may not be both matched and copied)."""
    return CONFIG.by(*extra, model=model, version=version, cluster=False)


def pod_join() -> str:
    """The labels that locate a serving pod, cluster first (joins exporter series to
    ml_model_info; two clusters may have pods of the same name)."""
    return CONFIG.by(*POD, model=False)


def node_join() -> str:
    """The labels that locate a node (OpenCost's per-node prices), cluster first."""
    return CONFIG.by("node", model=False)


def sel(*matchers: str, source: str = "serving") -> str:
    """`{<source's configured matchers>, matchers...}` ("" when there are none)."""
    parts = [CONFIG.selectors.of(source), *matchers]
    body = ", ".join(p for p in parts if p)
    return "{" + body + "}" if body else ""


def t(name: str) -> float:
    """A threshold from the config, formatted by the caller (see `num`)."""
    return CONFIG.threshold(name)


def num(value: float) -> str:
    """A number as PromQL text: 0.05, 3, 0.25 (no trailing .0, no exponent for usual values)."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def record(name: str, expr: str) -> dict:
    return {"record": name, "expr": expr}


def runbook(alert_name: str) -> str:
    return f"{CONFIG.runbook_url}#{alert_name.lower()}"


def alert(name: str, expr: str, *, summary: str, description: str, severity: str | None = None,
          for_: str | None = None) -> list[dict]:
    """One alert rule with the config's `for`, severity and on/off (a list: [] when turned off).

    `severity` picks the level of a two-level alert (warning/critical: two rules, one per
    threshold); single-level alerts take theirs from the config. "{for}" in the description
    becomes the configured window in words ("15 minutes").
    """
    settings = CONFIG.alert(name)
    if not settings.enabled:
        return []
    window = for_ or settings.for_
    description = description.replace("{for}", human_duration(window))
    if severity is None:
        (severity,) = settings.severities
    elif severity not in settings.severities:
        return []
    return [{
        "alert": name,
        "expr": expr,
        "for": window,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description, "runbook_url": runbook(name)},
    }]


def lbl(role_label: str) -> str:
    """`{{ $labels.<label> }}` for annotations."""
    return "{{ $labels." + role_label + " }}"


MODEL = lbl(M)
VERSION = lbl(V)


def pct(ratio: float) -> str:
    """0.05 -> "5%", 0.005 -> "0.5%" (for alert descriptions)."""
    return f"{ratio * 100:g}%"


def seconds(value: float) -> str:
    """0.25 -> "250ms", 2 -> "2s" (for alert descriptions)."""
    return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"


# --- no NaN, no +Inf: every division and quantile is guarded (issue #12, item 16) -------------


def divide(numerator: str, denominator: str, matching: str = "") -> str:
    """`numerator / (denominator > 0)`: absent, never NaN or +Inf, where the denominator is 0.

    With no traffic a ratio is undefined; an absent series is what Prometheus' own mixins record
    then, so no alert compares against NaN and no panel plots +Inf. `matching` is the vector
    matching clause (`on (model)`, `ignoring (version) group_left()`: write the empty `()` after
    group_left, or PromQL reads the parenthesised denominator as its label list).
    """
    sep = f" {matching} " if matching else " "
    return f"{operand(numerator)}\n  /{sep}({operand(denominator)} > 0)\n"


_SET_OPERATOR = re.compile(r"\b(or|and|unless)\b")


def operand(expr: str) -> str:
    """`expr` in parentheses when it holds a set operator (`or`, `and`, `unless`), which binds
    looser than every arithmetic and comparison operator: `a or b > 0` is `a or (b > 0)`, so an
    unparenthesised `requests_a or requests_b` denominator would keep a 0 of `requests_a` and
    divide by it (0/0 = NaN, seen on the KServe, Seldon, BentoML and Ray Serve adapters)."""
    expr = expr.strip()
    return f"({expr})" if _SET_OPERATOR.search(expr) else expr


def quantile_with_traffic(q: str, buckets: str, *keep: str, version: bool = False) -> str:
    """`histogram_quantile` only where the histogram saw requests (all-zero buckets give NaN)."""
    return (f"histogram_quantile({q}, {buckets})\n"
            f"  and {on(*keep, version=version)} ({buckets}{{le=\"+Inf\"}} > 0)\n")

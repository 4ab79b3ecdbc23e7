"""The one monitoring config: label names, selectors, thresholds, alerts, stacks (DESIGN.md).

Defaults live here, in code. `monitoring.yaml` at the project root (or the file named by the
`MONITORING_CONFIG` environment variable) overrides them; it is validated against the JSON Schema
shipped beside this module (`monitoring.schema.json`, generated from these defaults by
`python -m ml_monitoring.config schema`), and a bad key or value is a one-line
`MonitoringConfigError` naming the file and the key. Dashboards (`dashboards/_config.py`), the
Prometheus rule modules (`rules/`), the demo and the instrumentation library all read
`load_config()`, so a team renames a label or moves a threshold in one place.

    from ml_monitoring.config import load_config
    cfg = load_config()
    cfg.labels.model            # "model", or the team's own label name
    cfg.threshold("error_ratio_warn")
    cfg.by("job", version=True) # "job, model, version": the one place grouping labels are chosen

docs/config.md explains every key.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

CONFIG_FILE = "monitoring.yaml"
ENV_VAR = "MONITORING_CONFIG"
SCHEMA_FILE = Path(__file__).with_name("monitoring.schema.json")

LABEL_RE = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
DURATION_RE = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
SLUG_RE = r"^[a-z0-9][a-z0-9-]*$"
SEVERITIES = ("critical", "warning", "info")


class MonitoringConfigError(ValueError):
    """A bad monitoring config: the message is one line naming the file and the key."""


# --- defaults ------------------------------------------------------------------------------------

# label role -> (default label name, what it is)
LABELS: dict[str, tuple[str, str]] = {
    "model": ("model", "the model's name on every ML series"),
    "version": ("version", "the model version"),
    "feature": ("feature", "the input feature of drift and validation series"),
    "cluster": ("cluster", "the cluster a series comes from (one Grafana over several clusters)"),
    "attribute": ("attribute", "the protected attribute of a fairness group (e.g. sex)"),
    "group": ("group", "the group within that attribute"),
}
# labels locating a serving pod; exporter series (cAdvisor, DCGM, OpenCost) are joined to
# model/version through ml_model_info on these
POD_LABELS: tuple[str, ...] = ("namespace", "pod")

# source -> what its selector picks
SELECTORS: dict[str, str] = {
    "serving": "the model service's own ml_* metrics (e.g. job=\"model-serving\")",
    "evaluation": "batch evaluation / drift jobs (usually via the Pushgateway)",
    "container": "cAdvisor / kube-state-metrics series of the model pods",
    "gpu": "NVIDIA DCGM exporter",
    "node": "node_exporter",
    "cost": "OpenCost",
}

_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}


def human_duration(duration: str) -> str:
    """"5m" -> "5 minutes", "1h" -> "1 hour" (compound durations stay as written): a window in
    the words of alert and panel descriptions."""
    import re

    match = re.fullmatch(r"(\d+)([smhdw])", duration)
    if not match:
        return duration
    count, unit = int(match.group(1)), _UNITS[match.group(2)]
    return f"{count} {unit}" + ("s" if count != 1 else "")


# The window a positive-feedback share is judged over (the recorded share, its alert and its
# panels): over the dashboards' $__rate_interval a version's share rests on about
# `feedback_min_events` events, and binomial noise alone (an 85 % healthy share, 20 events: one
# standard error is 8 points) crossed the 60 % red step on healthy traffic.
FEEDBACK_WINDOW = "15m"
# The window over which versions of a model are compared on labelled accuracy, from the counters
# ml_labeled_predictions_total{correct} (MLRolloutQualityRegression, the recorded per-version
# labelled accuracy): canary and production over the SAME time span. The library's quality gauges
# are each over a version's last 1000 labels, which for a 20 % canary spans 4 times as long as for
# production, so a comparison of the two lagged an incident that hit both (docs/alerts.md, "The
# canary lag"). 30 minutes gives such a canary (0.6 labels/s in the demo) about 1000 labels.
LABELED_WINDOW = "30m"
# The recent window that lets MLModelQualityBelowBaseline's accuracy series resolve: once the
# labelled accuracy of this window is back within the baseline's threshold by `quality_release_z`
# standard errors (and from at least quality_window_min_samples labels), the lagging 1000-label
# gauge no longer holds the alert (a 20 % canary's gauge lags an incident's end by ~28 minutes).
LABELED_RECENT_WINDOW = "10m"

# threshold name -> (default, meaning). Panels colour by these and alerts fire on them: the same
# name in both places (tests/unit/test_thresholds.py proves panel red step == alert threshold).
THRESHOLDS: dict[str, tuple[float, str]] = {
    "error_ratio_warn": (0.01, "share of failed inference requests: warning"),
    "error_ratio_crit": (0.05, "share of failed inference requests: critical"),
    "latency_p95_warn_seconds": (0.25, "p95 inference latency SLO (seconds): warning"),
    "latency_p95_crit_seconds": (0.5, "p95 inference latency (seconds): critical"),
    "latency_p99_crit_seconds": (1.0, "p99 inference latency (seconds): red on panels"),
    "worker_saturation_warn": (0.7, "share of worker concurrency in use: watch"),
    "worker_saturation_crit": (0.9, "share of worker concurrency in use: requests queue"),
    "quality_drop_warn": (0.02, "production quality below its training baseline (absolute): warning"),
    "quality_drop_crit": (0.05, "production quality below its training baseline (absolute): critical"),
    "concept_drift_z": (4.0, "ml_concept_drift_score (binomial z) at or above: concept drift "
                              "(4, not 3: the score is watched continuously, docs/alerts.md)"),
    "drift_pvalue_warn": (0.001, "KS test p-value of a feature below this: watch"),
    "drift_pvalue_crit": (1e-06, "KS test p-value of a feature below this: the distributions differ "
                                 "(Bonferroni: under 0.01 a day over the tests of every feature, "
                                 "about one false red a year, as concept_drift_z)"),
    "drift_score_warn": (0.1, "feature drift score (PSI) 'watch'"),
    "drift_score_crit": (0.25, "feature drift score (PSI) 'act'"),
    "drifted_share_warn": (0.2, "share of input features drifted: watch"),
    "drifted_share_crit": (0.3, "share of input features drifted: act (also the retraining rule)"),
    "prediction_drift_warn": (0.1, "prediction distribution PSI against validation: watch"),
    "prediction_drift_crit": (0.2, "prediction distribution PSI against validation: alert"),
    "evaluation_missed_runs_warn": (1.5, "evaluation age in schedule intervals: watch"),
    "evaluation_missed_runs_crit": (2.0, "evaluation age in schedule intervals: stale"),
    "label_coverage_warn": (0.5, "share of predictions whose ground truth arrived: watch"),
    "label_coverage_crit": (0.2, "share of predictions whose ground truth arrived: too few"),
    "quality_window_min_samples": (100, "fewer labelled predictions in a window: scores are noise "
                                       "(and a version's labelled accuracy is not compared)"),
    "spd_fair_bound": (0.1, "statistical parity difference fair range [-bound, bound]"),
    "dir_fair_lower": (0.8, "disparate impact ratio fair range: lower end (four-fifths rule)"),
    "dir_fair_upper": (1.25, "disparate impact ratio fair range: upper end"),
    "audit_coverage_min": (0.99, "share of predictions that must reach the audit log"),
    "ratio_noise_z": (3.0, "standard errors a ratio must clear its threshold by over the long window "
                      "before an alert judges it (binomial noise of low-traffic versions; also a "
                      "canary's labelled accuracy against production's)"),
    "quality_release_z": (2.0, "standard errors the recent labelled accuracy (LABELED_RECENT_WINDOW) "
                          "must clear baseline minus a quality threshold by before that accuracy "
                          "alert resolves ahead of its lagging 1000-label gauge (lower: a recovered "
                          "low-traffic canary resolves sooner, noise resets a mild drop's `for` "
                          "more often)"),
    "ratio_min_requests": (100, "fewer requests in the long window: an error ratio is not judged"),
    "error_ratio_point_min_requests": (200, "fewer requests behind one point of the live error-ratio "
                                       "panel: it shows the 5m ratio (at 200, a healthy 1 % error "
                                       "rate reaches 5 % in 4 of 100,000 points)"),
    "feedback_volume_drop": (0.5, "feedback per prediction (10m) below this share of its 6h level: "
                                  "feedback dropped"),
    "feedback_min_events": (20, "fewer feedback events in the window: feedback alerts do not judge"),
    "rollout_latency_factor": (1.3, "canary p95 latency above this multiple of production's: bad rollout"),
    "rollout_error_factor": (2.0, "a canary's error ratio above this multiple of production's: bad rollout"),
    "feedback_positive_warn": (0.8, "positive share of user feedback below this: watch"),
    "feedback_positive_crit": (0.6, "positive share of user feedback below this: bad"),
    "override_ratio_warn": (0.05, "share of predictions a human overrode: watch"),
    "override_ratio_crit": (0.1, "share of predictions a human overrode: bad"),
    "budget_burn_warn": (0.8, "serving cost / budget: watch"),
    "budget_burn_crit": (1.0, "serving cost / budget: over budget"),
    "gpu_utilisation_warn": (0.85, "GPU utilisation of a model's pods: watch"),
    "gpu_utilisation_crit": (0.9, "GPU utilisation of a model's pods: saturated"),
    "gpu_memory_warn": (0.85, "GPU framebuffer used: watch"),
    "gpu_memory_crit": (0.95, "GPU framebuffer used: memory pressure"),
    "gpu_idle_utilisation": (0.3, "below this GPU utilisation the spend counts as idle"),
    # LLM serving (dashboards/llm.py, rules/llm.py)
    "llm_ttft_slo_seconds": (1.0, "LLM time-to-first-token SLO (seconds), a TTFT histogram bucket bound"),
    "llm_ttft_slo_target": (0.95, "share of LLM requests that must get their first token within the SLO"),
    "llm_burn_rate_fast": (14.4, "TTFT error-budget burn rate over 1 h and 5 min: critical"),
    "llm_burn_rate_slow": (6.0, "TTFT error-budget burn rate over 6 h and 30 min: warning"),
    "llm_itl_p95_warn_seconds": (0.1, "inter-token latency p95 (seconds): slower than people read"),
    "llm_error_finish_ratio_warn": (0.01, "share of LLM requests finishing with an error: warning"),
    "llm_error_finish_ratio_crit": (0.05, "share of LLM requests finishing with an error: critical"),
    "llm_kv_cache_usage_warn": (0.8, "share of the KV cache in use: watch"),
    "llm_kv_cache_usage_crit": (0.95, "share of the KV cache in use: saturated"),
    "llm_queue_waiting_max": (10, "LLM requests waiting: above this and rising, the queue grows"),
    "llm_preemption_ratio_crit": (0.05, "preemptions per finished LLM request: burst"),
    "llm_eval_score_min": (0.75, "LLM evaluation (judge) score below this: do not promote"),
    "llm_guardrail_trigger_warn": (0.02, "share of evaluated LLM answers a guardrail flagged"),
}


@dataclass(frozen=True)
class AlertDefault:
    """An alert's default `for` window and severities (two severities = warning and critical levels)."""

    for_: str
    severities: tuple[str, ...] = ("warning",)
    summary: str = ""


ALERTS: dict[str, AlertDefault] = {
    "MLModelTargetDown": AlertDefault("2m", ("critical",)),
    "MLModelJobAbsent": AlertDefault("5m", ("critical",)),
    "MLModelStoppedReporting": AlertDefault("10m"),
    "MLErrorRatioHigh": AlertDefault("5m", ("warning", "critical")),
    "MLLatencySLOBreach": AlertDefault("5m", ("warning", "critical")),
    "MLNoPredictions": AlertDefault("10m"),
    "MLWorkersSaturated": AlertDefault("10m"),
    "MLModelQualityBelowBaseline": AlertDefault("15m", ("warning", "critical")),
    "MLConceptDrift": AlertDefault("15m"),
    "MLFeatureDrift": AlertDefault("15m"),
    "MLDataDriftWidespread": AlertDefault("15m"),
    "MLPredictionDrift": AlertDefault("15m"),
    "MLEvaluationStale": AlertDefault("5m"),
    "MLEvaluationFailing": AlertDefault("5m"),
    "MLPushgatewayPushFailing": AlertDefault("5m"),
    "MLCostOverBudget": AlertDefault("5m"),
    "MLGPUSaturated": AlertDefault("15m"),
    "MLGPUMemoryPressure": AlertDefault("15m"),
    "MLFairnessParityOutOfRange": AlertDefault("10m"),
    "MLDisparateImpactOutOfRange": AlertDefault("10m"),
    "MLAuditLogGap": AlertDefault("15m"),
    "MLUnapprovedVersionServing": AlertDefault("5m"),
    "MLFeedbackVolumeDrop": AlertDefault("5m"),
    "MLFeedbackPositiveShareLow": AlertDefault("15m"),
    "MLRolloutErrorRegression": AlertDefault("10m"),
    "MLRolloutLatencyRegression": AlertDefault("5m"),
    "MLRolloutQualityRegression": AlertDefault("15m"),
    "LLMTTFTErrorBudgetBurn": AlertDefault("2m", ("warning", "critical")),
    "LLMKVCacheSaturated": AlertDefault("10m"),
    "LLMQueueGrowing": AlertDefault("5m"),
    "LLMErrorFinishRatioHigh": AlertDefault("5m", ("warning", "critical")),
    "LLMPreemptionBurst": AlertDefault("5m"),
    "LLMEvaluationScoreLow": AlertDefault("5m"),
}

# Serving stacks whose native metrics an adapter rule module turns into the contract's signals.
STACKS = ("contract", "triton", "kserve", "seldon", "bentoml", "torchserve", "tfserving", "rayserve",
          "vllm", "tgi")

DEFAULTS: dict[str, Any] = {
    "folder": "ml-monitoring",
    "quality_metric": "accuracy",
    "cost_budget_usd_per_hour": 5.0,
    "runbook_url": "https://github.com/your-org/ml-grafana-monitoring/blob/main/docs/runbooks.md",
    "stacks": ["contract"],
}


# --- the config object ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """Label names as they appear on the team's series."""

    model: str = LABELS["model"][0]
    version: str = LABELS["version"][0]
    feature: str = LABELS["feature"][0]
    cluster: str = LABELS["cluster"][0]
    attribute: str = LABELS["attribute"][0]
    group: str = LABELS["group"][0]
    pod: tuple[str, ...] = POD_LABELS

    def rename(self) -> dict[str, str]:
        """Contract label name -> configured name, for the labels that differ."""
        return {role: getattr(self, role) for role in LABELS if getattr(self, role) != role}


@dataclass(frozen=True)
class Selectors:
    """Extra PromQL matchers (a matcher list without braces, "" = none) per metric source."""

    serving: str = ""
    evaluation: str = ""
    container: str = ""
    gpu: str = ""
    node: str = ""
    cost: str = ""

    def of(self, source: str) -> str:
        if source == "none":
            return ""
        return getattr(self, source)


@dataclass(frozen=True)
class AlertSettings:
    """One alert after the config's overrides: its `for` window, severities, and whether it is on."""

    name: str
    for_: str
    severities: tuple[str, ...]
    enabled: bool = True


@dataclass(frozen=True)
class MonitoringConfig:
    """The loaded config: defaults with the file's overrides applied."""

    labels: Labels = field(default_factory=Labels)
    selectors: Selectors = field(default_factory=Selectors)
    thresholds: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({k: v for k, (v, _) in THRESHOLDS.items()}))
    alerts: Mapping[str, AlertSettings] = field(
        default_factory=lambda: MappingProxyType({
            name: AlertSettings(name, d.for_, d.severities) for name, d in ALERTS.items()}))
    stacks: tuple[str, ...] = tuple(DEFAULTS["stacks"])
    areas: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    folder: str = DEFAULTS["folder"]
    quality_metric: str = DEFAULTS["quality_metric"]
    cost_budget_usd_per_hour: float = DEFAULTS["cost_budget_usd_per_hour"]
    runbook_url: str = DEFAULTS["runbook_url"]
    source: str = "built-in defaults"  # the file it came from, for messages

    # -- lookups with one-line errors (a typo in a dashboard or rule module names itself) -----

    def threshold(self, name: str) -> float:
        try:
            return self.thresholds[name]
        except KeyError:
            raise MonitoringConfigError(_unknown("threshold", name, self.thresholds)) from None

    def alert(self, name: str) -> AlertSettings:
        try:
            return self.alerts[name]
        except KeyError:
            raise MonitoringConfigError(
                _unknown("alert", name, self.alerts) + " (add its defaults to ml_monitoring.config.ALERTS)"
            ) from None

    def area_on(self, area: str) -> bool:
        """Areas are on unless the config turns them off (a team's own area tags included)."""
        return self.areas.get(area, True)

    def stack_on(self, stack: str) -> bool:
        return stack in self.stacks

    # -- the one place grouping labels are chosen --------------------------------------------

    def keep(self, *extra: str, model: bool = True, version: bool = False,
             cluster: bool = True) -> tuple[str, ...]:
        """Labels an aggregation keeps: the cluster label, `extra` (e.g. job, le), then model and
        version.

        Every `by (...)` / `on (...)` of the rules is built from this, so every aggregation keeps
        the cluster label of multi-cluster setups (docs/scale-out.md); without that label on the
        series nothing changes. `cluster=False` only for `group_left (...)` / `ignoring (...)`
        lists, which must not name a matching label.
        """
        labels = [self.labels.cluster] if cluster else []
        labels.extend(extra)
        if model:
            labels.append(self.labels.model)
        if version:
            labels.append(self.labels.version)
        return tuple(dict.fromkeys(labels))

    def by(self, *extra: str, model: bool = True, version: bool = False, cluster: bool = True) -> str:
        """`keep(...)` as the text of a `by (...)` clause: "cluster, job, model, version"."""
        return ", ".join(self.keep(*extra, model=model, version=version, cluster=cluster))


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}"


# --- JSON Schema ---------------------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema of monitoring.yaml, generated from the defaults above (one fact, one place)."""
    label = {"type": "string", "pattern": LABEL_RE}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/your-org/ml-grafana-monitoring/ml_monitoring/monitoring.schema.json",
        "title": "monitoring.yaml",
        "description": "One monitoring config for dashboards, Prometheus rules and the demo "
                       "(docs/config.md). Every key is optional; absent keys keep their defaults.",
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {
            "labels": {
                "description": "Label names as they appear on your series.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    **{role: {**label, "default": name, "description": what}
                       for role, (name, what) in LABELS.items()},
                    "pod": {"type": "array", "items": label, "minItems": 1, "uniqueItems": True,
                            "default": list(POD_LABELS),
                            "description": "labels locating a serving pod (joins exporter series to "
                                           "ml_model_info)"},
                },
            },
            "selectors": {
                "description": "Extra PromQL matchers per metric source, without braces "
                               "(e.g. 'job=\"model-serving\", namespace=\"ml\"').",
                "type": "object",
                "additionalProperties": False,
                "properties": {name: {"type": "string", "default": "", "description": what}
                               for name, what in SELECTORS.items()},
            },
            "thresholds": {
                "description": "Thresholds panels colour by and alerts fire on (same names).",
                "type": "object",
                "additionalProperties": False,
                "properties": {name: {"type": "number", "default": value, "description": what}
                               for name, (value, what) in THRESHOLDS.items()},
            },
            "alerts": {
                "description": "Per alert: `for` window, severity (single-level alerts only), on/off.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    name: {
                        "type": "object",
                        "additionalProperties": False,
                        "description": f"default for {d.for_}, severity {'/'.join(d.severities)}",
                        "properties": {
                            "for": {"type": "string", "pattern": DURATION_RE, "default": d.for_},
                            "enabled": {"type": "boolean", "default": True},
                            **({"severity": {"enum": list(SEVERITIES), "default": d.severities[0]}}
                               if len(d.severities) == 1 else {}),
                        },
                    }
                    for name, d in ALERTS.items()
                },
            },
            "stacks": {
                "description": "Serving stacks whose native metrics the rules adapt to the contract.",
                "type": "array", "items": {"enum": list(STACKS)}, "uniqueItems": True,
                "minItems": 1, "default": DEFAULTS["stacks"],
            },
            "areas": {
                "description": "Dashboard areas on (true) or off (false); absent areas are on.",
                "type": "object",
                "propertyNames": {"pattern": SLUG_RE},
                "additionalProperties": {"type": "boolean"},
            },
            "folder": {"type": "string", "pattern": r"^[a-zA-Z0-9_-]{1,40}$",
                       "default": DEFAULTS["folder"], "description": "Grafana folder uid"},
            "quality_metric": {"type": "string", "pattern": r"^[a-zA-Z0-9_.-]+$",
                               "default": DEFAULTS["quality_metric"],
                               "description": "the `metric` label value of the headline quality score"},
            "cost_budget_usd_per_hour": {"type": "number", "minimum": 0,
                                         "default": DEFAULTS["cost_budget_usd_per_hour"],
                                         "description": "hourly budget per model when the service "
                                                        "exports no ml_cost_budget_usd_per_hour"},
            "runbook_url": {"type": "string", "pattern": r"^https?://\S+$",
                            "default": DEFAULTS["runbook_url"],
                            "description": "base URL of docs/runbooks.md; alerts link <base>#<alert>"},
        },
    }


# --- loading -------------------------------------------------------------------------------------


def config_path(root: Path | str | None = None) -> Path | None:
    """The file to load: $MONITORING_CONFIG if set, else <root>/monitoring.yaml if present."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env)
    candidate = Path(root if root is not None else Path.cwd()) / CONFIG_FILE
    return candidate if candidate.is_file() else None


def load_config(path: Path | str | None = None, *, root: Path | str | None = None) -> MonitoringConfig:
    """Load `path` (default: `config_path(root)`); no file = the built-in defaults."""
    chosen = Path(path) if path is not None else config_path(root)
    if chosen is None:
        return MonitoringConfig()
    return _load_cached(str(chosen.resolve()) if chosen.exists() else str(chosen), str(chosen))


@lru_cache(maxsize=8)
def _load_cached(resolved: str, display: str) -> MonitoringConfig:
    # cached per file path within a process; tests that rewrite a file call clear_cache()
    return parse_config(_read(Path(resolved), display), display)


def clear_cache() -> None:
    _load_cached.cache_clear()


def _read(path: Path, name: str) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MonitoringConfigError(f"{name}: monitoring config not found (set {ENV_VAR} to an "
                                    "existing file or unset it)") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise MonitoringConfigError(f"{name}: cannot read monitoring config: {reason}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise MonitoringConfigError(f"{name}{where}: malformed YAML: {problem}") from None


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _key(path: Iterable[Any]) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def _schema_message(error: Any) -> str:
    """One readable line for a jsonschema error, naming the key."""
    where = list(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = list(error.schema.get("properties", {}))
        bad = extra[0] if extra else "?"
        message = _unknown("key", bad, known)
        if "did you mean" not in message:
            message += f"; known: {', '.join(known)}"
        return f"{_key([*where, bad])}: {message}"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{_key(where)}: {error.instance!r} is not one of {allowed}"
    if error.validator == "pattern":
        what = {LABEL_RE: "a Prometheus label name", DURATION_RE: "a Prometheus duration like 5m",
                SLUG_RE: "lower-case letters, digits and -"}.get(error.validator_value,
                                                                  f"matching {error.validator_value}")
        return f"{_key(where)}: {error.instance!r} is not {what}"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{_key(where)}: expected {expected}, got {type(error.instance).__name__} {error.instance!r}"
    if error.validator == "propertyNames":
        return f"{_key(where)}: bad key: {error.message}"
    return f"{_key(where)}: {error.message}"


def parse_config(data: Any, name: str = CONFIG_FILE) -> MonitoringConfig:
    """Validate `data` (the parsed YAML) and apply it over the defaults."""
    import jsonschema

    errors = sorted(_validator().iter_errors(data),
                    key=lambda e: (list(map(str, e.absolute_path)), str(e.validator)))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise MonitoringConfigError(f"{name}: {_schema_message(best)}")
    data = data or {}

    labels_in = data.get("labels", {})
    labels = Labels(**{k: (tuple(v) if k == "pod" else v) for k, v in labels_in.items()})
    names = [getattr(labels, role) for role in LABELS] + list(labels.pod)
    for role in LABELS:
        value = getattr(labels, role)
        if value.startswith("__"):
            raise MonitoringConfigError(f"{name}: labels.{role}: {value!r} is reserved (starts with __)")
        if names.count(value) > 1:
            raise MonitoringConfigError(f"{name}: labels.{role}: {value!r} is also used for another role")

    selectors_in = data.get("selectors", {})
    for source, text in selectors_in.items():
        problem = check_selector(text)
        if problem:
            raise MonitoringConfigError(f"{name}: selectors.{source}: {problem}")
    selectors = Selectors(**selectors_in)

    thresholds = {k: v for k, (v, _) in THRESHOLDS.items()}
    for key, value in data.get("thresholds", {}).items():
        if isinstance(value, bool) or value != value or value in (float("inf"), float("-inf")):
            raise MonitoringConfigError(f"{name}: thresholds.{key}: expected a finite number, got {value!r}")
        thresholds[key] = value  # int or float as written (compiled JSON keeps 100, not 100.0)
    _check_threshold_order(thresholds, name)

    alerts = {n: AlertSettings(n, d.for_, d.severities) for n, d in ALERTS.items()}
    for alert_name, override in data.get("alerts", {}).items():
        base = alerts[alert_name]
        alerts[alert_name] = AlertSettings(
            alert_name,
            override.get("for", base.for_),
            (override["severity"],) if "severity" in override else base.severities,
            override.get("enabled", True),
        )

    return MonitoringConfig(
        labels=labels,
        selectors=selectors,
        thresholds=MappingProxyType(thresholds),
        alerts=MappingProxyType(alerts),
        stacks=tuple(data.get("stacks", DEFAULTS["stacks"])),
        areas=MappingProxyType(dict(data.get("areas", {}))),
        folder=data.get("folder", DEFAULTS["folder"]),
        quality_metric=data.get("quality_metric", DEFAULTS["quality_metric"]),
        cost_budget_usd_per_hour=float(data.get("cost_budget_usd_per_hour",
                                                DEFAULTS["cost_budget_usd_per_hour"])),
        runbook_url=data.get("runbook_url", DEFAULTS["runbook_url"]).rstrip("#"),
        source=name,
    )


# warn/crit pairs: for "higher is bad" signals warn < crit; for "lower is bad" ones crit < warn
_ASCENDING = [("error_ratio_warn", "error_ratio_crit"),
              ("latency_p95_warn_seconds", "latency_p95_crit_seconds"),
              ("quality_drop_warn", "quality_drop_crit"), ("drift_score_warn", "drift_score_crit"),
              ("drifted_share_warn", "drifted_share_crit"),
              ("prediction_drift_warn", "prediction_drift_crit"),
              ("evaluation_missed_runs_warn", "evaluation_missed_runs_crit"),
              ("label_coverage_crit", "label_coverage_warn"),
              ("drift_pvalue_crit", "drift_pvalue_warn"),
              ("feedback_positive_crit", "feedback_positive_warn"),
              ("override_ratio_warn", "override_ratio_crit"), ("budget_burn_warn", "budget_burn_crit"),
              ("worker_saturation_warn", "worker_saturation_crit"),
              ("gpu_utilisation_warn", "gpu_utilisation_crit"), ("gpu_memory_warn", "gpu_memory_crit"),
              ("dir_fair_lower", "dir_fair_upper")]


def _check_threshold_order(thresholds: Mapping[str, float], name: str) -> None:
    for low, high in _ASCENDING:
        if thresholds[low] >= thresholds[high]:
            raise MonitoringConfigError(
                f"{name}: thresholds.{low} ({thresholds[low]:g}) must be below "
                f"thresholds.{high} ({thresholds[high]:g})")


def check_selector(text: str) -> str | None:
    """None if `text` is a valid PromQL matcher list (without braces), else the problem."""
    if not text.strip():
        return None
    if "{" in text or "}" in text:
        return f"{text!r}: write the matchers without braces, e.g. job=\"model-serving\""
    try:
        import promql_parser
    except ImportError:  # the instrumentation library alone does not need the parser
        return None
    try:
        promql_parser.parse("up{" + text + "}")
    except Exception as exc:  # promql_parser raises its own error types
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"{text!r} is not a PromQL matcher list: {detail}"
    return None


def contract_label_map() -> dict[str, str]:
    """Contract label name -> the configured one (docs/metrics.md names the defaults); for lint."""
    cfg = load_config()
    mapping = {role: getattr(cfg.labels, role) for role in LABELS}
    mapping.update(dict(zip(POD_LABELS, cfg.labels.pod, strict=False)))
    return {k: v for k, v in mapping.items() if k != v}


def main(argv: list[str] | None = None) -> int:
    """`python -m ml_monitoring.config schema | check [FILE] | labels`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["schema"]:
        sys.stdout.write(json.dumps(json_schema(), indent=2, sort_keys=False) + "\n")
        return 0
    if args[:1] == ["check"]:
        try:
            cfg = load_config(args[1] if len(args) > 1 else None)
        except MonitoringConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{cfg.source}: ok")
        return 0
    if args[:1] == ["labels"]:
        try:
            cfg = load_config()
        except MonitoringConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print("| contract label | label on your series |\n|---|---|")
        pods = dict(zip(POD_LABELS, cfg.labels.pod, strict=False))
        names = {**{role: getattr(cfg.labels, role) for role in LABELS}, **pods}
        for role, name in names.items():
            print(f"| `{role}` | `{name}` |")
        return 0
    print("usage: python -m ml_monitoring.config schema | check [FILE] | labels", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

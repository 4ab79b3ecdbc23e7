"""promtool unit tests that follow the monitoring config.

Tests are written against the contract's label names (`model`, `version`, `feature`, ...) and
the scrape jobs of prometheus/prometheus.yml; `series()`, `out()` and `render()` turn them into
the configured names: renamed labels, and each source's selector matchers on its input series
(an equality matcher's label is set on the inputs of that source, and replaces the value of the
same label in expected outputs: `job="model-serving"` moves every `job="ml-model"`). Thresholds
come from the config through the test modules (rules/_alert_tests.py), so a changed threshold
changes the inputs and the expected values with it.

Limitation (one-line build error): a selector matcher that is not `=` or a plain `=~` alternation
cannot be turned into an input label.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from _rulelib import CONFIG

from grafana_sync.errors import ConfigError

HERE = Path(__file__).resolve().parent
ROLES = {"model": CONFIG.labels.model, "version": CONFIG.labels.version,
         "feature": CONFIG.labels.feature, "attribute": CONFIG.labels.attribute,
         "group": CONFIG.labels.group, "cluster": CONFIG.labels.cluster}
# pod join labels in the tests are the defaults, renamed positionally
ROLES.update(dict(zip(("namespace", "pod"), CONFIG.labels.pod, strict=False)))

# which monitoring source a metric comes from (its selector applies to it)
_SOURCES = [
    (re.compile(r"^(ml_evaluation_|ml_llm_evaluation_|ml_llm_guardrail_|push_(failure_)?time_seconds)"),
     "evaluation"),
    (re.compile(r"^DCGM_"), "gpu"),
    (re.compile(r"^(node_(cpu|ram|gpu)_hourly_cost|container_(cpu|memory|gpu)_allocation)"), "cost"),
    (re.compile(r"^node_"), "node"),
    (re.compile(r"^(container_|kube_)"), "container"),
]


def source_of(metric: str) -> str:
    for pattern, source in _SOURCES:
        if pattern.match(metric):
            return source
    return "serving"


def _selector_labels(source: str) -> dict[str, str]:
    text = CONFIG.selectors.of(source)
    if not text:
        return {}
    labels: dict[str, str] = {}
    node = promql_parser.parse("up{" + text + "}")
    for matcher in node.matchers.matchers:
        op = str(matcher.op)
        if op.endswith("Equal") and not op.endswith("NotEqual"):
            labels[matcher.name] = matcher.value
        elif op.endswith("Re") and not op.endswith("NotRe"):
            value = matcher.value.split("|")[0].strip("^$()")
            if not re.fullmatch(matcher.value, value):
                raise ConfigError(f"{CONFIG.source}: selectors.{source}: cannot derive a test value "
                                  f"for {matcher.name}=~{matcher.value!r} (promtool tests)")
            labels[matcher.name] = value
        # != and !~ matchers: the tests' own values are assumed not to hit them
    return labels


SELECTOR_LABELS = {s: _selector_labels(s) for s in ("serving", "evaluation", "container", "gpu",
                                                      "node", "cost")}


def rename(labels: dict[str, str], source: str, *, inputs: bool) -> dict[str, str]:
    """Contract label names -> configured names; selector labels applied (see module doc)."""
    out = {ROLES.get(k, k): v for k, v in labels.items()}
    for key, value in SELECTOR_LABELS[source].items():
        if inputs or key in out:
            out[key] = value
    return out


def _render(metric: str, labels: dict[str, str]) -> str:
    body = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{metric}{{{body}}}"


def series(metric: str, /, **labels: str) -> str:
    """An input series: `series("ml_predictions_total", job="ml-model", model="churn")`."""
    return _render(metric, rename(labels, source_of(metric), inputs=True))


def out(metric: str = "", /, _source: str | None = None, **labels: str) -> str:
    """Expected labels of an output sample, as promtool's `labels:` string."""
    src = _source or (source_of(metric) if metric else "serving")
    return _render(metric, rename(labels, src, inputs=False))


def exp_labels(_source: str = "serving", /, **labels: str) -> dict[str, str]:
    return rename(labels, _source, inputs=False)


def job(default: str, source: str = "serving") -> str:
    """The job label value a source's series carry under the config."""
    return SELECTOR_LABELS[source].get("job", default)


_SERIES_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)?\{(.*)\}$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _parse(text: str) -> tuple[str, dict[str, str]]:
    match = _SERIES_RE.match(text.strip())
    if not match:
        raise ConfigError(f"rules/tests: cannot read series {text!r}")
    return match.group(1) or "", dict(_LABEL_RE.findall(match.group(2)))


def render(template: str) -> list[dict[str, Any]]:
    """The cases of a hand-written test template (rules/tests/<name>) under the config's names."""
    data = yaml.safe_load((HERE / "tests" / template).read_text(encoding="utf-8"))
    cases = data["tests"]
    for case in cases:
        jobs: dict[str, str] = {}  # job value in the template -> the source of its series
        for item in case.get("input_series", []):
            metric, labels = _parse(item["series"])
            if "job" in labels:
                jobs.setdefault(labels["job"], source_of(metric))
            item["series"] = series(metric, **labels)
        for check in case.get("promql_expr_test", []):
            check["expr"] = rename_expr(check["expr"])
            for sample in check.get("exp_samples", []):
                metric, labels = _parse(sample["labels"])
                sample["labels"] = out(metric, jobs.get(labels.get("job", ""), "serving"), **labels)
        for check in case.get("alert_rule_test", []):
            for alert in check.get("exp_alerts", []):
                labels = alert["exp_labels"]
                alert["exp_labels"] = exp_labels(jobs.get(labels.get("job", ""), "serving"), **labels)
    return cases


_MATCHER_RE = re.compile(r"([{,]\s*)([a-zA-Z_][a-zA-Z0-9_]*)(\s*(?:=~|!~|!=|=))")


def rename_expr(expr: str) -> str:
    """Label names in the matchers of a test's own PromQL (`rule{version="v1"}`) renamed."""
    return _MATCHER_RE.sub(lambda m: m.group(1) + ROLES.get(m.group(2), m.group(2)) + m.group(3), expr)


# --- Go template functions promtool renders annotations with (expected values, by hand) -------


def humanize_percentage(ratio: float) -> str:
    """Go's humanizePercentage: %.4g of ratio * 100, then %."""
    return f"{ratio * 100:.4g}%"


def humanize_duration(seconds: float) -> str:
    """Go's humanizeDuration for the ranges the tests use."""
    if seconds == 0:
        return "0s"
    if abs(seconds) < 1:
        return f"{seconds * 1000:.4g}ms"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m {secs}s"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{seconds:.4g}s"


def minutes(duration: str) -> int:
    """"5m" -> 5, "1h" -> 60 (the alert `for` windows the tests wait out)."""
    total = 0
    for count, unit in re.findall(r"(\d+)([smhdw])", duration):
        total += int(count) * {"s": 1 / 60, "m": 1, "h": 60, "d": 1440, "w": 10080}[unit]
    return max(1, int(-(-total // 1)))

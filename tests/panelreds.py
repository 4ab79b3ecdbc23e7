"""When does a Grafana panel turn red? The colour rule of a panel's thresholds and value mappings,
applied to query results (for the long healthy run, tests/integration/test_healthy_run.py).

Grafana colours a value by its panel's `fieldConfig.defaults.thresholds` (absolute mode): the
steps sorted by value, the first step's value is null (minus infinity), and a value takes the
colour of the last step whose value is at or below it. So the red region of a "higher is bad"
panel (green, orange 0.01, red 0.05) is [0.05, inf), of a "lower is bad" panel (red, orange
0.6, green 0.8) (-inf, 0.6), of a fair range (red, green -0.1, red 0.1) both ends. A value
mapping (state-timeline `1 -> ALERT, red`) overrides the thresholds for the value it maps.
Field overrides that set thresholds per series are applied to the series whose display name
they match (`byName` / `byRegexp` on the legend). A graph whose thresholds are neither drawn
(`thresholdsStyle: off`) nor colour its series never shows red (e.g. the LLM "Scheduler state",
whose queue threshold is the LLMQueueGrowing alert's, judged by the alert). A graph draws one set
of threshold lines per axis: the first series' whose thresholdsStyle is on (Grafana's
UPlotConfigBuilder.addThresholds keeps the first per scale key), so series given other
thresholds by an override are judged by thresholds nobody sees unless theirs are that set:
`drawn_thresholds` names it, and the dashboards' tests require every red a series is judged by
to be the drawn one (tests/unit/test_healthy_noise.py).

    regions = red_regions(panel)            # [(low, high), ...], low inclusive, high exclusive
    drawn_thresholds(panel)                 # the thresholds a graph draws (its first series')
    is_red(panel, 0.07)                     # True
    red_samples(panel, result, legend)      # [(series name, timestamp, value), ...]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

RED = {"red", "dark-red", "semi-dark-red", "light-red", "super-light-red", "#f2495c",
       "#c4162a", "#e02f44", "#ff7383", "#ffa6b0"}


def _is_red(colour: Any) -> bool:
    return isinstance(colour, str) and colour.lower() in RED


def _steps(thresholds: Mapping[str, Any] | None) -> list[tuple[float, Any]]:
    steps = (thresholds or {}).get("steps") or []
    out = []
    for step in steps:
        value = step.get("value")
        out.append((-math.inf if value is None else float(value), step.get("color")))
    return sorted(out, key=lambda s: s[0])


def regions_of(thresholds: Mapping[str, Any] | None) -> list[tuple[float, float]]:
    """[low, high) intervals coloured red by absolute threshold steps."""
    if (thresholds or {}).get("mode", "absolute") != "absolute":
        raise ValueError("percentage thresholds depend on min/max; not used by these dashboards")
    steps = _steps(thresholds)
    regions = []
    for i, (low, colour) in enumerate(steps):
        high = steps[i + 1][0] if i + 1 < len(steps) else math.inf
        if _is_red(colour) and low < high:
            regions.append((low, high))
    return regions


def red_regions(panel: Mapping[str, Any]) -> list[tuple[float, float]]:
    return regions_of(((panel.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds"))


def _mapped_colour(mappings: Sequence[Mapping[str, Any]], value: float) -> tuple[bool, Any]:
    """(mapped?, colour) of a value under Grafana value/range mappings."""
    for mapping in mappings or []:
        options = mapping.get("options") or {}
        if mapping.get("type") == "value":
            for key, result in options.items():
                try:
                    if float(key) == value:
                        return True, result.get("color")
                except ValueError:
                    continue
        elif mapping.get("type") == "range":
            low = options.get("from")
            high = options.get("to")
            if (low is None or value >= low) and (high is None or value <= high):
                return True, (options.get("result") or {}).get("color")
    return False, None


def _colour_is_red(thresholds: Mapping[str, Any] | None, mappings: Sequence, value: float) -> bool:
    if math.isnan(value):
        return False  # Grafana draws no colour for NaN (0/0: no traffic)
    mapped, colour = _mapped_colour(mappings, value)
    if mapped and colour is not None:
        return _is_red(colour)
    return any(low <= value < high for low, high in regions_of(thresholds))


def _field_config(panel: Mapping[str, Any], name: str) -> tuple[Mapping | None, Sequence]:
    """The thresholds and mappings in force for the series called `name` (overrides applied)."""
    defaults = (panel.get("fieldConfig") or {}).get("defaults") or {}
    thresholds, mappings = defaults.get("thresholds"), defaults.get("mappings") or []
    for override in (panel.get("fieldConfig") or {}).get("overrides") or []:
        matcher = override.get("matcher") or {}
        hit = ((matcher.get("id") == "byName" and matcher.get("options") == name)
               or (matcher.get("id") == "byRegexp"
                   and re.fullmatch(str(matcher.get("options")), name) is not None))
        if not hit:
            continue
        for prop in override.get("properties") or []:
            if prop.get("id") == "thresholds":
                thresholds = prop.get("value")
            elif prop.get("id") == "mappings":
                mappings = prop.get("value") or []
    return thresholds, mappings


GRAPHS = {"timeseries", "trend", "xychart", "barchart"}


def thresholds_shown(panel: Mapping[str, Any]) -> bool:
    """A graph shows its thresholds only as lines/areas (`thresholdsStyle`) or as series colours
    (`color.mode: thresholds`); a stat, gauge, bar gauge, table or state timeline always colours
    by them."""
    if panel.get("type") not in GRAPHS:
        return True
    defaults = (panel.get("fieldConfig") or {}).get("defaults") or {}
    style = ((defaults.get("custom") or {}).get("thresholdsStyle") or {}).get("mode", "off")
    return style != "off" or (defaults.get("color") or {}).get("mode") == "thresholds"


def series_red_regions(panel: Mapping[str, Any], name: str = "") -> list[tuple[float, float]]:
    """The red intervals of the thresholds in force for the series displayed as `name` (none
    where a graph shows no thresholds)."""
    if not thresholds_shown(panel):
        return []
    return regions_of(_field_config(panel, name)[0])


def is_red(panel: Mapping[str, Any], value: float, name: str = "") -> bool:
    """Would Grafana colour `value` (of the series displayed as `name`) red on this panel?"""
    thresholds, mappings = _field_config(panel, name)
    if not thresholds_shown(panel):
        thresholds = None
    return _colour_is_red(thresholds, mappings, value)


def can_turn_red(panel: Mapping[str, Any]) -> bool:
    """Has the panel any red at all (thresholds, mappings or overrides)?"""
    fc = panel.get("fieldConfig") or {}
    configs = [fc.get("defaults") or {}]
    for override in fc.get("overrides") or []:
        props = {p.get("id"): p.get("value") for p in override.get("properties") or []}
        configs.append({"thresholds": props.get("thresholds"), "mappings": props.get("mappings")})
    for cfg in configs:
        if cfg.get("thresholds") and thresholds_shown(panel) and regions_of(cfg["thresholds"]):
            return True
        for mapping in cfg.get("mappings") or []:
            options = mapping.get("options") or {}
            colours = ([r.get("color") for r in options.values() if isinstance(r, Mapping)]
                       + [(options.get("result") or {}).get("color")])
            if any(_is_red(c) for c in colours):
                return True
    return False


def drawn_thresholds(panel: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The thresholds a graph draws: those in force for its first query's series (one axis; the
    dashboards' graphs give every series the same unit). A legend's `{{label}}` parts stand for
    any value, so an override's pattern must decide on the fixed text (e.g. `p95 .*`)."""
    targets = [t for t in panel.get("targets") or [] if not t.get("hide")]
    if not targets:
        return None
    name = legend(str(targets[0].get("legendFormat") or ""), {})
    return _field_config(panel, name)[0]


def legend(template: str, labels: Mapping[str, str]) -> str:
    """A target's legendFormat rendered for one series ({{label}} -> value), as Grafana does."""
    if not template or template == "__auto":
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
        return f"{labels.get('__name__', '')}{{{inner}}}"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)


def red_samples(panel: Mapping[str, Any], target: Mapping[str, Any],
                result: Iterable[Mapping[str, Any]]) -> list[tuple[str, float, float]]:
    """(series name, timestamp, value) of every red sample in a Prometheus query result
    (`values` of a range query or `value` of an instant query)."""
    found = []
    for series in result:
        name = legend(str(target.get("legendFormat") or ""), series.get("metric") or {})
        samples = series.get("values") or ([series["value"]] if "value" in series else [])
        for ts, text in samples:
            value = float(text)
            if is_red(panel, value, name):
                found.append((name, float(ts), value))
    return found

"""Turn grafanalib's Grafana-5-era JSON into what Grafana 11/12 saves (DESIGN.md "Compile").

grafanalib 0.7 emits schemaVersion 12, datasource names as strings, nulls for absent values,
legacy keys (`rows`, `span`, `height`, …), `refId: ""`, `thresholds.steps: ""` on Stat,
`maxDataPoints: 100` on every panel, `intervalFactor`/`step` on targets and the pre-7 options of
gauge, bar gauge, table and heatmap. `normalise_dashboard` fixes all of that; it never touches
queries, titles or anything else the author wrote on purpose. A library-panel reference keeps
only what Grafana saves for one (id, title, gridPos, libraryPanel): its content is the library's.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from grafana_sync.model import (
    DASHBOARD_UNSET,
    PANEL_DEFAULTS,
    ROW_TYPE,
    SCHEMA_VERSION,
    TARGET_DEFAULTS,
    DatasourceResolver,
    drop_defaults,
    drop_nulls,
)

DASHBOARD_KEYS = {
    "annotations", "description", "editable", "fiscalYearStartMonth", "gnetId", "graphTooltip",
    "links", "liveNow", "panels", "refresh", "revision", "schemaVersion", "tags", "templating",
    "time", "timepicker", "timezone", "title", "uid", "weekStart",
}
PANEL_KEYS = {
    "cacheTimeout", "datasource", "description", "fieldConfig", "gridPos", "hideTimeOverride", "id",
    "interval", "libraryPanel", "links", "maxDataPoints", "maxPerRow", "options", "pluginVersion",
    "queryCachingTTL", "repeat", "repeatDirection", "targets", "timeFrom", "timeShift", "title",
    "transformations", "transparent", "type",
}
# `time_options` is not here: it had no effect on provisioned dashboards in Grafana 11 and
# Grafana 12 removes it (schema migration 41; the 12.3 schema rejects it). `quick_ranges` is
# Grafana 12's replacement.
TIMEPICKER_KEYS = {"hidden", "refresh_intervals", "nowDelay", "quick_ranges"}
ROW_KEYS = {"collapsed", "datasource", "gridPos", "id", "panels", "repeat", "title", "type"}
TARGET_DROP = {"step", "intervalFactor", "query", "target", "metric"}
VARIABLE_KEYS = {
    "allValue", "auto", "auto_count", "auto_min", "current", "datasource", "description", "hide",
    "includeAll", "label", "multi", "name", "options", "query", "refresh", "regex", "skipUrlSync",
    "sort", "type",
}
ANNOTATION_KEYS = {"builtIn", "datasource", "enable", "expr", "filter", "hide", "iconColor", "name",
                   "target", "type", "step", "titleFormat", "tagKeys", "textFormat",
                   "useValueForTime"}
#: Pre-8 Grafana annotations kept their tag filter at the top level; Grafana now keeps it in
#: `target` (with the annotation's type), which is where the schema allows it.
ANNOTATION_TARGET_KEYS = ("tags", "matchAny", "limit")
LINK_DEFAULTS = {"asDropdown": False, "icon": "external link", "includeVars": False,
                 "keepTime": False, "tags": [], "targetBlank": False, "title": "", "tooltip": "",
                 "type": "dashboards"}
GRAFANALIB_DEFAULT_MAX_DATA_POINTS = 100
ANGULAR_TYPES = {"graph": "timeseries", "singlestat": "stat"}

# Required options with no default in Grafana's schema: the values Grafana's editor saves.
_REQUIRED_FALLBACKS: dict[str, dict[str, Any]] = {
    "timeseries": {"legend": {"showLegend": True}, "tooltip": {"mode": "single", "sort": "none"}},
    "stat": {"orientation": "auto"},
    "gauge": {"orientation": "auto"},
    "bargauge": {"orientation": "horizontal", "legend": {"showLegend": False}},
    "heatmap": {"tooltip": {"mode": "single", "yHistogram": False}, "yAxis": {"axisPlacement": "left"},
                "calculate": False, "cellValues": {"unit": ""}},
}
_REDUCE_DEFAULTS = {"calcs": ["lastNotNull"], "fields": "", "values": False}
_LEGACY_FIELD_DEFAULTS = {"calcs", "limit", "override", "title", "values"}


@lru_cache(maxsize=1)
def panel_shapes() -> dict[str, Any]:
    """Per panel type: known option/custom keys and Grafana's defaults (generated; see scripts/)."""
    text = resources.files("grafana_sync").joinpath("data/panel_shapes.json").read_text()
    return json.loads(text)


def _deep_merge(defaults: Any, value: Any) -> Any:
    """value wins; missing keys come from defaults (dicts merged recursively)."""
    if isinstance(defaults, dict) and isinstance(value, dict):
        merged = _copy_json(defaults)
        for key, val in value.items():
            merged[key] = _deep_merge(defaults.get(key), val) if key in defaults else val
        return merged
    return _copy_json(defaults) if value is None else value


def _copy_json(value: Any) -> Any:
    """copy.deepcopy for JSON data (dicts, lists, scalars), several times faster."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _prune(value: Any, keys: dict[str, Any] | None) -> Any:
    """Keep only keys Grafana's schema knows (keys=None means free-form: keep all)."""
    if keys is None or not isinstance(value, dict):
        return value
    return {k: _prune(v, keys[k]) for k, v in value.items() if k in keys}


def _set_datasource(obj: dict[str, Any], ref: dict[str, str] | None) -> None:
    """obj["datasource"] = ref, or no key at all when the reference is Grafana's default."""
    if ref:
        obj["datasource"] = ref
    else:
        obj.pop("datasource", None)


def _thresholds(raw: Any) -> dict[str, Any]:
    """Legacy or modern thresholds -> {"mode", "steps": [{"color", "value"}]}, base value null."""
    mode = "absolute"
    steps: Any = raw
    if isinstance(raw, dict):
        mode = raw.get("mode") or "absolute"
        steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:  # grafanalib's Stat bug: steps == ""
        steps = [{"color": "green", "value": None}]
    clean = []
    for i, step in enumerate(steps):
        value = step.get("value")
        if i == 0 or value in ("null", "", None):
            value = None  # Grafana's base step: applies from -Infinity
        clean.append({"color": step.get("color", "green"), "value": value})
    return {"mode": mode, "steps": clean}


def _normalise_targets(targets: list[dict[str, Any]], panel_ds: dict[str, str] | None,
                       resolve: DatasourceResolver) -> list[dict[str, Any]]:
    used = {t.get("refId") for t in targets if t.get("refId")}
    letters = (c for c in string.ascii_uppercase if c not in used)
    out = []
    for target in targets:
        t = {k: v for k, v in target.items() if k not in TARGET_DROP}
        if not t.get("refId"):
            t["refId"] = next(letters)
        for key in ("interval", "legendFormat", "format"):  # "" means unset
            if t.get(key) == "":
                del t[key]
        drop_defaults(t, TARGET_DEFAULTS)
        _set_datasource(t, resolve.ref(t["datasource"]) if t.get("datasource") else panel_ds)
        out.append(t)
    return out


def _legacy_options(panel: dict[str, Any]) -> None:
    """Move pre-Grafana-7 settings of gauge / bar gauge / table / heatmap to their modern place."""
    ptype = panel["type"]
    fc = panel.setdefault("fieldConfig", {})
    defaults = fc.setdefault("defaults", {})
    options = panel.get("options")
    if not isinstance(options, dict):
        options = {}
    if ptype == "gauge":
        legacy = {k: defaults.pop(k) for k in list(defaults) if k in _LEGACY_FIELD_DEFAULTS}
        for flag in ("showThresholdLabels", "showThresholdMarkers"):
            if flag in fc:
                options[flag] = fc.pop(flag)
        reduce = options.setdefault("reduceOptions", {})
        if legacy.get("calcs"):
            reduce.setdefault("calcs", legacy["calcs"])
        if legacy.get("values") is not None:
            reduce.setdefault("values", legacy["values"])
        if legacy.get("limit") is not None:
            reduce.setdefault("limit", legacy["limit"])
    elif ptype == "bargauge":
        field_options = options.pop("fieldOptions", None) or {}
        for flag in ("showThresholdLabels", "showThresholdMarkers"):
            options.pop(flag, None)
        reduce = options.setdefault("reduceOptions", {})
        if field_options.get("calcs"):
            reduce.setdefault("calcs", field_options["calcs"])
        if field_options.get("values") is not None:
            reduce.setdefault("values", field_options["values"])
        if field_options.get("limit") is not None:
            reduce.setdefault("limit", field_options["limit"])
        for key, val in (field_options.get("defaults") or {}).items():
            if key not in _LEGACY_FIELD_DEFAULTS and val is not None:
                defaults.setdefault(key, val)
        if field_options.get("mappings") and not defaults.get("mappings"):
            defaults["mappings"] = field_options["mappings"]
    elif ptype == "table":
        for key in ("color", "columns", "fontSize", "styles", "transform", "sort", "scroll"):
            panel.pop(key, None)
        mappings = panel.pop("mappings", None)
        if mappings and not defaults.get("mappings"):
            defaults["mappings"] = mappings
        custom = defaults.setdefault("custom", {})
        mode = custom.pop("displayMode", None)
        if mode and mode != "auto" and "cellOptions" not in custom:
            custom["cellOptions"] = {"type": mode}
    elif ptype == "text":  # Grafana < 7.1 kept the text at the top level (schema 27 moved it)
        for key in ("content", "mode"):
            if key in panel:
                value = panel.pop(key)
                options.setdefault(key, value)
    elif ptype == "heatmap":
        legacy_color = panel.get("color") or {}
        hide_zero = panel.get("hideZeroBuckets")
        for key in ("cards", "color", "dataFormat", "heatmap", "hideZeroBuckets", "highlightCards",
                    "legend", "reverseYBuckets", "tooltip", "xAxis", "xBucketNumber", "xBucketSize",
                    "yAxis", "yBucketBound", "yBucketNumber", "yBucketSize", "tooltipDecimals"):
            panel.pop(key, None)
        options.setdefault("calculate", False)
        if legacy_color.get("colorScheme"):
            scheme = legacy_color["colorScheme"].replace("interpolate", "")
            options.setdefault("color", {}).setdefault("scheme", scheme)
        if hide_zero:
            options.setdefault("filterValues", {"le": 1e-9})
        for target in panel.get("targets", []):
            # grafanalib writes format time_series on every target; histogram buckets shown
            # without Grafana-side calculation need the heatmap format to be read as buckets.
            if target.get("format", "time_series") == "time_series" and "_bucket" in target.get("expr", ""):
                target["format"] = "heatmap"
    panel["options"] = options


#: What Grafana saves for a library-panel reference: the panel's content lives in the library.
LIBRARY_REF_KEYS = ("id", "title", "gridPos", "libraryPanel")


def _normalise_panel(panel: dict[str, Any], resolve: DatasourceResolver) -> dict[str, Any]:
    # `panel` is part of normalise_dashboard's copy of the input, nulls already dropped: it may
    # be changed in place (copying it again cost a tenth of a build)
    if isinstance(panel.get("libraryPanel"), dict):
        return {k: panel[k] for k in LIBRARY_REF_KEYS if k in panel}
    if panel.get("type") in ANGULAR_TYPES:
        panel["type"] = ANGULAR_TYPES[panel["type"]]
    if panel.get("type") == ROW_TYPE:
        row = {k: v for k, v in panel.items() if k in ROW_KEYS}
        row.setdefault("collapsed", False)
        row["panels"] = [_normalise_panel(p, resolve) for p in row.get("panels", [])]
        if "datasource" in row:
            _set_datasource(row, resolve.ref(row["datasource"]))
        return row
    if panel.get("maxDataPoints") == GRAFANALIB_DEFAULT_MAX_DATA_POINTS:
        del panel["maxDataPoints"]  # grafanalib sets 100 on every panel, which starves time series
    _legacy_options(panel)
    ptype = panel["type"]
    shapes = panel_shapes()
    ds = resolve.ref(panel.get("datasource"))
    _set_datasource(panel, ds)
    panel["targets"] = _normalise_targets(panel.get("targets", []), ds, resolve)

    fc = panel["fieldConfig"]
    defaults = _prune(fc.get("defaults", {}), shapes["_fieldConfigDefaults"])
    defaults["thresholds"] = _thresholds(defaults.get("thresholds"))
    defaults.setdefault("mappings", [])
    if defaults.get("unit") == "":
        del defaults["unit"]
    if defaults.get("noValue") == "none":
        del defaults["noValue"]  # grafanalib's Stat default: would print the word "none"
    spec = shapes.get(ptype, {})
    if "custom" in spec:
        custom = _deep_merge(spec["custom"]["defaults"], defaults.get("custom", {}))
        custom = _deep_merge(_REQUIRED_FALLBACKS.get(f"{ptype}.custom", {}), custom)
        defaults["custom"] = _prune(custom, spec["custom"]["keys"])
    panel["fieldConfig"] = {"defaults": defaults, "overrides": fc.get("overrides", [])}

    options = panel.get("options", {})
    if "options" in spec:
        options = _deep_merge(spec["options"]["defaults"], options)
        options = _deep_merge(_REQUIRED_FALLBACKS.get(ptype, {}), options)
        if "reduceOptions" in options:
            options["reduceOptions"] = _deep_merge(_REDUCE_DEFAULTS, options["reduceOptions"])
        options = _prune(options, spec["options"]["keys"])
    panel["options"] = options
    drop_defaults(panel, PANEL_DEFAULTS)
    return {k: v for k, v in panel.items() if k in PANEL_KEYS}


def _normalise_variable(var: dict[str, Any], resolve: DatasourceResolver) -> dict[str, Any]:
    var = {k: v for k, v in drop_nulls(var).items() if k in VARIABLE_KEYS}
    if var.get("type") == "datasource":
        var.pop("datasource", None)
    elif "datasource" in var:
        _set_datasource(var, resolve.ref(var["datasource"]))
    current = var.get("current")
    if isinstance(current, dict):
        current = {k: v for k, v in current.items() if k in ("selected", "text", "value")}
        if "text" not in current or "value" not in current:
            var.pop("current")
        else:
            var["current"] = current
    if var.get("type") != "interval":
        for key in ("auto", "auto_count", "auto_min"):
            var.pop(key, None)
    return var


def _normalise_annotation(ann: dict[str, Any], resolve: DatasourceResolver) -> dict[str, Any]:
    ann = drop_nulls(ann)
    legacy = {k: ann[k] for k in ANNOTATION_TARGET_KEYS if k in ann}
    if legacy and not isinstance(ann.get("target"), dict):
        ann["target"] = {**legacy, "type": ann.get("type", "tags")}
    ann = {k: v for k, v in ann.items() if k in ANNOTATION_KEYS}
    if ann.get("builtIn"):
        ann["datasource"] = {"type": "grafana", "uid": "-- Grafana --"}
    else:
        _set_datasource(ann, resolve.ref(ann.get("datasource")))
    ann.setdefault("enable", True)
    ann.setdefault("iconColor", "rgba(0, 211, 255, 1)")
    return ann


def normalise_dashboard(raw: dict[str, Any],
                        known_datasources: Mapping[str, Mapping[str, str]] | None = None,
                        *, private: bool = False) -> dict[str, Any]:
    """Modern, deterministic dashboard JSON (ids and gridPos are handled by `layout`).

    Datasource references are resolved by `grafana_sync.model.DatasourceResolver` from the
    dashboard's datasource variables and `known_datasources` (name or uid -> {"type", "uid"}).
    `private`: `raw` holds no nulls and belongs to the caller, who will not use it again.
    """
    # rebuilds every container: the input is never modified -- unless the caller says `raw` is
    # its own null-free copy (grafana_sync.compile decodes it so), which is then reused
    dash = raw if private else drop_nulls(raw)
    resolve = DatasourceResolver.for_dashboard(dash, known_datasources)
    if dash.get("sharedCrosshair") and not dash.get("graphTooltip"):
        dash["graphTooltip"] = 1
    dash = {k: v for k, v in dash.items() if k in DASHBOARD_KEYS}
    dash["schemaVersion"] = max(SCHEMA_VERSION, int(dash.get("schemaVersion") or 0))
    dash["panels"] = [_normalise_panel(p, resolve) for p in dash.get("panels", [])]
    templating = dash.get("templating") or {}
    dash["templating"] = {"list": [_normalise_variable(v, resolve)
                                   for v in templating.get("list", [])]}
    annotations = dash.get("annotations") or {}
    dash["annotations"] = {"list": [_normalise_annotation(a, resolve)
                                    for a in annotations.get("list", [])]}
    dash["links"] = [{**LINK_DEFAULTS, **drop_nulls(link)} for link in dash.get("links", [])]
    timepicker = dash.get("timepicker")
    if isinstance(timepicker, dict):
        dash["timepicker"] = {k: v for k, v in timepicker.items() if k in TIMEPICKER_KEYS}
    drop_defaults(dash, DASHBOARD_UNSET)
    return dash

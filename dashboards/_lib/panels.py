"""Modern Grafana panels (timeseries, stat, gauge, bargauge, table, heatmap, state-timeline).

grafanalib 0.7.1's BarGauge/GaugePanel/Heatmap still emit Grafana 6-era options
(`fieldOptions`, legacy heatmap keys) that no normaliser can map faithfully, so these panels are
small grafanalib `Panel` subclasses that emit what Grafana 11 saves: `fieldConfig.defaults` with
unit, thresholds and mappings, the panel's current `options`, and Prometheus targets without the
legacy `step`/`intervalFactor` keys. They still are grafanalib panels: `Dashboard.auto_panel_ids`
and the build's normaliser treat them like any other.

Each factory takes `w`/`h` (grid size); `layout.section` places them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attr
from grafanalib.core import GridPos, Panel, Target

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# ---------------------------------------------------------------------------------------------
# thresholds and value mappings


def higher_is_bad(warn: float | None, crit: float | None = None) -> list[dict[str, Any]]:
    """green below `warn`, orange from `warn`, red from `crit`."""
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if warn is not None:
        steps.append({"color": "orange", "value": warn})
    if crit is not None:
        steps.append({"color": "red", "value": crit})
    return steps


def lower_is_bad(crit: float | None, warn: float | None = None) -> list[dict[str, Any]]:
    """red below `crit`, orange below `warn`, green above."""
    steps: list[dict[str, Any]] = [{"color": "red", "value": None}]
    if crit is not None:
        steps.append({"color": "orange" if warn is not None else "green", "value": crit})
    if warn is not None:
        steps.append({"color": "green", "value": warn})
    return steps


def outside_is_bad(low: float, high: float) -> list[dict[str, Any]]:
    """A fair range: red below `low` and from `high` up, green inside."""
    return [
        {"color": "red", "value": None},
        {"color": "green", "value": low},
        {"color": "red", "value": high},
    ]


def neutral() -> list[dict[str, Any]]:
    """No meaningful threshold: one base step."""
    return [{"color": "green", "value": None}]


def state_mapping(states: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    """Value mappings {0: ("OK", "green"), 1: ("Drift", "red")} for stat/state-timeline/table."""
    return [
        {
            "type": "value",
            "options": {
                str(value): {"text": text, "color": color, "index": index}
                for index, (value, (text, color)) in enumerate(sorted(states.items()))
            },
        }
    ]


OK_BAD = state_mapping({0: ("OK", "green"), 1: ("ALERT", "red")})

# ---------------------------------------------------------------------------------------------
# targets


#: grafanalib Target attributes with no meaning for a Prometheus query on Grafana 11, and their
#: defaults: setting one is an error, not a silently dropped value.
_LEGACY_TARGET_ATTRS = {"metric": "", "target": "", "step": 10, "intervalFactor": 2}


@attr.s
class PromTarget(Target):
    """A Prometheus query as Grafana 11 saves it (no legacy `step`/`intervalFactor`/`target`)."""

    def to_json_data(self) -> dict[str, Any]:
        for name, default in _LEGACY_TARGET_ATTRS.items():
            if getattr(self, name) != default:
                raise ValueError(f"query {self.expr!r}: `{name}` is a legacy grafanalib setting "
                                 "Grafana 11 ignores for Prometheus; remove it")
        data: dict[str, Any] = {
            "datasource": self.datasource or DATASOURCE,
            "editorMode": "code",
            "expr": self.expr,
            "format": self.format,
            "instant": self.instant,
            "legendFormat": self.legendFormat,
            "range": not self.instant,
            "refId": self.refId,
        }
        if self.interval:
            data["interval"] = self.interval
        if self.hide:
            data["hide"] = True
        return data


def q(expr: str, legend: str = "", *, instant: bool = False, fmt: str = "time_series") -> PromTarget:
    """One query. `legend` uses Grafana's `{{label}}` templates."""
    return PromTarget(expr=expr, legendFormat=legend, instant=instant, format=fmt)


def table_q(expr: str) -> PromTarget:
    """An instant query in table format (one row per series, labels as columns)."""
    return q(expr, instant=True, fmt="table")


# ---------------------------------------------------------------------------------------------
# the panel class


#: grafanalib Panel attributes of Grafana 5's layout and editor, with their defaults: Grafana 11
#: ignores them, so setting one is an error rather than a silently dropped value.
_LEGACY_PANEL_ATTRS = {"editable": True, "error": False, "height": None, "minSpan": None,
                       "span": None}


@attr.s
class ModernPanel(Panel):
    """A panel emitted in Grafana 11's shape; `kind` is the panel plugin id."""

    kind: str = attr.ib(default="timeseries")
    unit: str = attr.ib(default="")
    steps: list = attr.ib(factory=neutral)
    mappings: list = attr.ib(factory=list)
    min: float | None = attr.ib(default=None)
    max: float | None = attr.ib(default=None)
    decimals: int | None = attr.ib(default=None)
    color: dict = attr.ib(factory=lambda: {"mode": "palette-classic"})
    custom: dict = attr.ib(factory=dict)
    overrides: list = attr.ib(factory=list)
    options: dict = attr.ib(factory=dict)
    noValue: str | None = attr.ib(default=None)

    def to_json_data(self) -> dict[str, Any]:
        """grafanalib's own panel JSON (every inherited field: repeat, timeFrom, transparent,
        maxDataPoints, extraJson, ...) with the modern fieldConfig, options and targets on top."""
        for name, default in _LEGACY_PANEL_ATTRS.items():
            if getattr(self, name) != default:
                raise ValueError(f"panel {self.title!r}: `{name}` is a Grafana 5 setting with no "
                                 "effect on Grafana 11's grid; use w=/h= (gridPos) instead")
        if self.thresholds:
            raise ValueError(f"panel {self.title!r}: give thresholds as steps=[...], "
                             "not grafanalib's thresholds=")
        defaults: dict[str, Any] = {
            "color": self.color,
            "custom": self.custom,
            "mappings": self.mappings,
            "thresholds": {"mode": self.thresholdType, "steps": self.steps},
            "unit": self.unit,
        }
        for key in ("min", "max", "decimals", "noValue"):
            value = getattr(self, key)
            if value is not None:
                defaults[key] = value
        targets = []
        for index, target in enumerate(self.targets):
            if not target.refId:
                target = attr.evolve(target, refId=chr(ord("A") + index))
            targets.append(target)
        data = self.panel_json({
            "datasource": self.dataSource or DATASOURCE,
            "fieldConfig": {"defaults": defaults, "overrides": self.overrides},
            "options": self.options,
            "targets": targets,
            "type": self.kind,
        })
        for name in _LEGACY_PANEL_ATTRS:
            data.pop(name, None)
        return data


@attr.s
class Row(Panel):
    """A section header (expanded row); the panels under it follow it at the top level."""

    def to_json_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "collapsed": False,
            "gridPos": self.gridPos,
            "panels": [],
            "title": self.title,
            "type": "row",
        }
        if self.id is not None:
            data["id"] = self.id
        if self.repeat.variable:
            data["repeat"] = self.repeat.variable
        return data


def _grid(w: int, h: int) -> GridPos:
    return GridPos(h=h, w=w, x=0, y=0)  # x/y are set by layout.section


def _legend(placement: str = "bottom", table: bool = False, calcs: Sequence[str] = ()) -> dict:
    return {
        "calcs": list(calcs),
        "displayMode": "table" if table else "list",
        "placement": placement,
        "showLegend": True,
    }


_REDUCE_LAST = {"calcs": ["lastNotNull"], "fields": "", "values": False}

# ---------------------------------------------------------------------------------------------
# factories: one per visualisation, all with title, description, unit and thresholds


def timeseries(
    title: str,
    description: str,
    targets: Sequence[PromTarget],
    *,
    unit: str,
    steps: list | None = None,
    min: float | None = None,
    max: float | None = None,
    stack: bool = False,
    bars: bool = False,
    fill: int = 10,
    show_thresholds: bool | None = None,
    log: bool = False,
    legend_calcs: Sequence[str] = ("lastNotNull", "max"),
    overrides: Sequence[dict] = (),
    points: int | None = None,
    not_judged: str | None = None,
    w: int = 12,
    h: int = 8,
) -> ModernPanel:
    """A time series; thresholds (when given) are drawn as dashed lines. `points` caps the
    points per line (Grafana's maxDataPoints: the query step is at least range / points).

    `not_judged`: where the steps bound one statistic of several (an SLO on p95 among p50-p99),
    the pattern of the series they do not judge (Grafana `byRegexp` on the legend, anchored):
    those get an override without red. Grafana draws one set of threshold lines per axis, the
    first series' (UPlotConfigBuilder.addThresholds), so the first query must be a judged one.
    """
    extra: dict[str, Any] = {} if points is None else {"maxDataPoints": points}
    steps = steps or neutral()
    overrides = list(overrides)
    if not_judged is not None:
        first = re.sub(r"\{\{\s*\w+\s*\}\}", "", targets[0].legendFormat or "")
        if re.fullmatch(not_judged, first):
            raise ValueError(f"panel {title!r}: the first query ({first!r}) draws the threshold "
                             f"lines, so the thresholds must judge it (not_judged={not_judged!r})")
        overrides.append({"matcher": {"id": "byRegexp", "options": not_judged},
                          "properties": [{"id": "thresholds", "value": {
                              "mode": "absolute", "steps": neutral()}}]})
    draw_thresholds = len(steps) > 1 if show_thresholds is None else show_thresholds
    custom: dict[str, Any] = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 80 if bars else fill,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "dashed" if draw_thresholds else "off"},
    }
    if log:
        custom["scaleDistribution"] = {"log": 10, "type": "log"}
    return ModernPanel(
        kind="timeseries",
        title=title,
        description=description,
        targets=list(targets),
        unit=unit,
        steps=steps,
        min=min,
        max=max,
        custom=custom,
        overrides=overrides,
        options={
            "legend": _legend(table=bool(legend_calcs), calcs=legend_calcs),
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        gridPos=_grid(w, h),
        **extra,
    )


def stat(
    title: str,
    description: str,
    targets: Sequence[PromTarget],
    *,
    unit: str,
    steps: list | None = None,
    mappings: Sequence[dict] = (),
    decimals: int | None = None,
    graph: bool = True,
    text_mode: str = "auto",
    no_value: str | None = None,
    w: int = 6,
    h: int = 5,
) -> ModernPanel:
    """A big number (one per series), coloured by thresholds.

    Without a sparkline (`graph=False`) only the last value is shown, so the queries run as
    instant queries: one sample per series instead of a range (docs/benchmarks.md).
    """
    if not graph:
        targets = [attr.evolve(t, instant=True) for t in targets]
    return ModernPanel(
        kind="stat",
        title=title,
        description=description,
        targets=list(targets),
        unit=unit,
        steps=steps or neutral(),
        mappings=list(mappings),
        decimals=decimals,
        color={"mode": "thresholds"},
        noValue=no_value,
        options={
            "colorMode": "background" if mappings else "value",
            "graphMode": "area" if graph else "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "percentChangeColorMode": "standard",
            "reduceOptions": _REDUCE_LAST,
            "showPercentChange": False,
            "textMode": text_mode,
            "wideLayout": True,
        },
        gridPos=_grid(w, h),
    )


def gauge(
    title: str,
    description: str,
    targets: Sequence[PromTarget],
    *,
    unit: str,
    steps: list,
    min: float = 0,
    max: float = 1,
    w: int = 6,
    h: int = 6,
) -> ModernPanel:
    return ModernPanel(
        kind="gauge",
        title=title,
        description=description,
        targets=list(targets),
        unit=unit,
        steps=steps,
        min=min,
        max=max,
        color={"mode": "thresholds"},
        options={
            "minVizHeight": 75,
            "minVizWidth": 75,
            "orientation": "auto",
            "reduceOptions": _REDUCE_LAST,
            "showThresholdLabels": False,
            "showThresholdMarkers": True,
            "sizing": "auto",
        },
        gridPos=_grid(w, h),
    )


def bargauge(
    title: str,
    description: str,
    targets: Sequence[PromTarget],
    *,
    unit: str,
    steps: list,
    min: float | None = 0,
    max: float | None = None,
    w: int = 12,
    h: int = 8,
) -> ModernPanel:
    """Horizontal bars, one per series (e.g. one per feature), coloured by thresholds."""
    return ModernPanel(
        kind="bargauge",
        title=title,
        description=description,
        targets=list(targets),
        unit=unit,
        steps=steps,
        min=min,
        max=max,
        color={"mode": "thresholds"},
        options={
            "displayMode": "gradient",
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom",
                       "showLegend": False},
            "maxVizHeight": 300,
            "minVizHeight": 16,
            "minVizWidth": 8,
            "namePlacement": "auto",
            "orientation": "horizontal",
            "reduceOptions": _REDUCE_LAST,
            "showUnfilled": True,
            "sizing": "auto",
            "valueMode": "color",
        },
        gridPos=_grid(w, h),
    )


def table(
    title: str,
    description: str,
    targets: Sequence[PromTarget],
    *,
    unit: str,
    merge: bool = True,
    hide: Sequence[str] = ("Time",),
    rename: dict[str, str] | None = None,
    sort_by: str | None = None,
    sort_desc: bool = True,
    steps: list | None = None,
    w: int = 24,
    h: int = 8,
) -> ModernPanel:
    """Instant queries in table format, merged into one row per label set.

    `hide` drops columns (e.g. Time, Value, job). No per-column overrides: the Grafana 11.4
    schema types override values as objects, so one unit and one set of thresholds per table.
    """
    transformations: list[dict[str, Any]] = []
    if merge:
        transformations.append({"id": "merge", "options": {}})
    transformations.append({
        "id": "organize",
        "options": {
            "excludeByName": {name: True for name in hide},
            "indexByName": {},
            "renameByName": dict(rename or {}),
        },
    })
    options: dict[str, Any] = {"cellHeight": "sm", "frameIndex": 0, "showHeader": True}
    if sort_by:
        options["sortBy"] = [{"desc": sort_desc, "displayName": sort_by}]
    return ModernPanel(
        kind="table",
        title=title,
        description=description,
        targets=list(targets),
        unit=unit,
        steps=steps or neutral(),
        color={"mode": "thresholds"},
        custom={"align": "auto", "filterable": False},
        options=options,
        transformations=transformations,
        gridPos=_grid(w, h),
    )


def heatmap(
    title: str,
    description: str,
    target: PromTarget,
    *,
    unit: str,
    w: int = 12,
    h: int = 8,
) -> ModernPanel:
    """A heatmap of a Prometheus histogram: `sum by (le) (increase(x_bucket[...]))`, format heatmap."""
    target = attr.evolve(target, format="heatmap", legendFormat=target.legendFormat or "{{le}}")
    return ModernPanel(
        kind="heatmap",
        title=title,
        description=description,
        targets=[target],
        unit=unit,
        color={"mode": "thresholds"},
        custom={"hideFrom": {"legend": False, "tooltip": False, "viz": False},
                "scaleDistribution": {"type": "linear"}},
        options={
            "calculate": False,
            "cellGap": 1,
            "color": {"exponent": 0.5, "fill": "dark-orange", "mode": "scheme",
                      "reverse": False, "scale": "exponential", "scheme": "Oranges",
                      "steps": 64},
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "showValue": "never",
            "tooltip": {"mode": "single", "showColorScale": False, "yHistogram": False},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": unit},
        },
        gridPos=_grid(w, h),
    )


def state_timeline(
    title: str,
    description: str,
    targets: Sequence[PromTarget],
    *,
    mappings: Sequence[dict],
    steps: list,
    unit: str = "none",
    w: int = 24,
    h: int = 6,
) -> ModernPanel:
    """States over time, one lane per series (e.g. drift detected yes/no per model)."""
    return ModernPanel(
        kind="state-timeline",
        title=title,
        description=description,
        targets=list(targets),
        unit=unit,
        steps=steps,
        mappings=list(mappings),
        color={"mode": "thresholds"},
        custom={"fillOpacity": 70, "lineWidth": 0},
        options={
            "alignValue": "left",
            "legend": _legend(),
            "mergeValues": True,
            "rowHeight": 0.9,
            "showValue": "auto",
            "tooltip": {"mode": "single", "sort": "none"},
        },
        gridPos=_grid(w, h),
    )


def drill_down(uid: str, title: str) -> dict[str, Any]:
    """A panel link to a detail dashboard, keeping the time range and the selected models."""
    return {
        "asDropdown": False,
        "icon": "dashboard",
        "includeVars": True,
        "keepTime": True,
        "tags": [],
        "targetBlank": False,
        "title": title,
        "tooltip": f"Open {title}",
        "type": "link",
        "url": f"/d/{uid}?${{__url_time_range}}&${{model:queryparam}}",
    }


def with_links(panel: ModernPanel, *links: dict[str, Any]) -> ModernPanel:
    return attr.evolve(panel, links=list(links))

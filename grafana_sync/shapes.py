"""Read every shape a Grafana dashboard comes in as the classic JSON model (grafana_sync.model).

- classic JSON (`panels`, schemaVersion >= 16): returned as is;
- legacy `rows` (schemaVersion < 16, Grafana <= 4): each row's panels are laid out on the grid as
  Grafana's own schema-16 migration does (a row panel per row when any row shows a title, is
  collapsed or repeats; `span` 1-12 -> width 2-24; heights from pixels);
- Kubernetes-shaped resources (`apiVersion`/`kind`/`metadata`/`spec`): v0/v1 (`spec` is the
  classic model, `metadata.name` the uid) and v2 (`elements` + `layout`: GridLayout, RowsLayout,
  AutoGridLayout, TabsLayout and v2alpha1's GridLayoutRow), with variables, annotations, links and
  time settings mapped back to their classic names.

`classic(data, name)` raises a one-line ConfigError naming `name` for anything else.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from grafana_sync.errors import ConfigError
from grafana_sync.model import DEFAULT_PANEL_H, GRID_WIDTH, ROW_TYPE

#: Grafana's legacy grid: 12 spans, rows 250px high, grid cells 30px + 8px margin.
LEGACY_SPANS = 12
LEGACY_DEFAULT_SPAN = 4
LEGACY_ROW_HEIGHT_PX = 250
GRID_CELL_PX = 38


def is_kubernetes(data: Mapping[str, Any]) -> bool:
    return isinstance(data.get("spec"), dict) and ("apiVersion" in data or "kind" in data)


def classic(data: Any, name: str = "dashboard", *, strict: bool = True) -> dict[str, Any]:
    """The classic dashboard JSON for `data` (see module doc); `data` is never modified.

    With `strict`, an object with neither panels, legacy rows nor a uid is not a dashboard.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: not a Grafana dashboard (expected a JSON object, got "
                          f"{type(data).__name__})")
    if is_kubernetes(data):
        data = _from_kubernetes(data, name)
    elif "elements" in data and "layout" in data and "panels" not in data:
        data = _from_v2(data, name)  # a bare v2 spec (e.g. the foundation SDK's v2 builder)
    elif isinstance(data.get("dashboard"), dict) and "meta" in data:
        data = data["dashboard"]  # GET /api/dashboards/uid/:uid answer
    panels = data.get("panels")
    rows = data.get("rows")
    if panels is not None and not isinstance(panels, list):
        raise ConfigError(f"{name}: not a Grafana dashboard (`panels` is a "
                          f"{type(panels).__name__}, expected a list)")
    if rows is not None and not isinstance(rows, list):
        raise ConfigError(f"{name}: not a Grafana dashboard (`rows` is a "
                          f"{type(rows).__name__}, expected a list)")
    if strict and panels is None and rows is None and "uid" not in data:
        raise ConfigError(f"{name}: not a Grafana dashboard (expected an object with uid and "
                          "panels, legacy rows, or a Kubernetes-style apiVersion/kind/spec)")
    if rows:
        data = _from_legacy_rows(data)
    return data


# ---------------------------------------------------------------------------------------------
# legacy rows
# ---------------------------------------------------------------------------------------------


def _grid_height(px: Any, default: int) -> int:
    if isinstance(px, str):
        px = px.strip().removesuffix("px")
        try:
            px = float(px)
        except ValueError:
            return default
    if isinstance(px, (int, float)) and not isinstance(px, bool) and px > 0:
        return max(1, math.ceil(px / GRID_CELL_PX))
    return default


def _max_id(panels: list[Any]) -> int:
    ids = [p.get("id") for p in panels if isinstance(p, dict)]
    return max((i for i in ids if isinstance(i, int) and not isinstance(i, bool)), default=0)


def _from_legacy_rows(data: Mapping[str, Any]) -> dict[str, Any]:
    dash = copy.deepcopy(dict(data))
    rows = [r for r in dash.pop("rows") if isinstance(r, dict)]
    panels: list[Any] = list(dash.get("panels") or [])
    legacy_panels = [p for r in rows for p in (r.get("panels") or [])]
    next_id = max(_max_id(panels), _max_id(legacy_panels)) + 1
    show_rows = any(r.get("collapse") or r.get("showTitle") or r.get("repeat") for r in rows)
    y = max((p["gridPos"].get("y", 0) + p["gridPos"].get("h", 0) for p in panels
             if isinstance(p, dict) and isinstance(p.get("gridPos"), dict)), default=0)
    width_factor = GRID_WIDTH // LEGACY_SPANS
    for row in rows:
        row_h = _grid_height(row.get("height", LEGACY_ROW_HEIGHT_PX), DEFAULT_PANEL_H)
        row_panel: dict[str, Any] | None = None
        if show_rows:
            row_panel = {"type": ROW_TYPE, "title": str(row.get("title") or ""), "id": next_id,
                         "collapsed": bool(row.get("collapse")), "panels": [],
                         "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}}
            if row.get("repeat"):
                row_panel["repeat"] = row["repeat"]
            next_id += 1
            panels.append(row_panel)
            y += 1
        x, line_h, top = 0, 0, y
        for panel in row.get("panels") or []:
            if not isinstance(panel, dict):
                continue
            span = panel.pop("span", None)
            span = span if isinstance(span, (int, float)) and not isinstance(span, bool) else \
                LEGACY_DEFAULT_SPAN
            w = min(GRID_WIDTH, max(1, int(math.floor(span)) * width_factor))
            h = _grid_height(panel.pop("height", None), row_h)
            if x + w > GRID_WIDTH:
                top, x, line_h = top + line_h, 0, 0
            panel["gridPos"] = {"h": h, "w": w, "x": x, "y": top}
            x, line_h = x + w, max(line_h, h)
            if row_panel is not None and row_panel["collapsed"]:
                row_panel["panels"].append(panel)
            else:
                panels.append(panel)
        if not (row_panel is not None and row_panel["collapsed"]):
            y = top + max(line_h, row_h if row.get("panels") else 0)
    dash["panels"] = panels
    return dash


# ---------------------------------------------------------------------------------------------
# Kubernetes-shaped dashboards
# ---------------------------------------------------------------------------------------------


def _from_kubernetes(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    kind = data.get("kind")
    if kind not in (None, "Dashboard"):
        raise ConfigError(f"{name}: a Kubernetes-style {kind!r} resource, not a Dashboard")
    spec = data["spec"]
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    api_version = str(data.get("apiVersion") or "")
    if "elements" in spec or "layout" in spec or "/v2" in api_version:
        dash = _from_v2(spec, name)
    else:
        dash = copy.deepcopy(dict(spec))
    uid = metadata.get("name")
    if isinstance(uid, str) and uid:
        dash["uid"] = uid
    return dash


_CURSOR_SYNC = {"Off": 0, "Crosshair": 1, "Tooltip": 2}
_VARIABLE_TYPES = {
    "QueryVariable": "query", "DatasourceVariable": "datasource", "CustomVariable": "custom",
    "ConstantVariable": "constant", "IntervalVariable": "interval", "TextVariable": "textbox",
    "AdhocVariable": "adhoc", "GroupByVariable": "groupby", "SwitchVariable": "switch",
}
_HIDE = {"dontHide": 0, "hideLabel": 1, "hideVariable": 2, "inControlsMenu": 3}
_REFRESH = {"never": 0, "onDashboardLoad": 1, "onTimeRangeChanged": 2}
_SORT = {"disabled": 0, "alphabeticalAsc": 1, "alphabeticalDesc": 2, "numericalAsc": 3,
         "numericalDesc": 4, "alphabeticalCaseInsensitiveAsc": 5,
         "alphabeticalCaseInsensitiveDesc": 6, "naturalAsc": 7, "naturalDesc": 8}


def _spec(obj: Any) -> dict[str, Any]:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return spec if isinstance(spec, dict) else {}


def _query(query: Any, datasource: Any = None) -> tuple[dict[str, Any], dict[str, str] | None]:
    """A v2 query (`{kind: "prometheus", spec}` or v2beta1 `{kind: "DataQuery", group, datasource,
    spec}`) -> (its classic fields, its datasource ref)."""
    if not isinstance(query, dict):
        return {}, datasource if isinstance(datasource, dict) else None
    body = dict(_spec(query))
    ref: dict[str, str] | None = dict(datasource) if isinstance(datasource, dict) else None
    if query.get("kind") == "DataQuery":
        kind = query.get("group")
        ds = query.get("datasource")
        uid = ds.get("name") if isinstance(ds, dict) else None
        if uid or kind:
            ref = {k: v for k, v in (("type", kind), ("uid", uid)) if isinstance(v, str) and v}
    elif isinstance(query.get("kind"), str) and ref is None:
        ref = {"type": query["kind"]}
    elif isinstance(query.get("kind"), str) and ref is not None and "type" not in ref:
        ref["type"] = query["kind"]
    return body, ref


def _variable(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    spec = copy.deepcopy(_spec(item))
    var: dict[str, Any] = {"type": _VARIABLE_TYPES.get(str(item.get("kind")), str(item.get("kind")))}
    for key, value in spec.items():
        if key == "hide":
            var["hide"] = _HIDE.get(value, value)
        elif key == "refresh":
            var["refresh"] = _REFRESH.get(value, value)
        elif key == "sort":
            var["sort"] = _SORT.get(value, value)
        elif key == "pluginId":
            var["query"] = value
        elif key == "query" and isinstance(value, dict):
            body, ref = _query(value, spec.get("datasource"))
            var["query"] = body.get("query", body.get("expr", body)) if body else ""
            if ref:
                var["datasource"] = ref
        elif key == "datasource" and "query" in spec and isinstance(spec["query"], dict):
            continue  # folded into the query's datasource above
        else:
            var[key] = value
    return var


def _annotation(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    spec = copy.deepcopy(_spec(item))
    query = spec.pop("query", None)
    datasource = spec.pop("datasource", None)
    body, ref = _query(query, datasource)
    ann = {**body, **spec}
    if ref:
        ann["datasource"] = ref
    return ann


def _panel(element: Any, element_name: str) -> dict[str, Any]:
    spec = copy.deepcopy(_spec(element))
    if element.get("kind") == "LibraryPanel":
        out = {"id": spec.get("id"), "title": spec.get("title", element_name),
               "libraryPanel": spec.get("libraryPanel", {})}
        return {k: v for k, v in out.items() if v is not None}
    panel: dict[str, Any] = {}
    for key in ("id", "title", "description", "links", "transparent"):
        if key in spec:
            panel[key] = spec[key]
    viz = spec.get("vizConfig") if isinstance(spec.get("vizConfig"), dict) else {}
    viz_spec = _spec(viz)
    panel["type"] = viz.get("group") if viz.get("kind") == "VizConfig" else viz.get("kind")
    for key in ("options", "fieldConfig", "pluginVersion"):
        if key in viz_spec:
            panel[key] = viz_spec[key]
    if viz.get("version") and "pluginVersion" not in panel:
        panel["pluginVersion"] = viz["version"]
    data = _spec(spec.get("data"))
    targets = []
    panel_ds: dict[str, str] | None = None
    for query in data.get("queries") or []:
        qspec = _spec(query)
        body, ref = _query(qspec.get("query"), qspec.get("datasource"))
        target = {**body, "refId": qspec.get("refId", body.get("refId"))}
        if qspec.get("hidden"):
            target["hide"] = True
        if ref:
            target["datasource"] = ref
            panel_ds = panel_ds or ref
        targets.append({k: v for k, v in target.items() if v is not None})
    if targets:
        panel["targets"] = targets
    if panel_ds:
        panel["datasource"] = panel_ds
    transformations = [dict(_spec(t)) for t in data.get("transformations") or []]
    if transformations:
        panel["transformations"] = transformations
    options = data.get("queryOptions") if isinstance(data.get("queryOptions"), dict) else {}
    panel.update(options)
    return panel


def _grid_items(layout: Any, elements: Mapping[str, Any], y0: int, name: str
                ) -> tuple[list[dict[str, Any]], int]:
    """Panels of one layout placed from row y0; returns (panels, next free y)."""
    kind = layout.get("kind") if isinstance(layout, dict) else None
    spec = _spec(layout)
    out: list[dict[str, Any]] = []
    bottom = y0
    if kind == "GridLayout":
        for item in spec.get("items") or []:
            ispec = _spec(item)
            if item.get("kind") == "GridLayoutRow":  # v2alpha1: rows inside the grid
                row = {"type": ROW_TYPE, "title": ispec.get("title", ""),
                       "collapsed": bool(ispec.get("collapsed")),
                       "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y0 + int(ispec.get("y", 0))},
                       "panels": []}
                children, _ = _grid_items({"kind": "GridLayout",
                                           "spec": {"items": ispec.get("elements") or []}},
                                          elements, y0, name)
                if row["collapsed"]:
                    row["panels"] = children
                    out.append(row)
                else:
                    out.extend([row, *children])
                bottom = max([bottom, row["gridPos"]["y"] + 1]
                             + [c["gridPos"]["y"] + c["gridPos"]["h"] for c in children])
                continue
            panel = _element(ispec.get("element"), elements, name)
            pos = {"h": int(ispec.get("height", DEFAULT_PANEL_H)), "w": int(ispec.get("width", 12)),
                   "x": int(ispec.get("x", 0)), "y": y0 + int(ispec.get("y", 0))}
            panel["gridPos"] = pos
            if ispec.get("repeat"):
                repeat = _spec(ispec["repeat"]) or ispec["repeat"]
                if isinstance(repeat, dict) and repeat.get("value"):
                    panel["repeat"] = repeat["value"]
                    if repeat.get("direction"):
                        panel["repeatDirection"] = "h" if repeat["direction"] == "h" else "v"
            out.append(panel)
            bottom = max(bottom, pos["y"] + pos["h"])
        return out, bottom
    if kind == "AutoGridLayout":
        columns = int(spec.get("maxColumnCount") or 3)
        w = max(1, GRID_WIDTH // max(1, columns))
        h = DEFAULT_PANEL_H
        for i, item in enumerate(spec.get("items") or []):
            panel = _element(_spec(item).get("element"), elements, name)
            panel["gridPos"] = {"h": h, "w": w, "x": (i % columns) * w, "y": y0 + (i // columns) * h}
            out.append(panel)
            bottom = max(bottom, panel["gridPos"]["y"] + h)
        return out, bottom
    if kind in ("RowsLayout", "TabsLayout"):
        items = spec.get("rows") if kind == "RowsLayout" else spec.get("tabs")
        y = y0
        for item in items or []:
            ispec = _spec(item)
            collapsed = bool(ispec.get("collapse")) if kind == "RowsLayout" else False
            row = {"type": ROW_TYPE, "title": ispec.get("title", ""), "collapsed": collapsed,
                   "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}, "panels": []}
            children, bottom = _grid_items(ispec.get("layout"), elements, y + 1, name)
            if collapsed:
                row["panels"] = children
                out.append(row)
                y += 1
            else:
                out.extend([row, *children])
                y = max(bottom, y + 1)
        return out, y
    if layout is None:
        return out, bottom
    raise ConfigError(f"{name}: unknown v2 dashboard layout kind {kind!r}")


def _element(ref: Any, elements: Mapping[str, Any], name: str) -> dict[str, Any]:
    element_name = ref.get("name") if isinstance(ref, dict) else None
    element = elements.get(element_name) if isinstance(element_name, str) else None
    if not isinstance(element, dict):
        raise ConfigError(f"{name}: layout references element {element_name!r}, which "
                          "`elements` does not define")
    return _panel(element, element_name)


def _from_v2(spec: Mapping[str, Any], name: str) -> dict[str, Any]:
    elements = spec.get("elements") if isinstance(spec.get("elements"), dict) else {}
    panels, _ = _grid_items(spec.get("layout"), elements, 0, name)
    ids = {p.get("id") for p in panels if isinstance(p.get("id"), int)}
    next_id = max(ids, default=0) + 1
    for panel in panels:  # v2 element ids are optional: number the rest in layout order
        if not isinstance(panel.get("id"), int):
            panel["id"] = next_id
            next_id += 1
    dash: dict[str, Any] = {"panels": panels}
    for key in ("title", "description", "tags", "editable", "liveNow", "preload", "links",
                "revision"):
        if key in spec:
            dash[key] = copy.deepcopy(spec[key])
    if spec.get("cursorSync") in _CURSOR_SYNC:
        dash["graphTooltip"] = _CURSOR_SYNC[spec["cursorSync"]]
    time = spec.get("timeSettings") if isinstance(spec.get("timeSettings"), dict) else {}
    if "from" in time or "to" in time:
        dash["time"] = {"from": time.get("from", "now-6h"), "to": time.get("to", "now")}
    for src, dst in (("timezone", "timezone"), ("autoRefresh", "refresh"),
                     ("fiscalYearStartMonth", "fiscalYearStartMonth"), ("weekStart", "weekStart")):
        if src in time:
            dash[dst] = time[src]
    picker = {dst: time[src] for src, dst in (("autoRefreshIntervals", "refresh_intervals"),
                                              ("hideTimepicker", "hidden"),
                                              ("nowDelay", "nowDelay")) if src in time}
    if picker:
        dash["timepicker"] = picker
    variables = [v for v in map(_variable, spec.get("variables") or []) if v]
    dash["templating"] = {"list": variables}
    annotations = [a for a in map(_annotation, spec.get("annotations") or []) if a]
    dash["annotations"] = {"list": annotations}
    return dash

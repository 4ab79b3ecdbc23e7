"""Read a dashboard in any shape Grafana uses as the classic JSON model, and say what changed.

Shapes: classic JSON; the GET /api/dashboards/uid answer (`{"dashboard": ..., "meta": ...}`);
Kubernetes-shaped resources (`apiVersion`/`kind`/`metadata`/`spec`); legacy `rows` dashboards
(laid out on the grid as Grafana's schema-16 migration does). The engine's reader
(`grafana_sync.shapes.classic`) is used when present; this module adds the per-shape notes.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from grafana_sync.errors import ConfigError

EXPORT_KEYS = ("__inputs", "__elements", "__requires")


def load_classic(data: Any, name: str) -> tuple[dict[str, Any], list[str]]:
    """(classic dashboard dict, notes on the shape conversion) for any supported shape."""
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: not a Grafana dashboard (expected a JSON object, got "
                          f"{type(data).__name__})")
    notes: list[str] = []
    if isinstance(data.get("spec"), dict) and ("apiVersion" in data or "kind" in data):
        notes.append(f"{name}: Kubernetes-shaped {data.get('apiVersion', '')} {data.get('kind', '')} "
                     "resource: imported from its spec (metadata.name is the uid)")
    if isinstance(data.get("rows"), list) and data["rows"]:
        notes.append(f"{name}: legacy rows: laid out on the grid as Grafana's schema-16 migration does "
                     "(row panels, span -> width, height -> grid rows)")
    for key in EXPORT_KEYS:
        if key in data:
            notes.append(f"{name}: {key}: export-only section, not part of the dashboard; not carried")
    dash = _classic(data, name)
    return copy.deepcopy(dash), notes


def _classic(data: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        from grafana_sync.shapes import classic  # the engine's reader, when it has one
    except ImportError:
        return _fallback_classic(data, name)
    return classic(data, name)


# --- fallback while the engine has no shape reader (kept minimal: v0/v1 resources, rows) ------

GRID_WIDTH = 24
_CELL_PX = 38  # 30px grid cell + 8px margin


def _fallback_classic(data: dict[str, Any], name: str) -> dict[str, Any]:
    if isinstance(data.get("spec"), dict) and ("apiVersion" in data or "kind" in data):
        if data.get("kind") not in (None, "Dashboard"):
            raise ConfigError(f"{name}: a Kubernetes-style {data.get('kind')!r} resource, not a Dashboard")
        spec = data["spec"]
        if "elements" in spec or "layout" in spec:
            raise ConfigError(f"{name}: v2 (elements/layout) dashboards need a newer grafana-sync")
        dash = copy.deepcopy(spec)
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        if isinstance(meta.get("name"), str) and meta["name"]:
            dash["uid"] = meta["name"]
        data = dash
    elif isinstance(data.get("dashboard"), dict) and "meta" in data:
        data = data["dashboard"]
    if not isinstance(data.get("panels", []), list) or not isinstance(data.get("rows", []), list):
        raise ConfigError(f"{name}: not a Grafana dashboard (`panels`/`rows` must be lists)")
    if data.get("rows"):
        data = _rows_to_panels(data)
    return data


def _grid_h(px: Any, default: int) -> int:
    if isinstance(px, str):
        try:
            px = float(px.strip().removesuffix("px"))
        except ValueError:
            return default
    if isinstance(px, (int, float)) and not isinstance(px, bool) and px > 0:
        return max(1, math.ceil(px / _CELL_PX))
    return default


def _rows_to_panels(data: dict[str, Any]) -> dict[str, Any]:
    dash = copy.deepcopy(data)
    rows = [r for r in dash.pop("rows") if isinstance(r, dict)]
    panels: list[Any] = list(dash.get("panels") or [])
    ids = [p.get("id") for r in rows for p in r.get("panels") or [] if isinstance(p, dict)]
    next_id = max([i for i in ids if isinstance(i, int)] + [0]) + 1
    show_rows = any(r.get("collapse") or r.get("showTitle") or r.get("repeat") for r in rows)
    y = 0
    for row in rows:
        row_h = _grid_h(row.get("height", 250), 8)
        row_panel = None
        if show_rows:
            row_panel = {"type": "row", "title": str(row.get("title") or ""), "id": next_id,
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
            span = span if isinstance(span, (int, float)) and not isinstance(span, bool) else 4
            w = min(GRID_WIDTH, max(1, int(math.floor(span)) * 2))
            h = _grid_h(panel.pop("height", None), row_h)
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

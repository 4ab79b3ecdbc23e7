"""Deterministic panel ids and gridPos on Grafana's 24-column grid."""

from __future__ import annotations

from typing import Any

from grafana_sync.errors import ConfigError
from grafana_sync.model import DEFAULT_PANEL_H, DEFAULT_PANEL_W, GRID_WIDTH, ROW_TYPE, iter_panels


def _describe(panel: dict[str, Any]) -> str:
    return f"panel {panel.get('title') or '(untitled)'!r}"


def assign_ids(panels: list[dict[str, Any]]) -> None:
    """Keep explicit unique ids; give every other panel the next free id in document order."""
    seen: set[int] = set()
    missing: list[dict[str, Any]] = []
    for panel in iter_panels(panels):
        pid = panel.get("id")
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and pid not in seen:
            seen.add(pid)
        else:
            missing.append(panel)
    next_id = 1
    for panel in missing:
        while next_id in seen:
            next_id += 1
        panel["id"] = next_id
        seen.add(next_id)


def _place(panels: list[dict[str, Any]], start_y: int, context: str) -> int:
    """Check explicit gridPos, flow-place the rest; return the next free y."""
    occupied: list[tuple[dict[str, Any], dict[str, int]]] = []
    cursor_x, cursor_y, row_h = 0, start_y, 0
    bottom = start_y
    for panel in panels:
        pos = panel.get("gridPos")
        is_row = panel.get("type") == ROW_TYPE
        if not isinstance(pos, dict) or not pos:
            w = GRID_WIDTH if is_row else DEFAULT_PANEL_W
            h = 1 if is_row else DEFAULT_PANEL_H
            if is_row or cursor_x + w > GRID_WIDTH:
                cursor_x, cursor_y, row_h = 0, max(bottom, cursor_y + row_h), 0
            pos = {"h": h, "w": w, "x": cursor_x, "y": cursor_y}
            panel["gridPos"] = pos
        else:
            pos = {k: int(pos.get(k, d)) for k, d in (("h", DEFAULT_PANEL_H), ("w", DEFAULT_PANEL_W),
                                                       ("x", 0), ("y", bottom))}
            panel["gridPos"] = pos
        if pos["w"] < 1 or pos["h"] < 1 or pos["x"] < 0 or pos["y"] < 0:
            raise ConfigError(f"{context}: {_describe(panel)} has an invalid gridPos {pos}")
        if pos["x"] + pos["w"] > GRID_WIDTH:
            raise ConfigError(
                f"{context}: {_describe(panel)} is wider than the grid "
                f"(x={pos['x']} + w={pos['w']} > {GRID_WIDTH})"
            )
        for other, opos in occupied:
            if (pos["x"] < opos["x"] + opos["w"] and opos["x"] < pos["x"] + pos["w"]
                    and pos["y"] < opos["y"] + opos["h"] and opos["y"] < pos["y"] + pos["h"]):
                raise ConfigError(f"{context}: {_describe(panel)} overlaps {_describe(other)} "
                                  f"(gridPos {pos} vs {opos})")
        occupied.append((panel, pos))
        cursor_x, cursor_y = pos["x"] + pos["w"], pos["y"]
        row_h = max(row_h if cursor_y == pos["y"] else 0, pos["h"])
        bottom = max(bottom, pos["y"] + pos["h"])
        if is_row and panel.get("collapsed") and panel.get("panels"):
            _place(panel["panels"], pos["y"] + 1, context)
    return bottom


def layout(dashboard: dict[str, Any], context: str) -> None:
    """Validate and complete gridPos (no overlaps, inside 24 columns), then assign panel ids."""
    _place(dashboard.get("panels", []), 0, context)
    assign_ids(dashboard.get("panels", []))

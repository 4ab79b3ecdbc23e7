"""Read a dashboard in any shape Grafana uses as the classic JSON model, and say what changed.

Shapes: classic JSON; the GET /api/dashboards/uid answer (`{"dashboard": ..., "meta": ...}`);
Kubernetes-shaped resources (`apiVersion`/`kind`/`metadata`/`spec`); legacy `rows` dashboards
(laid out on the grid as Grafana's schema-16 migration does). The engine's reader
(`grafana_sync.shapes.classic`) does the reading; this module adds the per-shape notes.
"""

from __future__ import annotations

import copy
from typing import Any

from grafana_sync.errors import ConfigError
from grafana_sync.shapes import classic

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
    for item in data.get("__inputs") or []:
        if isinstance(item, dict) and item.get("type") == "datasource" and item.get("name"):
            notes.append(f"{name}: __inputs: the dashboard refers to its {item.get('pluginId', '')} "
                         f"datasource as ${{{item['name']}}}, which Grafana's import dialog replaces; "
                         f"replace it in the module or add a datasource variable named {item['name']}")
    for key in EXPORT_KEYS:
        if key in data:
            notes.append(f"{name}: {key}: export-only section, not part of the dashboard; not carried")
    dash = _classic(data, name)
    return copy.deepcopy(dash), notes


def _classic(data: dict[str, Any], name: str) -> dict[str, Any]:
    return classic(data, name)

"""The queries a compiled dashboard issues on load, as Grafana would send them to Prometheus.

Step: Grafana's interval for a panel `max_data_points` pixels wide over the time range, rounded
with Grafana's `roundInterval` table, never below the datasource scrape interval (15 s) or the
panel's min interval. `$__rate_interval` = max($__interval + scrape interval, 4 × scrape interval).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grafana_sync.macros import duration_ms
from grafana_sync.model import iter_panels

SCRAPE_S = 15
PANEL_WIDTH_PX = 1500

# Grafana's kbn.roundInterval: (upper bound in ms, rounded interval in ms)
_ROUND = [(15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
          (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
          (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000),
          (1050000, 600000), (2100000, 900000), (4500000, 1800000), (9000000, 3600000),
          (16200000, 7200000), (32400000, 10800000), (86400000, 21600000),
          (604800000, 86400000), (1814400000, 604800000)]


def round_interval_ms(interval_ms: float) -> int:
    for bound, value in _ROUND:
        if interval_ms < bound:
            return value
    return 2592000000


def _fmt_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def panel_interval_s(range_s: int, max_data_points: int = PANEL_WIDTH_PX,
                     min_interval_s: int = SCRAPE_S) -> int:
    raw_ms = range_s * 1000 / max_data_points
    return max(min_interval_s, round_interval_ms(raw_ms) // 1000 or 1)


def rate_interval_s(interval_s: int, scrape_s: int = SCRAPE_S) -> int:
    return max(interval_s + scrape_s, 4 * scrape_s)


@dataclass(frozen=True)
class Query:
    panel: str  # panel title (or "annotation: <name>")
    ref_id: str
    expr: str  # as written in the dashboard (macros and variables not substituted)
    instant: bool
    min_interval_s: int
    max_data_points: int
    # a range query whose panel shows only the last value (stat/gauge/bargauge without a
    # sparkline, reducing with last/lastNotNull): the same picture comes from an instant query
    last_value_only: bool = False


def _min_interval(panel: dict[str, Any], target: dict[str, Any]) -> int:
    for value in (target.get("interval"), panel.get("interval")):
        if isinstance(value, str) and re.match(r"^>?\d+(ms|s|m|h|d)$", value):
            return max(SCRAPE_S, duration_ms(value.lstrip(">")) // 1000)
    return SCRAPE_S


_LAST_CALCS = {"last", "lastNotNull"}


def _last_value_only(panel: dict[str, Any]) -> bool:
    options = panel.get("options") or {}
    calcs = (options.get("reduceOptions") or {}).get("calcs") or ["lastNotNull"]
    if panel.get("type") not in ("stat", "gauge", "bargauge") or not set(calcs) <= _LAST_CALCS:
        return False
    return panel.get("type") != "stat" or options.get("graphMode") == "none"


def dashboard_queries(dash: dict[str, Any]) -> list[Query]:
    """Every Prometheus query of every panel (hidden targets skipped) and annotation."""
    queries: list[Query] = []
    for panel in iter_panels(dash):
        if panel.get("type") == "row":
            continue
        mdp = int(panel.get("maxDataPoints") or PANEL_WIDTH_PX)
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr or target.get("hide"):
                continue
            instant = bool(target.get("instant")) and not target.get("range", False)
            queries.append(Query(panel.get("title", "?"), target.get("refId", "A"), expr, instant,
                                 _min_interval(panel, target), mdp,
                                 not instant and _last_value_only(panel)))
    for ann in dash.get("annotations", {}).get("list", []):
        if ann.get("expr") and ann.get("enable", True):
            step = ann.get("step") or "60s"
            min_s = duration_ms(step) // 1000 if re.match(r"^\d+(s|m|h)$", step) else 60
            queries.append(Query(f"annotation: {ann.get('name', '?')}", "ann", ann["expr"], False,
                                 min_s, PANEL_WIDTH_PX))
    return queries


@dataclass(frozen=True)
class VariableQuery:
    name: str
    label: str
    match: str | None  # series selector for match[], None = all series


_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$", re.S)


def variable_queries(dash: dict[str, Any]) -> list[VariableQuery]:
    """`label_values(...)` query variables (what Grafana asks Prometheus for on load)."""
    out = []
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        match = _LABEL_VALUES.match(query or "")
        if match:
            out.append(VariableQuery(var["name"], match.group(2), match.group(1)))
    return out


def range_query_params(query: Query, expr: str, end: int, range_s: int) -> dict[str, str]:
    """The request Grafana's Prometheus datasource sends for one target (start/end aligned)."""
    step = panel_interval_s(range_s, query.max_data_points, query.min_interval_s)
    if query.instant:
        return {"query": expr, "time": str(end)}
    start = (end - range_s) // step * step
    return {"query": expr, "start": str(start), "end": str(end // step * step), "step": str(step)}


def macro_values(query: Query, range_s: int) -> dict[str, str]:
    step = panel_interval_s(range_s, query.max_data_points, query.min_interval_s)
    return {"interval": _fmt_duration(step), "rate_interval": _fmt_duration(rate_interval_s(step)),
            "range_": _fmt_duration(range_s)}

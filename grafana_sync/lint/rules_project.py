"""This project's own rules: identity, layout, modern panels, histogram and contract checks."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import promql_parser

from grafana_sync.lint import promql
from grafana_sync.lint.base import LintContext
from grafana_sync.lint.model import Dashboard, Issue, PanelRef
from grafana_sync.model import GRID_WIDTH as GRID_COLUMNS
from grafana_sync.uids import UID_RULE, is_valid_uid

# Panel types built on AngularJS, which Grafana 11 no longer loads (angular_support_enabled=false).
ANGULAR_PANEL_TYPES = {
    "graph": "timeseries",
    "singlestat": "stat",
    "grafana-singlestat-panel": "stat",
    "table-old": "table",
    "grafana-piechart-panel": "piechart",
    "grafana-worldmap-panel": "geomap",
    "natel-discrete-panel": "state-timeline",
    "flant-statusmap-panel": "status-history",
    "vonage-status-panel": "stat",
    "briangann-gauge-panel": "gauge",
    "michaeldmoore-annunciator-panel": "stat",
}
# Aggregations whose result is one series per group: used under histogram_quantile they must
# keep `le`, or the buckets are summed together and the quantile is meaningless.
GROUPING_AGGREGATIONS = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar"}


def dashboard_uid(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    uid = dash.raw.get("uid")
    if not isinstance(uid, str) or not uid:
        yield Issue("has no uid; set one so links, pushes and diffs keep their identity")
        return
    if not is_valid_uid(uid):
        yield Issue(f"uid {uid!r} must be {UID_RULE}")
    for other in ctx.dashboards:
        if other is dash:
            break
        if other.uid == uid:
            yield Issue(f"uid {uid!r} is also used by {other.display_path}")
            break


def _renumber(dash: Dashboard, panel: PanelRef) -> Callable[[], None]:
    """Give the panel the next id above every id in the dashboard (at fix time)."""

    def fix() -> None:
        ids = [p.raw.get("id") for p in dash.panels()]
        used = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
        panel.raw["id"] = max(used, default=0) + 1
    return fix


def panel_id(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    seen: dict[int, PanelRef] = {}
    for panel in dash.panels():
        pid = panel.id
        if pid is None:
            yield Issue("has no integer id", panel=panel, fix=_renumber(dash, panel))
        elif pid in seen:
            yield Issue(f"id {pid} is also used by panel {seen[pid].title!r}", panel=panel,
                        fix=_renumber(dash, panel))
        else:
            seen[pid] = panel


def _grid(panel: PanelRef) -> tuple[int, int, int, int] | str:
    pos = panel.raw.get("gridPos")
    if not isinstance(pos, dict):
        return "has no gridPos"
    values = []
    for key in ("x", "y", "w", "h"):
        value = pos.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            return f"gridPos.{key} is {value!r}, expected an integer"
        values.append(value)
    x, y, w, h = values
    if x < 0 or y < 0 or w < 1 or h < 1:
        return f"gridPos {pos} has a negative position or an empty size"
    if x + w > GRID_COLUMNS:
        return f"gridPos x={x} + w={w} goes past the {GRID_COLUMNS}-column grid"
    return x, y, w, h


def panel_gridpos(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    """Top-level panels share one grid; the panels of each collapsed row share another."""
    groups: dict[int | None, list[tuple[PanelRef, tuple[int, int, int, int]]]] = {}
    for panel in dash.panels():
        grid = _grid(panel)
        if isinstance(grid, str):
            yield Issue(grid, panel=panel)
            continue
        placed = groups.setdefault(panel.parent_row, [])
        x, y, w, h = grid
        for other, (ox, oy, ow, oh) in placed:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                name = f"{other.title!r}" + (f" (id {other.id})" if other.id is not None else "")
                yield Issue(f"gridPos overlaps panel {name}", panel=panel)
                break
        placed.append((panel, grid))


def panel_no_angular(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    for panel in dash.panels():
        if panel.type in ANGULAR_PANEL_TYPES:
            yield Issue(f"type {panel.type!r} is an Angular panel Grafana 11+ no longer renders; "
                        f"use {ANGULAR_PANEL_TYPES[panel.type]!r}", panel=panel)


def _keeps_le(node: Any) -> bool:
    modifier = node.modifier
    if modifier is None:
        return False  # sum(x) drops every label
    if modifier.type == promql_parser.AggModifierType.By:
        return "le" in modifier.labels
    return "le" not in modifier.labels


def _reads_buckets(node: Any) -> bool:
    for child, _ in promql.walk(node):
        if isinstance(child, promql_parser.VectorSelector):
            name = promql.selector_name(child) or ""
            if name.endswith("_bucket") or any(m.name == "le" for m in child.matchers.matchers):
                return True
    return False


def target_histogram_le(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    """Native histograms need no `le`, so only aggregations over `_bucket` series are checked."""
    for query in ctx.queries(dash):
        if query.parsed.expr is None:
            continue
        for node, _ in promql.walk(query.parsed.expr):
            if promql.call_name(node) != "histogram_quantile" or len(node.args) < 2:
                continue
            for child, parents in promql.walk(node.args[1]):
                if any(promql.call_name(p) == "histogram_quantile" for p in parents):
                    continue  # a nested histogram_quantile is checked on its own
                if (isinstance(child, promql_parser.AggregateExpr)
                        and str(child.op) in GROUPING_AGGREGATIONS
                        and not _keeps_le(child) and _reads_buckets(child)):
                    yield query.issue(
                        f"histogram_quantile over {child.op}() that drops 'le': "
                        f"aggregate with '{child.op} by (le, ...)'")


def metric_contract(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    contract = ctx.contract
    if contract is None or not ctx.contract_applies(dash):
        return
    for query in ctx.queries(dash):
        if query.parsed.expr is None:
            continue
        for name in promql.metric_names(query.parsed.expr):
            if not contract.knows(name) and not query.parsed.is_templated(name):
                yield query.issue(contract.explain_unknown(name))


def _threshold_step_lists(panel: PanelRef) -> Iterator[tuple[str, Any]]:
    config = panel.raw.get("fieldConfig")
    if not isinstance(config, dict):
        return
    defaults = config.get("defaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("thresholds"), dict):
        yield "fieldConfig.defaults.thresholds", defaults["thresholds"].get("steps")
    overrides = config.get("overrides")
    for i, override in enumerate(overrides if isinstance(overrides, list) else []):
        props = override.get("properties") if isinstance(override, dict) else None
        for prop in props if isinstance(props, list) else []:
            if isinstance(prop, dict) and prop.get("id") == "thresholds" and isinstance(
                prop.get("value"), dict
            ):
                yield f"override {i} thresholds", prop["value"].get("steps")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def panel_thresholds(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    """Grafana applies the last step whose value <= the field value, so steps must ascend."""
    for panel in dash.content_panels():
        for where, steps in _threshold_step_lists(panel):
            if steps is None:
                continue
            if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
                yield Issue(f"{where}.steps is {steps!r}, expected a list of steps", panel=panel)
                continue
            previous: float | None = None
            for i, step in enumerate(steps):
                value = step.get("value")
                if i == 0 and (value is None or value == -math.inf):
                    continue  # the base step: applies below every other threshold
                number = _number(value)
                if number is None and i == 0:
                    yield Issue(f"{where} base step has value {value!r}, expected null",
                                panel=panel)
                    break
                if number is None:
                    yield Issue(f"{where} step {i} has value {value!r}, expected a number "
                                "(only the first, base step may be null)", panel=panel)
                    break
                if previous is not None and number <= previous:
                    yield Issue(f"{where} are not ascending: step {i} value {value!r} follows "
                                f"{previous:g}", panel=panel)
                    break
                previous = number

"""Rules about the JSON itself: numbers JSON cannot carry, and panel lists holding non-objects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from grafana_sync.jsonio import format_path, non_finite_paths
from grafana_sync.lint.base import LintContext
from grafana_sync.lint.model import Dashboard, Issue


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def json_finite_numbers(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    for path in non_finite_paths(dash.raw):
        value = dash.raw
        for key in path:
            value = value[key]
        yield Issue(f"{format_path(path)} is {json.dumps(value)}: NaN and Infinity are not JSON "
                    "(Grafana's API refuses the dashboard)")


def panel_objects(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    def walk(items: Any, where: str) -> Iterator[Issue]:
        if items is None:
            return
        if not isinstance(items, list):
            yield Issue(f"{where} is {_kind(items)}, not a list of panels")
            return
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield from walk(item.get("panels"), f"{where}[{i}].panels")
            else:
                yield Issue(f"{where}[{i}] is {_kind(item)}, not a panel object")

    yield from walk(dash.raw.get("panels"), "panels")
    rows = dash.raw.get("rows")
    if isinstance(rows, list):
        for i, row in enumerate(rows):
            if isinstance(row, dict):
                yield from walk(row.get("panels"), f"rows[{i}].panels")
            else:
                yield Issue(f"rows[{i}] is {_kind(row)}, not a row object")

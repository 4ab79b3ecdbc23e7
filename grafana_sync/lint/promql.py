"""Parse a Grafana target's PromQL offline and walk its AST with parents.

Grafana expands macros and template variables before a query reaches Prometheus, so they are
substituted first (grafana_sync.macros). `$__rate_interval` and `$__range` become durations no one
writes by hand, so rules can still tell `[$__rate_interval]` from a literal `[5m]` after parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import promql_parser

from grafana_sync.lint.model import Dashboard
from grafana_sync.macros import substitute_macros

RATE_INTERVAL_MAGIC = "7777s"
RANGE_MAGIC = "8888s"
INTERVAL_MAGIC = "15s"
RATE_INTERVAL_DELTA = timedelta(seconds=7777)
RANGE_DELTA = timedelta(seconds=8888)


def _register_prometheus2_functions() -> None:
    """holt_winters: Prometheus 2.x (Debian's 2.42 included); renamed in 3.0, unknown to the parser."""
    if not hasattr(promql_parser, "register_extra_functions"):  # promql-parser < 0.12
        return
    vt = promql_parser.ValueType
    try:
        promql_parser.register_extra_functions([promql_parser.Function(
            "holt_winters", [vt.Matrix, vt.Scalar, vt.Scalar], vt.Vector)])
    except ValueError:  # already known (a parser release that still has it)
        pass


_register_prometheus2_functions()

_TIME_GLOBAL_RE = re.compile(r"\$\{__(?:from|to)(?::[^}]*)?\}|\$__(?:from|to)\b")
_OTHER_GLOBAL_RE = re.compile(r"\$\{__[\w.]+(?::[^}]*)?\}|\$__[\w.]+")


@dataclass(frozen=True)
class Parsed:
    expr: Any | None  # promql_parser.Expr
    error: str | None
    text: str  # the expression after substitution


def variable_values(dash: Dashboard) -> dict[str, str | list[str]]:
    """Concrete values for variables whose value is not a label matcher pattern.

    Query and datasource variables are left out: substitute_macros turns unknown variables into
    `.*`, right for `label=~"$model"`. Custom, constant, interval and textbox variables can sit
    anywhere (`topk($n, ...)`, `[$window]`), so their current value stands in, as in Grafana.
    """
    values: dict[str, str | list[str]] = {}
    for var in dash.variables():
        name = var.get("name")
        if not isinstance(name, str) or var.get("type") in ("query", "datasource", "adhoc"):
            continue
        value = _current_value(var)
        if var.get("type") == "interval" and (value is None or "$" in str(value)):
            value = "1m"
        if value is not None:
            values[name] = value
    return values


def _current_value(var: dict[str, Any]) -> str | list[str] | None:
    current = var.get("current")
    value = current.get("value") if isinstance(current, dict) else None
    if value is None and var.get("type") == "constant":
        value = var.get("query")
    if value is None:
        options = var.get("options")
        if isinstance(options, list) and options and isinstance(options[0], dict):
            value = options[0].get("value")
    if isinstance(value, list):
        strings = [v for v in value if isinstance(v, str) and "$" not in v]
        return strings or None
    if isinstance(value, str) and value and "$" not in value:
        return value
    return None


def expand(expr: str, values: dict[str, str | list[str]]) -> str:
    text = substitute_macros(
        expr, values, interval=INTERVAL_MAGIC, rate_interval=RATE_INTERVAL_MAGIC, range_=RANGE_MAGIC
    )
    text = _TIME_GLOBAL_RE.sub("1700000000", text)
    return _OTHER_GLOBAL_RE.sub("grafana_global", text)


def parse(expr: str, values: dict[str, str | list[str]]) -> Parsed:
    text = expand(expr, values)
    if not text.strip():
        return Parsed(None, "empty expression", text)
    try:
        return Parsed(promql_parser.parse(text), None, text)
    except Exception as exc:  # noqa: BLE001 - the parser raises ValueError; be safe
        return Parsed(None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, text)


def children(node: Any) -> list[Any]:
    """The sub-expressions of an AST node, in source order."""
    found: list[Any] = []
    if isinstance(node, promql_parser.AggregateExpr):
        found = [node.param, node.expr]
    elif isinstance(node, promql_parser.BinaryExpr):
        found = [node.lhs, node.rhs]
    elif isinstance(node, (promql_parser.UnaryExpr, promql_parser.ParenExpr,
                           promql_parser.SubqueryExpr)):
        found = [node.expr]
    elif isinstance(node, promql_parser.MatrixSelector):
        found = [node.vector_selector]
    elif isinstance(node, promql_parser.Call):
        found = list(node.args)
    return [c for c in found if isinstance(c, promql_parser.Expr)]


def walk(node: Any, parents: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Depth-first (node, parents) pairs; parents[-1] is the direct parent."""
    yield node, parents
    for child in children(node):
        yield from walk(child, parents + (node,))


def unwrap_parens(node: Any) -> Any:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def selector_name(selector: Any) -> str | None:
    """The metric name a vector selector reads (`x{...}` or `{__name__="x"}`), if fixed."""
    if selector.name:
        return selector.name
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and matcher.op == promql_parser.MatchOp.Equal:
            return matcher.value
    return None


def metric_names(node: Any) -> list[str]:
    """Every fixed metric name the expression reads, in order of appearance, without repeats."""
    names: list[str] = []
    for child, _ in walk(node):
        if isinstance(child, promql_parser.VectorSelector):
            name = selector_name(child)
            if name and name not in names:
                names.append(name)
    return names


def call_name(node: Any) -> str | None:
    return node.func.name if isinstance(node, promql_parser.Call) else None

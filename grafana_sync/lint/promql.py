"""Parse a Grafana target's PromQL offline and walk its AST with parents.

Grafana expands macros and template variables before a query reaches Prometheus, so they are
substituted first, by what fits where each sits (see `_expand`). `$__rate_interval` and `$__range`
become durations no one writes by hand, so rules can tell `[$__rate_interval]` from `[5m]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import promql_parser

from grafana_sync.lint.model import Dashboard

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

@dataclass(frozen=True)
class Parsed:
    expr: Any | None  # promql_parser.Expr
    error: str | None
    text: str  # the expression after substitution
    # What stood in for variables whose value is unknown (their names), in metric names or label
    # lists: a metric name containing one (`up$suffix` -> `upsuffix`) is not a real name.
    templated: frozenset[str] = frozenset()

    def is_templated(self, name: str) -> bool:
        return any(stand_in in name for stand_in in self.templated)


@dataclass(frozen=True)
class Variable:
    """What substitution knows about one template variable."""

    name: str
    kind: str  # query, custom, constant, interval, textbox, datasource, adhoc, ...
    value: str | list[str] | None  # current value, when it is a usable constant


def dashboard_variables(dash: Dashboard) -> dict[str, Variable]:
    """The dashboard's template variables by name, with the current value of those whose value
    is fixed by the dashboard itself (custom, constant, interval, textbox). A query variable's
    current value is whatever was selected when the JSON was saved, so it is not used."""
    found: dict[str, Variable] = {}
    for var in dash.variables():
        name, kind = var.get("name"), var.get("type")
        if not isinstance(name, str) or not name:
            continue
        kind = kind if isinstance(kind, str) else ""
        value = None if kind in ("query", "datasource", "adhoc") else _current_value(var)
        found[name] = Variable(name, kind, value)
    return found


def _current_value(var: dict[str, Any]) -> str | list[str] | None:
    current = var.get("current")
    value = current.get("value") if isinstance(current, dict) else None
    if value is None and var.get("type") == "constant":
        value = var.get("query")
    if value is None:
        options = var.get("options")
        if isinstance(options, list) and options and isinstance(options[0], dict):
            value = options[0].get("value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # `query: 5` on a constant variable
    if isinstance(value, list):
        strings = [v for v in value if isinstance(v, str) and "$" not in v]
        return strings or None
    if isinstance(value, str) and value.lstrip("${").startswith("__auto_interval"):
        return "10s"  # Grafana's auto interval (grafonnet writes it as the current value)
    if isinstance(value, str) and value and "$" not in value:
        return value
    return None


# --- position-aware substitution ------------------------------------------------------------
#
# Grafana replaces variables as text before the query reaches Prometheus, so what stands in for
# a variable offline must fit where it sits (as dashboard-linter does, and then some):
#   - inside a quoted string (a matcher value): left as written; any text is a valid string;
#   - in a range or subquery `[...]` or after `offset`: a duration;
#   - after `@`: a number (a timestamp);
#   - anywhere else (a metric name, `up$suffix`, a label list `by ($var)`, an aggregation
#     parameter `topk($n, ...)`): the variable's value when it is a plain token, else its name,
#     formatted as asked (`${var:csv}` -> `a,b` for a custom variable's values a and b, `var`
#     for a query variable); if that does not parse, a number is tried where the variable
#     stands alone as an operand (`topk($n, x)`).

_VAR_AT = re.compile(r"\$\{([^}]+)\}|\$(\w+)|\[\[([^\[\]]+)\]\]")
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
_TOKEN = re.compile(r"^(?:[A-Za-z_:][A-Za-z0-9_:]*|\d+(?:\.\d+)?)$")
_OFFSET_BEFORE = re.compile(r"\boffset\s*-?\s*$")
_OPERAND_BEFORE = re.compile(r"(^|[(,+\-*/%^<>=!]|\b(?:and|or|unless|bool))\s*$")
_LABEL_LIST_BEFORE = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*$")
_OPERAND_AFTER = re.compile(r"\s*($|[),+\-*/%^<>=!]|(?:and|or|unless)\b)")

# Grafana's global variables: what stands in for each (durations are magic values no one writes
# by hand, so rules can still tell `[$__rate_interval]` from a literal `[5m]` after parsing).
_GLOBAL_DURATIONS = {
    "__rate_interval": RATE_INTERVAL_MAGIC, "__interval": INTERVAL_MAGIC, "__range": RANGE_MAGIC,
    "__auto": "10s",
}
_GLOBAL_NUMBERS = {
    "__rate_interval_ms": "7777000", "__interval_ms": "15000", "__range_ms": "8888000",
    "__range_s": "8888", "__from": "1700000000000", "__to": "1700000000000", "__org": "42",
    "__user.id": "42",
}


def _format(values: list[str], fmt: str) -> str:
    """Grafana's advanced variable formats (docs: variables/variable-syntax)."""
    if fmt in ("csv", "raw", "text", "percentencode", "queryparam", "date", ""):
        return ",".join(values)
    if fmt in ("pipe", "regex"):
        return "|".join(values)
    if fmt == "doublequote":
        return ",".join(f'"{v}"' for v in values)
    if fmt in ("singlequote", "sqlstring"):
        return ",".join(f"'{v}'" for v in values)
    if fmt == "glob":
        return "{" + ",".join(values) + "}"
    if fmt == "json":
        return "[" + ",".join(f'"{v}"' for v in values) + "]"
    return ",".join(values)


def _stand_in(spec: str, where: str, variables: dict[str, Variable],
              templated: set[str] | None = None) -> str:
    """What replaces `$spec` at a position of kind `where` (duration, number or token)."""
    name, _, fmt = spec.partition(":")
    name = name.strip()
    fmt = fmt.rsplit(":", 1)[-1] if fmt else ""
    if name in _GLOBAL_DURATIONS or name.startswith("__auto_interval"):
        return _GLOBAL_DURATIONS.get(name, "10s")
    if name in _GLOBAL_NUMBERS:
        value = _GLOBAL_NUMBERS[name]
        if name in ("__from", "__to") and fmt == "seconds":
            return value[:-3]
        return value
    var = variables.get(name)
    value = var.value if var is not None else None
    if where == "duration":
        if isinstance(value, str) and _DURATION.match(value):
            return value
        return "1m"
    if where == "number":
        return value if isinstance(value, str) and _TOKEN.match(value) and value[0].isdigit() \
            else "1"
    values = [value] if isinstance(value, str) else list(value or [])
    if not values or not all(_TOKEN.match(v) for v in values) or (len(values) > 1 and not fmt):
        values = [re.sub(r"\W", "_", name) or "var"]
        if templated is not None:
            templated.add(values[0])
    return _format(values, fmt)


def _expand(expr: str, variables: dict[str, Variable], numbers: bool,
            templated: set[str] | None = None) -> str:
    out: list[str] = []
    depth = 0  # open `[` outside strings
    i, n = 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch in "\"'`":
            end = i + 1
            while end < n and expr[end] != ch:
                end += 2 if expr[end] == "\\" and ch != "`" else 1
            out.append(expr[i:end + 1])
            i = end + 1
            continue
        if ch == "#":  # a comment runs to the end of the line
            end = expr.find("\n", i)
            end = n if end < 0 else end
            out.append(expr[i:end])
            i = end
            continue
        match = _VAR_AT.match(expr, i) if ch in "$[" else None
        if match is None:
            depth += 1 if ch == "[" else -1 if ch == "]" and depth else 0
            out.append(ch)
            i += 1
            continue
        before = "".join(out)[-200:]
        spec = match.group(1) or match.group(2) or match.group(3)
        if depth or _OFFSET_BEFORE.search(before):
            where = "duration"
        elif before.rstrip().endswith("@"):
            where = "number"
        elif (numbers and _OPERAND_BEFORE.search(before) and not _LABEL_LIST_BEFORE.search(before)
              and _OPERAND_AFTER.match(expr, match.end())):
            where = "number"
        else:
            where = "token"
        out.append(_stand_in(spec, where, variables, templated))
        i = match.end()
    return "".join(out)


def expand(expr: str, variables: dict[str, Variable]) -> str:
    """`expr` with Grafana macros and template variables replaced by what fits where they sit."""
    return _expand(expr, variables, numbers=False)


def parse(expr: str, variables: dict[str, Variable]) -> Parsed:
    templated: set[str] = set()
    text = _expand(expr, variables, numbers=False, templated=templated)
    if not text.strip():
        return Parsed(None, "empty expression", text)
    try:
        return Parsed(promql_parser.parse(text), None, text, frozenset(templated))
    except Exception as exc:  # noqa: BLE001 - the parser raises ValueError; be safe
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    retry = _expand(expr, variables, numbers=True)  # `topk($n, x)`: a scalar operand
    if retry != text:
        try:
            return Parsed(promql_parser.parse(retry), None, retry, frozenset(templated))
        except Exception:  # noqa: BLE001
            pass
    return Parsed(None, error, text)


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
            value = matcher.value
            return None if "$" in value or "[[" in value else value  # `"$metric"`: templated
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

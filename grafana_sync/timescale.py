"""Time-scaled rendering of Prometheus rules: every window divided by a factor.

A simulation that runs `factor` times faster than the wall clock (a demo's `--speed`) shrinks
its incidents by that factor; rules written for real time would then look at windows that are
`factor` times too long, and `for:` would count real minutes. Rendering the same rules with every
duration divided by the factor makes one rule-minute one simulated minute. Generic Prometheus
knowledge only; what a rule module means by its numbers stays in the module.

What is scaled (`scale_expr`, `scale_groups`), from the parsed PromQL (promql-parser), never by
pattern matching on the text:

- range windows of matrix selectors (`rate(x[5m])`) and subqueries (`[1h:30s]`, range and step);
- `offset` of vector selectors, matrix selectors and subqueries (`@` timestamps stay: absolute);
- the horizon of `predict_linear(v, t)` (seconds) when it is a number;
- number literals a rule module declares as windows in seconds (`window_constants`, e.g. the
  3600 of "requests in the last hour = average rate over [1h] x 3600"): a module-level promise
  that every such literal in its expressions stands for a window;
- a rule's `for:` and `keep_firing_for:`, a group's `interval` and `query_offset`.

Rounding and floors (`TimeScale`): durations are whole seconds, rounded half up. A range window
-- and a window constant, which must agree with the window it counts -- never drops below
`min_samples` x `resolution` (default 4 x the scrape interval, the lower bound of Grafana's
`$__rate_interval`): a `rate()` over fewer samples is empty or noise. A window already shorter
than the floor keeps its length. Subquery steps and group intervals are at least one
`resolution` (an omitted subquery step stays omitted: it is the evaluation interval). An `offset`
is at least 1 s (PromQL has no `offset 0s`). `for` and `keep_firing_for` have no floor beyond
0 s: a `for` shorter than the evaluation interval fires at the first evaluation that sees the
condition.

The rendered expression is checked: parsed again, it must be the same tree as the scaled one
(promql-parser's renderer has gaps, e.g. it drops an empty subquery step); otherwise a one-line
`BuildError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from grafana_sync.errors import BuildError, ConfigError

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@dataclass(frozen=True)
class TimeScale:
    """Divide every rule duration by `factor`.

    `resolution`: seconds between the scrapes and rule evaluations of the Prometheus that loads
    the scaled rules; `min_samples`: how many of them a range window keeps at least.
    """

    factor: float
    resolution: float = 1.0
    min_samples: int = 4

    def __post_init__(self) -> None:
        if not (isinstance(self.factor, (int, float)) and math.isfinite(self.factor) and self.factor > 0):
            raise ConfigError(f"time scale: factor must be a positive number, got {self.factor!r}")
        if not (math.isfinite(self.resolution) and self.resolution > 0):
            raise ConfigError(f"time scale: resolution must be positive seconds, got {self.resolution!r}")
        if self.min_samples < 1:
            raise ConfigError(f"time scale: min_samples must be >= 1, got {self.min_samples!r}")

    @property
    def min_range(self) -> float:
        """The shortest range window a scaled rule gets (seconds)."""
        return self.min_samples * self.resolution

    def seconds(self, seconds: float, floor: float = 0.0) -> int:
        """`seconds / factor`, whole seconds, at least `floor` unless `seconds` itself is shorter."""
        scaled = math.floor(seconds / self.factor + 0.5)  # half up (round() would go to even)
        return int(max(scaled, min(math.ceil(floor), math.ceil(seconds))))

    def window(self, seconds: float) -> int:
        """A range window (or a constant standing for one): floored at `min_range`."""
        return self.seconds(seconds, self.min_range)

    def step(self, seconds: float) -> int:
        return self.seconds(seconds, self.resolution)

    def offset(self, seconds: float) -> int:
        """An offset stays an offset: at least 1 s (PromQL has no `offset 0s`)."""
        return self.seconds(seconds, 1)


def parse_duration(text: str) -> float:
    """Prometheus duration ("1h30m", "500ms") -> seconds; ConfigError when it is not one."""
    if not isinstance(text, str) or not re.fullmatch(r"([0-9]+(ms|s|m|h|d|w|y))+", text):
        raise ConfigError(f"{text!r} is not a Prometheus duration (e.g. 5m)")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", text))


def format_duration(seconds: int) -> str:
    """Whole seconds -> the shortest Prometheus duration: 90 -> "1m30s", 0 -> "0s"."""
    if seconds <= 0:
        return "0s"
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out


def _td(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def _scaled_offset(offset: timedelta | None, ts: TimeScale) -> timedelta | None:
    if offset is None:
        return None
    seconds = offset.total_seconds()
    return _td(int(math.copysign(ts.offset(abs(seconds)), seconds)))


def _children(node: Any) -> list[Any]:
    import promql_parser as p

    if isinstance(node, p.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, (p.ParenExpr, p.UnaryExpr, p.SubqueryExpr)):
        return [node.expr]
    if isinstance(node, p.AggregateExpr):
        return [x for x in (node.param, node.expr) if x is not None]
    if isinstance(node, p.Call):
        return list(node.args)
    if isinstance(node, p.MatrixSelector):
        return [node.vector_selector]
    return []


def _matchers(m: Any) -> tuple:
    return (repr(m.matchers), repr(m.or_matchers))


def _shape(node: Any) -> tuple:
    """A comparable picture of a tree, read through the same attributes the scaling writes."""
    import promql_parser as p

    if node is None:
        return ()
    kind = type(node).__name__
    if isinstance(node, p.VectorSelector):
        return (kind, node.name, _matchers(node.matchers), node.offset or None, str(node.at))
    if isinstance(node, p.MatrixSelector):
        return (kind, node.range, _shape(node.vector_selector))
    if isinstance(node, p.SubqueryExpr):
        return (kind, node.range, node.step, node.offset or None, str(node.at), _shape(node.expr))
    if isinstance(node, (p.NumberLiteral, p.StringLiteral)):
        return (kind, node.val)
    if isinstance(node, p.Call):
        return (kind, node.func.name, tuple(_shape(a) for a in node.args))
    if isinstance(node, p.AggregateExpr):
        return (kind, str(node.op), str(node.modifier), _shape(node.param), _shape(node.expr))
    if isinstance(node, p.BinaryExpr):
        return (kind, str(node.op), str(node.modifier), _shape(node.lhs), _shape(node.rhs))
    if isinstance(node, p.UnaryExpr):
        return (kind, _shape(node.expr))
    if isinstance(node, p.ParenExpr):
        return (kind, _shape(node.expr))
    return (kind, str(node))


def _scale_tree(node: Any, ts: TimeScale, constants: frozenset[float]) -> None:
    """Scale `node` in place (promql-parser's attribute access reaches into the same tree): the
    reference the rewritten text is checked against."""
    import promql_parser as p

    if isinstance(node, p.MatrixSelector):
        node.range = _td(ts.window(node.range.total_seconds()))
    elif isinstance(node, p.SubqueryExpr):
        node.range = _td(ts.window(node.range.total_seconds()))
        if node.step is not None:
            node.step = _td(ts.step(node.step.total_seconds()))
        node.offset = _scaled_offset(node.offset, ts)
    elif isinstance(node, p.VectorSelector):
        node.offset = _scaled_offset(node.offset, ts)
    elif isinstance(node, p.NumberLiteral) and node.val in constants:
        node.val = float(ts.window(node.val))
    for child in _children(node):
        _scale_tree(child, ts, constants)


_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_DURATION = re.compile(r"\s*-?\s*([0-9]+(?:ms|s|m|h|d|w|y))+")


def _skip_string(text: str, i: int) -> int:
    """Index after the string literal starting at text[i] (", ' with escapes, ` raw)."""
    quote, j = text[i], i + 1
    while j < len(text):
        if text[j] == "\\" and quote != "`":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    return j


def _rewrite(text: str, ts: TimeScale, constants: frozenset[float]) -> str:
    """The text with its durations and window constants replaced, everything else (strings,
    layout, comments) byte for byte: a small PromQL lexer finds where each one is."""
    out: list[str] = []
    i, n = 0, len(text)
    after_at = False
    while i < n:
        c = text[i]
        if c in "\"'`":
            j = _skip_string(text, i)
            out.append(text[i:j])
        elif c == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(text[i:j])
        elif c == "[":
            j = text.index("]", i)
            inner = text[i + 1:j]
            if ":" in inner:
                rng, step = inner.split(":", 1)
                scaled = _dur(rng, ts.window)
                if step.strip():
                    scaled += ":" + _dur(step, ts.step)
                else:
                    scaled += ":" + step
            else:
                scaled = _dur(inner, ts.window)
            out.append(f"[{scaled}]")
            j += 1
        elif _IDENT.match(text, i) and not (i and (text[i - 1].isalnum() or text[i - 1] in "_:.")):
            m = _IDENT.match(text, i)
            j = m.end()
            out.append(m.group())
            if m.group().lower() == "offset":
                d = _DURATION.match(text, j)
                if d:
                    raw = d.group()
                    sign = -1 if "-" in raw else 1
                    body = raw.replace("-", "").strip()
                    lead = raw[: len(raw) - len(raw.lstrip())]
                    value = ts.offset(parse_duration(body))
                    out.append(lead + ("-" if sign < 0 else "") + format_duration(value))
                    j = d.end()
        elif _NUMBER.match(text, i) and not (i and (text[i - 1].isalnum() or text[i - 1] in "_:")):
            m = _NUMBER.match(text, i)
            j = m.end()
            literal = m.group()
            value = float(int(literal, 16)) if literal[:2].lower() == "0x" else float(literal)
            if value in constants and not after_at:
                out.append(str(ts.window(value)))
            else:
                out.append(literal)
        else:
            j = i + 1
            out.append(c)
        if not c.isspace():
            after_at = c == "@"
        i = j
    return "".join(out)


def _dur(raw: str, scale) -> str:
    body = raw.strip()
    lead, trail = raw[: len(raw) - len(raw.lstrip())], raw[len(raw.rstrip()):]
    return lead + format_duration(scale(parse_duration(body))) + trail


def scale_expr(expr: str, ts: TimeScale, window_constants: Iterable[float] = ()) -> str:
    """The expression with its windows, offsets and window constants divided by `ts.factor`.

    The text keeps its layout: a small lexer rewrites the durations and constants in place, and
    the result must parse to the same tree as the parsed original with the same durations scaled
    in the AST (otherwise a one-line BuildError: the lexer and the parser disagree)."""
    import promql_parser as p

    constants = frozenset(float(c) for c in window_constants)
    try:
        tree = p.parse(expr)
    except Exception as exc:  # the parser's own error types
        raise ConfigError(f"expr does not parse: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    _scale_tree(tree, ts, constants)
    try:
        text = _rewrite(expr, ts, constants)
        ok = _shape(p.parse(text)) == _shape(tree)
    except (ValueError, ConfigError):
        ok = False
    if not ok:
        raise BuildError(f"cannot time-scale this expression faithfully: {' '.join(expr.split())}")
    return text


def scale_groups(groups: list[dict[str, Any]], ts: TimeScale,
                 window_constants: Iterable[float] = ()) -> list[dict[str, Any]]:
    """Rule groups (as in a rule file) with every duration scaled; the input is not modified."""
    constants = tuple(window_constants)
    out = []
    for group in groups:
        g = dict(group)
        where = f"group {g.get('name')!r}"
        if "interval" in g:
            g["interval"] = format_duration(ts.step(parse_duration(g["interval"])))
        if "query_offset" in g:
            g["query_offset"] = format_duration(ts.seconds(parse_duration(g["query_offset"])))
        rules = []
        for rule in g.get("rules", []):
            r = dict(rule)
            name = r.get("alert") or r.get("record")
            try:
                r["expr"] = scale_expr(r["expr"], ts, constants)
            except (ConfigError, BuildError) as exc:
                raise type(exc)(f"{where} rule {name!r}: {exc}") from None
            for key in ("for", "keep_firing_for"):
                if key in r:
                    r[key] = format_duration(ts.seconds(parse_duration(r[key])))
            rules.append(r)
        g["rules"] = rules
        out.append(g)
    return out

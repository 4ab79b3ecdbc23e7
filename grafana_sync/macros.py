"""Substitute Grafana's Prometheus macros and template variables in a query expression.

Used to check PromQL offline (lint) and to run a dashboard's queries against a real Prometheus
(tests): Grafana expands these before a query reaches Prometheus, so neither can parse them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_DURATION_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
                      "w": 604_800_000, "y": 31_536_000_000}
_DURATION_RE = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")

# ${name}, ${name:format}, $name and [[name]] (Grafana's three variable syntaxes)
_VAR_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")


def duration_ms(text: str) -> int:
    """'1m' -> 60000. Single-unit Prometheus durations only (what Grafana's macros produce)."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return int(match.group(1)) * _DURATION_UNITS_MS[match.group(2)]


def _format_value(value: str | Sequence[str]) -> str:
    """A multi-value variable becomes a regex alternation, as Grafana formats it for Prometheus."""
    if isinstance(value, str):
        return value
    values = list(value)
    if len(values) == 1:
        return values[0]
    return "(" + "|".join(values) + ")"


def substitute_macros(
    expr: str,
    variables: Mapping[str, str | Sequence[str]] | None = None,
    *,
    interval: str = "15s",
    rate_interval: str = "1m",
    range_: str = "1h",
) -> str:
    """Return `expr` with Grafana macros and template variables replaced by concrete values.

    Unknown template variables become `.*` (what "All" with a custom all value of `.*` gives), so
    the result is valid PromQL when the variable sits inside a regex matcher (`=~"$model"`).
    """
    variables = dict(variables or {})
    range_ms = duration_ms(range_)
    interval_ms = duration_ms(interval)
    builtins: dict[str, str] = {
        "__rate_interval": rate_interval,
        "__rate_interval_ms": str(duration_ms(rate_interval)),
        "__interval": interval,
        "__interval_ms": str(interval_ms),
        "__range": range_,
        "__range_s": str(range_ms // 1000),
        "__range_ms": str(range_ms),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in builtins:
            return builtins[name]
        if name in variables:
            return _format_value(variables[name])
        if name.startswith("__"):
            return match.group(0)  # another Grafana global ($__from, $__to): leave to the caller
        return ".*"

    return _VAR_RE.sub(replace, expr)

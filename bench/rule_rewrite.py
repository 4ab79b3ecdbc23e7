"""Rewrite dashboard queries to read recording rules instead of raw series (the "with rules" case).

Only the common, mechanical shape is rewritten:
`sum [by (L)] (rate(M{S}[$__rate_interval]))` → `sum [by (L)] (R{S'})` where recording rule R
records `sum by (L_R) (rate(M{S_R}[5m]))` (directly, or as `sum by (…)` of such a rule), with
S_R ⊆ S, S' = S − S_R, and L ∪ labels(S') ⊆ L_R. Among matching rules the most aggregated one
(fewest labels) wins. Note the window changes from $__rate_interval (1m–75s here) to the rule's
5m: the rewritten panel is smoother, which is what recording rules trade for speed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_RULE_RATE = re.compile(
    rf"^\s*sum\s+by\s*\(([^)]*)\)\s*\(\s*rate\(\s*({_NAME})\s*(\{{[^}}]*\}})?\s*\[5m\]\s*\)\s*\)\s*$")
_RULE_CHAIN = re.compile(rf"^\s*sum\s+by\s*\(([^)]*)\)\s*\(\s*({_NAME})\s*\)\s*$")
_QUERY = re.compile(
    rf"sum\s*(?:by\s*\(([^)]*)\)\s*)?\(\s*rate\(\s*({_NAME})\s*(\{{[^}}]*\}})?\s*"
    rf"\[\$__rate_interval\]\s*\)\s*\)")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class RateRule:
    record: str
    metric: str
    matchers: frozenset[str]
    labels: frozenset[str]


def _labels(text: str) -> frozenset[str]:
    return frozenset(x.strip() for x in text.split(",") if x.strip())


def _matchers(selector: str | None) -> list[tuple[str, str]]:
    """[(label, 'label op "value"')] in source order."""
    if not selector:
        return []
    return [(m.group(1), f'{m.group(1)}{m.group(2)}"{m.group(3)}"')
            for m in _MATCHER.finditer(selector)]


def load_rate_rules(rule_files: list[Path]) -> list[RateRule]:
    """The recording rules that are a `sum by (…) (rate(…[5m]))`, directly or one level down."""
    raw: dict[str, str] = {}
    for path in rule_files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule:
                    raw[rule["record"]] = str(rule["expr"])
    direct: dict[str, RateRule] = {}
    for record, expr in raw.items():
        match = _RULE_RATE.match(expr)
        if match:
            direct[record] = RateRule(record, match.group(2),
                                      frozenset(m for _, m in _matchers(match.group(3))),
                                      _labels(match.group(1)))
    rules = list(direct.values())
    for record, expr in raw.items():
        match = _RULE_CHAIN.match(expr)
        if match and match.group(2) in direct:
            inner = direct[match.group(2)]
            labels = _labels(match.group(1))
            if labels <= inner.labels:
                rules.append(RateRule(record, inner.metric, inner.matchers, labels))
    return rules


def rewrite(expr: str, rules: list[RateRule]) -> tuple[str, int]:
    """The expression with every rewritable sum-of-rate replaced; and how many were replaced."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        by, metric, selector = match.group(1), match.group(2), match.group(3)
        wanted = _labels(by or "")
        matchers = _matchers(selector)
        best: RateRule | None = None
        for rule in rules:
            if rule.metric != metric or not rule.matchers <= {m for _, m in matchers}:
                continue
            rest = [(label, m) for label, m in matchers if m not in rule.matchers]
            if not wanted | {label for label, _ in rest} <= rule.labels:
                continue
            if best is None or len(rule.labels) < len(best.labels):
                best = rule
        if best is None:
            return match.group(0)
        count += 1
        rest_sel = ", ".join(m for _, m in matchers if m not in best.matchers)
        clause = f" by ({by.strip()})" if by and by.strip() else ""
        return f"sum{clause} ({best.record}{{{rest_sel}}})" if rest_sel else \
            f"sum{clause} ({best.record})"

    return _QUERY.sub(replace, expr), count

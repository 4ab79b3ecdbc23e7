"""target-label-propagation-rule: filters and groupings use labels the series carry.

A filter or a grouping on a label a series does not carry is invisible at "All" (`x=~".*"` also
matches a missing label) but empties the panel as soon as someone picks a value, and a
`by (label)` on a label that is not there silently merges everything into one series. So: every
matcher, `by (...)`, `on (...)`, `group_left/right (...)` and `label_values(metric, label)`
variable uses labels that the series it reads carry according to the metrics contract (the
labels column of its tables, plus the target labels `job` and `instance` and the project's
`target-labels` (external labels such as a cluster label), plus `le` on a histogram's `_bucket`)
and the recording rules (the labels their expressions keep).

Generic: the contract is any markdown table with `metric`, `type` and `labels` columns; the
project may map the contract's label names to the ones its series use (`label-map` in
[tool.grafana-sync.lint]: a `module:function` returning {contract name: series name}), so a
renamed label is checked under its new name. A metric the contract does not know is skipped
(metric-contract-rule reports it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import promql_parser

from grafana_sync.lint import promql
from grafana_sync.lint.base import Issue, LintContext
from grafana_sync.lint.model import Dashboard

TARGET_LABELS = frozenset({"job", "instance"})
_LABEL_VALUES = re.compile(r"^\s*label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", re.S)


class Labels:
    """Which labels a series (or an expression) carries, per the contract and the rules."""

    def __init__(self, contract: Mapping[str, frozenset[str]], records: Mapping[str, str],
                 label_map: Mapping[str, str], target_labels: tuple[str, ...] = ()) -> None:
        targets = TARGET_LABELS | {label_map.get(x, x) for x in target_labels}
        self._contract = {m: frozenset(label_map.get(x, x) for x in labels) | targets
                          for m, labels in contract.items()}
        self._records = dict(records)
        self._memo: dict[str, frozenset[str] | None] = {}

    def of_series(self, name: str) -> frozenset[str] | None:
        if name in self._contract:
            return self._contract[name]
        if name in self._memo:
            return self._memo[name]
        self._memo[name] = None  # recursion guard
        expr = self._records.get(name)
        labels = None
        if expr is not None:
            try:
                found = self.of_expr(promql_parser.parse(expr))
            except Exception:  # noqa: BLE001 - a rule the parser rejects: cannot tell
                found = None
            labels = frozenset(found) if found is not None else None
        self._memo[name] = labels
        return labels

    def of_expr(self, node: Any) -> set[str] | None:  # noqa: PLR0911 - one branch per node type
        """The label names of the series an expression returns (None = cannot tell)."""
        p = promql_parser
        if isinstance(node, p.VectorSelector):
            found = self.of_series(node.name) if node.name else None
            return set(found) if found is not None else None
        if isinstance(node, p.MatrixSelector):
            return self.of_expr(node.vector_selector)
        if isinstance(node, (p.ParenExpr, p.SubqueryExpr)):
            return self.of_expr(node.expr)
        if isinstance(node, (p.NumberLiteral, p.StringLiteral)):
            return set()
        if isinstance(node, p.UnaryExpr):
            return self.of_expr(node.expr)
        if isinstance(node, p.AggregateExpr):
            inner = self.of_expr(node.expr)
            if str(node.op) in {"topk", "bottomk", "limitk"}:
                return inner  # a selection of the input series: every label kept, whatever `by`
            if node.modifier is None:
                return set()
            if str(node.modifier.type).endswith("By"):
                return set(node.modifier.labels)
            return None if inner is None else inner - set(node.modifier.labels)
        if isinstance(node, p.Call):
            name = node.func.name
            if name in {"time", "vector", "scalar", "pi"}:
                return set()
            if name in {"label_replace", "label_join"}:
                return None
            args = [a for a in node.args if not isinstance(a, (p.NumberLiteral, p.StringLiteral))]
            inner = self.of_expr(args[0]) if args else set()
            if name == "histogram_quantile" and inner is not None:
                return inner - {"le"}
            return inner
        if isinstance(node, p.BinaryExpr):
            lhs, rhs = self.of_expr(node.lhs), self.of_expr(node.rhs)
            if lhs is None or rhs is None:
                return None
            op, mod = str(node.op), node.modifier
            if op == "or":
                return lhs | rhs
            if not lhs or not rhs:
                return lhs or rhs
            card = str(mod.card) if mod is not None else ""
            extra = set(mod.group_labels or []) if mod is not None else set()
            if card.endswith("OneToMany"):
                return rhs | extra
            return lhs | extra
        return None

    def problems(self, node: Any) -> Iterator[str]:
        p = promql_parser
        for child, _parents in promql.walk(node):
            if isinstance(child, p.VectorSelector) and child.name:
                known = self.of_series(child.name)
                used = {m.name for m in child.matchers.matchers} - {"__name__"}
                if known is not None and used - known:
                    yield f"{child.name} has no label {', '.join(sorted(used - known))}"
            elif isinstance(child, p.AggregateExpr) and child.modifier is not None \
                    and str(child.modifier.type).endswith("By"):
                inner = self.of_expr(child.expr)
                missing = set(child.modifier.labels) - inner if inner is not None else set()
                if missing:
                    yield (f"{child.op} by ({', '.join(child.modifier.labels)}): "
                           f"{', '.join(sorted(missing))} is not on the series it aggregates")
            elif isinstance(child, p.BinaryExpr) and child.modifier is not None:
                yield from self._matching(child)

    def _matching(self, node: Any) -> Iterator[str]:
        mod = node.modifier
        lhs, rhs = self.of_expr(node.lhs), self.of_expr(node.rhs)
        matching = mod.matching
        if matching is not None and str(matching.type).endswith("Include"):  # on (...)
            for side, labels in (("left", lhs), ("right", rhs)):
                missing = set(matching.labels) - labels if labels else set()
                if missing:
                    yield (f"on ({', '.join(matching.labels)}): {', '.join(sorted(missing))} is not "
                           f"on the {side}-hand side")
        card = str(mod.card)
        group = set(mod.group_labels or [])
        one_side = rhs if card.endswith("ManyToOne") else lhs if card.endswith("OneToMany") else None
        missing = group - one_side if group and one_side else set()
        if missing:
            kind = "group_left" if card.endswith("ManyToOne") else "group_right"
            yield f"{kind} ({', '.join(sorted(group))}): {', '.join(sorted(missing))} is not on the one side"


def _labels(ctx: LintContext) -> Labels | None:
    contract = ctx.contract
    if contract is None or not getattr(contract, "labels", None):
        return None
    cached = getattr(ctx, "_label_index", None)
    if cached is None:
        cached = Labels(contract.labels, contract.record_exprs, contract.label_map,
                        tuple(getattr(contract, "target_labels", ())))
        ctx._label_index = cached  # type: ignore[attr-defined]
    return cached


def label_propagation(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    labels = _labels(ctx)
    if labels is None or not ctx.contract_applies(dash):
        return
    for query in ctx.queries(dash):
        if query.parsed.expr is None:
            continue
        seen: set[str] = set()
        for problem in labels.problems(query.parsed.expr):
            if problem not in seen:
                seen.add(problem)
                yield query.issue(problem)
    variables = promql.dashboard_variables(dash)
    templating = dash.raw.get("templating")
    for var in templating.get("list", []) if isinstance(templating, dict) else []:
        if not isinstance(var, dict) or var.get("type") != "query":
            continue
        query = var.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        match = _LABEL_VALUES.match(query) if isinstance(query, str) else None
        if not match:
            continue
        parsed = promql.parse(match.group(1), variables)
        if parsed.expr is None:
            continue
        where = f"variable {var.get('name')!r}: "
        for problem in labels.problems(parsed.expr):
            yield Issue(where + problem)
        found = labels.of_expr(parsed.expr)
        if found is not None and match.group(2) not in found:
            yield Issue(f"{where}label_values(..., {match.group(2)}): the series have no label "
                        f"{match.group(2)}")

"""What a rule is, and the shared context rules read (parsed queries, the other dashboards)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from grafana_sync.lint import promql
from grafana_sync.lint.contract import MetricContract
from grafana_sync.lint.model import (
    Dashboard,
    Issue,
    PanelRef,
    TargetRef,
    datasource_type,
    is_promql_target,
    targets,
)

# Grafana's panels that never run their targets: a stale `targets` list left in a text panel's
# JSON (Grafana keeps it when a panel's type is changed) is no query.
NON_QUERY_PANEL_TYPES = frozenset({
    "text", "news", "dashlist", "alertlist", "annolist", "welcome", "gettingstarted",
    "pluginlist",
})


def query_panels(dash: Dashboard) -> list[PanelRef]:
    """Content panels whose targets Grafana runs."""
    return [p for p in dash.content_panels() if p.type not in NON_QUERY_PANEL_TYPES]


@dataclass
class LintContext:
    """Everything outside one dashboard that a rule may need."""

    dashboards: list[Dashboard] = field(default_factory=list)
    contract: MetricContract | None = None
    # Whether metric-contract-rule applies to a dashboard (see docs/decisions.md).
    contract_applies: Callable[[Dashboard], bool] = lambda _d: False
    _parsed: dict[tuple[int, str], promql.Parsed] = field(default_factory=dict)
    _values: dict[int, dict[str, promql.Variable]] = field(default_factory=dict)

    def parse(self, dash: Dashboard, expr: str) -> promql.Parsed:
        key = (id(dash), expr)
        if key not in self._parsed:
            if id(dash) not in self._values:
                self._values[id(dash)] = promql.dashboard_variables(dash)
            self._parsed[key] = promql.parse(expr, self._values[id(dash)])
        return self._parsed[key]

    def queries(self, dash: Dashboard) -> Iterator[Query]:
        """Every PromQL query: each target of each content panel, then each annotation query."""
        for panel in query_panels(dash):
            for target in targets(panel):
                if is_promql_target(dash, panel, target):
                    expr = target.expr or ""
                    yield Query(expr, self.parse(dash, expr), panel=panel, target=target)
        for annotation in dash.annotations():
            expr = annotation.get("expr")
            kind = datasource_type(dash, annotation.get("datasource"))
            if isinstance(expr, str) and kind in (None, "prometheus"):
                name = annotation.get("name") if isinstance(annotation.get("name"), str) else ""
                yield Query(expr, self.parse(dash, expr), where=f"annotation {name!r}: ")


@dataclass(frozen=True)
class Query:
    """A PromQL expression and where it sits (a panel's target, or an annotation)."""

    expr: str
    parsed: promql.Parsed
    panel: PanelRef | None = None
    target: TargetRef | None = None
    where: str = ""  # message prefix for queries outside panels

    def issue(self, message: str) -> Issue:
        return Issue(self.where + message, panel=self.panel, target=self.target)


Check = Callable[[Dashboard, LintContext], Iterable[Issue]]


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str
    what: str
    why: str
    check: Check
    origin: str = "dashboard-linter"  # or "grafana-sync" for this project's own rules
    enabled_by_default: bool = True
    fixable: bool = False  # `grafana-sync lint --fix` fixes its findings mechanically

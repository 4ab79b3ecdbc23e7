"""A read-only view of one dashboard's JSON, shaped for linting, and the finding types.

Rules never index raw JSON blindly: they ask this view for panels (including those nested in rows,
in layout order), targets and template variables, so one malformed corner of a dashboard gives a
finding or is skipped instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_sync.model import DATA_PANEL_TYPES, PanelRef, datasource_uid, variable_name_in, walk_panels

__all__ = ["DATA_PANEL_TYPES", "ERROR", "SEVERITIES", "WARNING", "Dashboard", "Finding", "Issue",
           "PanelRef", "TargetRef", "datasource_type", "datasource_uid", "is_promql_target",
           "targets", "variable_name_in"]

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)

@dataclass(frozen=True)
class TargetRef:
    """One query of a panel; `index` is its position in `targets` (dashboard-linter's targetIdx)."""

    index: int
    raw: dict[str, Any]

    @property
    def ref_id(self) -> str | None:
        value = self.raw.get("refId")
        return value if isinstance(value, str) and value else None

    @property
    def expr(self) -> str | None:
        value = self.raw.get("expr")
        return value if isinstance(value, str) else None


@dataclass
class Issue:
    """What a rule reports; the runner turns it into a Finding with the rule's name and severity."""

    message: str
    panel: PanelRef | None = None
    target: TargetRef | None = None
    severity: str | None = None  # None = the rule's default severity
    # How to fix it mechanically (`grafana-sync lint --fix`): mutates the dashboard's raw JSON.
    fix: Callable[[], None] | None = field(default=None, repr=False, compare=False)


@dataclass
class Finding:
    """One lint finding, as printed and as serialised in `--format json` (see docs/lint.md)."""

    file: str
    rule: str
    severity: str
    dashboard_uid: str | None
    dashboard_title: str
    panel_id: int | None
    panel_title: str | None
    ref_id: str | None
    message: str
    target_index: int | None = None
    panel_index: int | None = None
    reason: str | None = None  # the .lint reason when a `warnings:` entry downgraded it
    fixable: bool = False  # `grafana-sync lint --fix` can fix it

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rule": self.rule,
            "severity": self.severity,
            "dashboard_uid": self.dashboard_uid,
            "dashboard_title": self.dashboard_title,
            "panel_id": self.panel_id,
            "panel_title": self.panel_title,
            "ref_id": self.ref_id,
            "target_index": self.target_index,
            "message": self.message,
            "reason": self.reason,
            "fixable": self.fixable,
        }

    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.file,
            -1 if self.panel_index is None else self.panel_index,
            -1 if self.target_index is None else self.target_index,
            self.rule,
            self.message,
        )


@dataclass
class Dashboard:
    """A loaded dashboard file."""

    path: Path
    display_path: str
    raw: dict[str, Any]
    _panels: list[PanelRef] | None = field(default=None, repr=False)

    @property
    def uid(self) -> str | None:
        value = self.raw.get("uid")
        return value if isinstance(value, str) and value else None

    @property
    def title(self) -> str:
        value = self.raw.get("title")
        return value if isinstance(value, str) else ""

    @property
    def name(self) -> str:
        """How messages name the dashboard: its uid, else its title, else the file."""
        return self.uid or self.title or self.display_path

    def variables(self) -> list[dict[str, Any]]:
        templating = self.raw.get("templating")
        items = templating.get("list") if isinstance(templating, dict) else None
        return [v for v in items if isinstance(v, dict)] if isinstance(items, list) else []

    def variables_of_type(self, kind: str) -> list[dict[str, Any]]:
        return [v for v in self.variables() if v.get("type") == kind]

    def annotations(self) -> list[dict[str, Any]]:
        annotations = self.raw.get("annotations")
        items = annotations.get("list") if isinstance(annotations, dict) else None
        return [a for a in items if isinstance(a, dict)] if isinstance(items, list) else []

    def panels(self) -> list[PanelRef]:
        """Every panel in layout order (grafana_sync.model.walk_panels): rows, the panels of
        collapsed rows right after their row, library-panel references. Legacy `rows` and
        Kubernetes-shaped files are read as classic JSON when loaded (grafana_sync.shapes)."""
        if self._panels is None:
            self._panels = walk_panels(self.raw)
        return self._panels

    def content_panels(self) -> list[PanelRef]:
        """Panels that are not rows and not library-panel references (their content lives elsewhere)."""
        return [p for p in self.panels() if not p.is_row and not p.is_library]


def targets(panel: PanelRef) -> list[TargetRef]:
    items = panel.raw.get("targets")
    if not isinstance(items, list):
        return []
    return [TargetRef(index=i, raw=t) for i, t in enumerate(items) if isinstance(t, dict)]


def datasource_type(dash: Dashboard, ref: Any) -> str | None:
    """The plugin type a datasource reference resolves to, or None when it cannot be known.

    `{"type": "prometheus", ...}` -> "prometheus"; a reference to a datasource variable
    (`$datasource`, `${datasource}`) -> that variable's `query` (its plugin type).
    """
    if isinstance(ref, dict) and isinstance(ref.get("type"), str) and ref["type"] != "datasource":
        return ref["type"]
    uid = datasource_uid(ref)
    if uid:
        name = variable_name_in(uid)
        if name:
            for var in dash.variables_of_type("datasource"):
                if var.get("name") == name and isinstance(var.get("query"), str):
                    return var["query"]
    if isinstance(ref, dict) and ref.get("type") == "datasource":
        return "datasource"  # Grafana's -- Dashboard -- / -- Mixed -- pseudo datasources
    return None


def is_promql_target(dash: Dashboard, panel: PanelRef, target: TargetRef) -> bool:
    """A target is PromQL unless its datasource is known to be something else (Loki, ...)."""
    kind = datasource_type(dash, target.raw.get("datasource"))
    if kind is None:
        kind = datasource_type(dash, panel.raw.get("datasource"))
    if kind is None or kind == "prometheus":
        return target.expr is not None or kind == "prometheus"
    return False

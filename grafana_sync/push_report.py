"""Text of a push: the plan, conflicts, outcomes and the summary (no I/O; the CLI prints it).

Every line goes through grafana_sync.redact.scrub before it is printed (the CLI does that).
"""

from __future__ import annotations

from typing import Any

from grafana_sync.sync import (
    CONFLICT,
    CREATE,
    DELETE,
    UNCHANGED,
    UPDATE,
    DashboardPlan,
    Outcome,
    Plan,
)

PAST = {CREATE: "created", UPDATE: "updated", DELETE: "deleted", "failed": "FAILED"}


def _refused(item: DashboardPlan) -> str:
    return "not deleted without --force" if item.local is None else \
        "not overwritten without --force"


def folder_text(item: DashboardPlan) -> str:
    return f"folder {item.folder.title!r}" if item.folder else "General"


def plan_lines(plan: Plan, *, force: bool) -> list[str]:
    lines: list[str] = []
    for fp in plan.folders:
        extra = f" (now {fp.current_title!r})" if fp.action == UPDATE else ""
        extra += f": {fp.reason}" if fp.reason else ""
        lines.append(f"  folder      {fp.action:<9}  {fp.folder.uid} {fp.folder.title!r}{extra}")
    for dp in plan.datasources:
        extra = f": {dp.reason}" if dp.reason else ""
        lines.append(f"  datasource  {dp.action:<9}  {dp.spec.uid} {dp.spec.name!r}{extra}")
    for item in plan.dashboards:
        head = f"  dashboard   {item.action:<9}  {item.uid} {item.title!r}"
        if item.action in (CREATE, UPDATE):
            head += f" in {folder_text(item)}"
        if item.reason:
            head += f": {item.reason}"
        if item.action == CONFLICT and not force:
            head += f"; {_refused(item)}"
        lines.append(head)
        if item.diff and item.action in (CONFLICT, UPDATE):
            lines.extend(diff_lines(item.diff))
    return lines


def diff_lines(diff: str) -> list[str]:
    """The panel-level diff, indented, without its header and summary lines."""
    keep = [line for line in diff.splitlines()
            if line.strip() and not line.startswith(("--- ", "+++ ", "dashboards: "))]
    return [f"      {line}" for line in keep]


def conflict_lines(plan: Plan) -> list[str]:
    """Conflicts (refused) and forced overwrites, each with the panel-level difference."""
    out = []
    for item in plan.conflicts:
        if isinstance(item, DashboardPlan):
            out.append(f"  dashboard   conflict   {item.uid} {item.title!r}: {item.reason}; "
                       f"{_refused(item)}")
            out.extend(diff_lines(item.diff))
        else:
            out.append(f"  datasource  conflict   {item.spec.uid}: {item.reason}")
    for item in plan.dashboards:
        if item.forced:
            out.append(f"  dashboard   forced     {item.uid} {item.title!r}: {item.reason}")
            out.extend(diff_lines(item.diff))
    return out


def summary(plan: Plan, outcomes: list[Outcome] | None) -> str:
    conflicts = len(plan.conflicts)
    if outcomes is None:
        return (f"Dry run: {plan.count(CREATE)} to create, {plan.count(UPDATE)} to update, "
                f"{plan.count(UNCHANGED)} unchanged, {conflicts} conflict(s), "
                f"{plan.count(DELETE)} to delete (dashboards); {len(plan.failures)} failed to "
                "plan. Nothing was changed.")
    done = [o for o in outcomes if o.kind == "dashboard"]

    def n(action: str) -> int:
        return sum(1 for o in done if o.action == action)

    failed = sum(1 for o in outcomes if o.failed) + len(plan.failures)
    return (f"Summary: {n(CREATE)} created, {n(UPDATE)} updated, {plan.count(UNCHANGED)} "
            f"unchanged, {conflicts} conflict(s) not pushed, {n(DELETE)} deleted, "
            f"{failed} failed.")


def outcome_line(o: Outcome) -> str:
    detail: Any = o.detail
    text = f"  {PAST.get(o.action, o.action):<8}  {o.kind} {o.name}"
    return f"{text}: {detail}" if o.failed else (f"{text} {detail!r}" if detail else text)


def conflicts_line(plan: Plan) -> str | None:
    """The closing error line when conflicts held something back (None without conflicts)."""
    if not plan.conflicts:
        return None
    names = ", ".join(c.uid if isinstance(c, DashboardPlan) else c.spec.uid
                      for c in plan.conflicts)
    return (f"not pushed because of conflicts: {names} (see above; --force overwrites or "
            "prunes dashboards)")

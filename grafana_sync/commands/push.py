"""`grafana-sync push`: ensure folders, datasources and dashboards in Grafana (DESIGN.md "CLI")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from grafana_sync.client import GrafanaClient
from grafana_sync.connection import ConnectionSettings, connection_options
from grafana_sync.errors import EXIT_FAILURE, EXIT_OK, ConfigError
from grafana_sync.project import find_project
from grafana_sync.provisioning import load_datasources, load_providers
from grafana_sync.sync import (
    CONFLICT,
    CREATE,
    DELETE,
    UNCHANGED,
    UPDATE,
    DashboardPlan,
    Outcome,
    Plan,
    apply_plan,
    load_local_dashboards,
    make_plan,
)

_PAST = {CREATE: "created", UPDATE: "updated", DELETE: "deleted", "failed": "FAILED"}


def default_message(root: Path) -> str:
    """`grafana-sync push <git describe>: <HEAD subject>` in a git checkout, else a plain line."""
    def git(*args: str) -> str:
        try:
            proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return ""
        return proc.stdout.strip() if proc.returncode == 0 else ""

    describe = git("describe", "--always", "--dirty")
    subject = git("log", "-1", "--format=%s")
    message = "grafana-sync push"
    if describe:
        message += f" {describe}"
    if subject:
        message += f": {subject}"
    return message[:500]


def _folder_text(item: DashboardPlan) -> str:
    return f"folder {item.folder.title!r}" if item.folder else "General"


def _plan_lines(plan: Plan, *, force: bool) -> list[str]:
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
            head += f" in {_folder_text(item)}"
        if item.reason:
            head += f": {item.reason}"
        if item.action == CONFLICT:
            head += "; not overwritten without --force" if not force else ""
        lines.append(head)
        if item.diff and item.action in (CONFLICT, UPDATE):
            lines.extend(_diff_lines(item.diff))
    return lines


def _diff_lines(diff: str) -> list[str]:
    """The panel-level diff, indented, without its header and summary lines."""
    keep = [line for line in diff.splitlines()
            if line.strip() and not line.startswith(("--- ", "+++ ", "dashboards: "))]
    return [f"      {line}" for line in keep]


def _conflict_lines(plan: Plan) -> list[str]:
    """Conflicts (refused) and forced overwrites, each with the panel-level difference."""
    out = []
    for item in plan.conflicts:
        if isinstance(item, DashboardPlan):
            out.append(f"  dashboard   conflict   {item.uid} {item.title!r}: {item.reason}; "
                       "not overwritten without --force")
            out.extend(_diff_lines(item.diff))
        else:
            out.append(f"  datasource  conflict   {item.spec.uid}: {item.reason}")
    for item in plan.dashboards:
        if item.forced:
            out.append(f"  dashboard   forced     {item.uid} {item.title!r}: {item.reason}")
            out.extend(_diff_lines(item.diff))
    return out


def _summary(plan: Plan, outcomes: list[Outcome] | None) -> str:
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


@click.command()
@click.option("--dry-run", is_flag=True,
              help="Print the plan (create/update/unchanged/conflict/delete) and change nothing.")
@click.option("--prune", is_flag=True,
              help="Delete dashboards tagged managed-by-grafana-sync that are no longer defined.")
@click.option("--force", is_flag=True,
              help="Overwrite dashboards edited in Grafana since the last push, and uids held "
                   "by dashboards this tool does not own.")
@click.option("-m", "--message", metavar="TEXT",
              help="Version message stored with each saved dashboard "
                   "[default: git describe + HEAD subject].")
@click.option("--skip-datasource", is_flag=True,
              help="Leave datasources alone (do not read provisioning/datasources/*.yaml).")
@click.option("--output-dir", metavar="DIR",
              help="Where the compiled dashboards are (as for `build`) [default: the project's "
                   "output-dir, else provisioning/dashboards/ at its root].")
@click.option("-j", "--jobs", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Dashboards read and written concurrently.")
@connection_options
def push(dry_run: bool, prune: bool, force: bool, message: str | None, skip_datasource: bool,
         output_dir: str | None, jobs: int, connection: ConnectionSettings | None) -> int:
    """Push compiled dashboards, their folders and the datasources to Grafana.

    Creates what is missing, updates what changed, leaves equal dashboards alone, and never
    overwrites a dashboard it does not own or one edited in Grafana since the last push unless
    --force is given. Exit 1 if anything failed or was refused (conflict).
    """
    if connection is None:
        raise ConfigError("no Grafana URL: give --url URL or set GRAFANA_URL")
    paths = find_project(output_dir=output_dir, required=output_dir is None)
    providers = load_providers(paths.output_dir)
    local = load_local_dashboards(paths.output_dir, providers)
    if not local:
        raise ConfigError(f"no compiled dashboards in {paths.output_dir}: run 'grafana-sync "
                          "build' first (push refuses to run, and to prune, with nothing defined)")
    try:
        datasources = [] if skip_datasource else load_datasources(paths.datasources_dir)
    except ConfigError as exc:
        raise ConfigError(f"{exc}; set it, or pass --skip-datasource to leave datasources alone") from None
    message = message if message is not None else default_message(paths.root)

    client = GrafanaClient(connection)
    try:
        client.health()
        user = client.current_user() or {}
        identity = user.get("login") if isinstance(user.get("login"), str) else None
        plan = make_plan(client, local, datasources, force=force, prune=prune,
                         identity=identity, jobs=jobs)
        if dry_run:
            click.echo(f"Plan for {client.base_url} (dry run):")
            for line in _plan_lines(plan, force=force):
                click.echo(line)
            click.echo(_summary(plan, None))
            for kind, name, error in plan.failures:
                click.echo(f"error: {kind} {name}: {error}", err=True)
            return EXIT_FAILURE if plan.conflicts or plan.failures else EXIT_OK
        outcomes = _apply(client, plan, message=message, jobs=jobs)
    finally:
        client.close()

    for line in _conflict_lines(plan):
        click.echo(line)
    click.echo(_summary(plan, outcomes))
    failures = plan.failures + [(o.kind, o.name, o.detail) for o in outcomes if o.failed]
    for kind, name, error in failures:
        click.echo(f"error: {kind} {name}: {error}", err=True)
    if plan.conflicts:
        names = ", ".join(c.uid if isinstance(c, DashboardPlan) else c.spec.uid
                          for c in plan.conflicts)
        click.echo(f"error: not pushed because of conflicts: {names} (see above; --force "
                   "overwrites dashboards)", err=True)
    return EXIT_FAILURE if failures or plan.conflicts else EXIT_OK


def _apply(client: GrafanaClient, plan: Plan, *, message: str, jobs: int) -> list[Outcome]:
    total = sum(1 for f in plan.folders if f.action in (CREATE, UPDATE)) + \
        sum(1 for d in plan.datasources if d.action in (CREATE, UPDATE)) + \
        sum(1 for d in plan.dashboards if d.action in (CREATE, UPDATE, DELETE))
    if total == 0:
        return []
    if sys.stdout.isatty():
        done: list[Outcome] = []
        with click.progressbar(length=total, label="Pushing", show_pos=True) as bar:
            def tick(outcome: Outcome) -> None:
                done.append(outcome)
                bar.update(1)
            outcomes = apply_plan(client, plan, message=message, jobs=jobs, on_outcome=tick)
        for o in outcomes:
            click.echo(_outcome_line(o))
        return outcomes
    return apply_plan(client, plan, message=message, jobs=jobs,
                      on_outcome=lambda o: click.echo(_outcome_line(o)))


def _outcome_line(o: Outcome) -> str:
    detail: Any = o.detail
    text = f"  {_PAST.get(o.action, o.action):<8}  {o.kind} {o.name}"
    return f"{text}: {detail}" if o.failed else (f"{text} {detail!r}" if detail else text)

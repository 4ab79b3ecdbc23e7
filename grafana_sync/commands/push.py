"""`grafana-sync push`: ensure folders, datasources and dashboards in Grafana (DESIGN.md "CLI")."""

from __future__ import annotations

import sys
from typing import Any

import click

from grafana_sync import push_report as report
from grafana_sync.client import GrafanaClient
from grafana_sync.commands.options import compiled_dir_option, connection_options
from grafana_sync.connection import ConnectionSettings
from grafana_sync.errors import ConfigError
from grafana_sync.project import find_project
from grafana_sync.provisioning import DatasourceSpec, load_datasources, load_providers
from grafana_sync.redact import escape_controls, scrub
from grafana_sync.sync import (
    DEFAULT_JOBS,
    DEFAULT_READ_JOBS,
    LocalDashboard,
    Outcome,
    PushResult,
    apply_plan,
    default_message,
    load_local_dashboards,
    plan_push,
)
from grafana_sync.sync import push as push_dashboards


def _echo(line: str, *, err: bool = False) -> None:
    click.echo(escape_controls(scrub(line)), err=err)


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
@compiled_dir_option
@click.option("-j", "--jobs", type=click.IntRange(1, 32), default=DEFAULT_JOBS,
              show_default=True, help="Writes (saves, deletes) sent concurrently.")
@click.option("--read-jobs", type=click.IntRange(1, 64), default=DEFAULT_READ_JOBS,
              show_default=True, help="Reads (GET, retried when they fail) sent concurrently.")
@connection_options
def push(dry_run: bool, prune: bool, force: bool, message: str | None, skip_datasource: bool,
         output_dir: str | None, jobs: int, read_jobs: int,
         connection: ConnectionSettings | None) -> int:
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
        if dry_run:
            result = push_dashboards(client, local, datasources, dry_run=True, force=force,
                                     prune=prune, read_jobs=read_jobs)
        else:
            result = _push_with_progress(client, local, datasources, force=force, prune=prune,
                                         message=message, jobs=jobs, read_jobs=read_jobs)
    finally:
        client.close()
    plan = result.plan
    if dry_run:
        _echo(f"Plan for {client.base_url} (dry run):")
        for line in report.plan_lines(plan, force=force):
            _echo(line)
    else:
        for line in report.conflict_lines(plan):
            _echo(line)
    _echo(report.summary(plan, result.outcomes))
    for kind, name, error in result.failures:
        _echo(f"error: {kind} {name}: {error}", err=True)
    closing = report.conflicts_line(plan)
    if closing and not dry_run:
        _echo(f"error: {closing}", err=True)
    return result.exit_code


def _push_with_progress(client: GrafanaClient, local: list[LocalDashboard],
                        datasources: list[DatasourceSpec], *, message: str, jobs: int,
                        read_jobs: int, **options: Any) -> PushResult:
    """Push for real, printing each outcome as it happens (a progress bar on a terminal)."""
    if not sys.stdout.isatty():
        return push_dashboards(client, local, datasources, message=message, jobs=jobs,
                               read_jobs=read_jobs,
                               on_outcome=lambda o: _echo(report.outcome_line(o)), **options)
    plan = plan_push(client, local, datasources, read_jobs=read_jobs, **options)
    if not plan.writes:
        return PushResult(plan, [])
    done: list[Outcome] = []
    with click.progressbar(length=plan.writes, label="Pushing", show_pos=True) as bar:
        def tick(outcome: Outcome) -> None:
            done.append(outcome)
            bar.update(1)
        outcomes = apply_plan(client, plan, message=message, jobs=jobs, on_outcome=tick)
    for o in done:
        _echo(report.outcome_line(o))
    return PushResult(plan, outcomes)

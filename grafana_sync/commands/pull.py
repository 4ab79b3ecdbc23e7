"""`grafana-sync pull [--folder UID] [--tag TAG] [UID...] [--python] [--force]` (GET only)."""

from __future__ import annotations

from pathlib import Path

import click

from grafana_sync.client import GrafanaClient
from grafana_sync.commands.options import connection_options, defined_dir_option
from grafana_sync.connection import ConnectionSettings
from grafana_sync.errors import EXIT_FAILURE, EXIT_OK, ConfigError
from grafana_sync.project import find_project, relative_to_cwd
from grafana_sync.pull import describe_selection, select_uids
from grafana_sync.pull import pull as pull_dashboards


@click.command()
@click.argument("uids", nargs=-1, metavar="[UID...]")
@click.option("--folder", "folders", multiple=True, metavar="UID",
              help="Pull the dashboards of this folder (repeatable).")
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Pull the dashboards carrying this tag (repeatable: all tags must match).")
@click.option("--output-dir", default="pulled", show_default=True, metavar="DIR",
              help="Where to write <uid>.json for each dashboard.")
@click.option("--python", "as_python", is_flag=True,
              help="Also write each dashboard as a Python module (through `grafana-sync import`).")
@click.option("--dashboards-dir", metavar="DIR",
              help="Where --python writes the modules [default: the project's dashboards-dir, "
                   "else dashboards/ at its root].")
@defined_dir_option
@click.option("--force", is_flag=True,
              help="Overwrite existing files and write dashboards the repository already defines.")
@connection_options
def pull(connection: ConnectionSettings | None, uids: tuple[str, ...], folders: tuple[str, ...],
         tags: tuple[str, ...], output_dir: str, as_python: bool, dashboards_dir: str | None,
         compiled_dir: str | None, force: bool) -> int:
    """Fetch live dashboards from Grafana as JSON files (and with --python as modules).

    \b
    Only reads Grafana (GET). Without UIDs, --folder or --tag every dashboard is pulled.
    A file that exists is not overwritten, and a dashboard this repository already defines
    (its uid is among the compiled dashboards) is not written as a module, without --force.

    \b
    Examples:
      grafana-sync pull --url https://grafana.example.com --folder ops --python
      grafana-sync pull --tag ml-monitoring --output-dir pulled/
      grafana-sync pull abc123 def456 --python --force
    """
    if connection is None:
        raise ConfigError("pull needs Grafana's address: pass --url URL (or set GRAFANA_URL)")
    project = find_project(required=False, dashboards_dir=dashboards_dir, output_dir=compiled_dir)
    client = GrafanaClient(connection)
    try:
        client.health()
        chosen = select_uids(client, uids, folders, tags)
        if not chosen:
            click.echo(f"No dashboards match {describe_selection(list(uids), list(folders), list(tags))}.")
            return EXIT_OK
        result = pull_dashboards(client, chosen, json_dir=Path(output_dir),
                                 python_dir=relative_to_cwd(project.dashboards_dir)
                                 if as_python else None,
                                 compiled_dir=relative_to_cwd(project.output_dir), force=force)
    finally:
        client.close()
    for item in result.pulled:
        where = f"{item.json_path}" + (f" and {item.module_path}" if item.module_path else "")
        click.echo(f"{item.uid} ({item.title}) -> {where}")
        for note in item.notes:
            click.echo(f"  note: {note}")
    for uid, title in sorted(result.folders.items()):
        click.echo(f"folder {uid} ({title}): push names a folder after a provider in "
                   f"provisioning/dashboards/*.yaml (folder: {title}, folderUid: {uid}); without one, "
                   f"it retitles the folder {uid!r}")
    for line in result.skipped:
        click.echo(f"skipped: {line}", err=True)
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(f"{len(result.pulled)} pulled, {len(result.skipped)} skipped, "
               f"{len(result.errors)} failed.")
    if result.errors:
        return max(e.exit_code for e in result.errors)
    return EXIT_FAILURE if result.skipped else EXIT_OK

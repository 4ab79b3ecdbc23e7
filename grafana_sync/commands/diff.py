"""`grafana-sync diff`: panel-level diff of the local compiled dashboards against a reference.

The reference ("old" side) is the live Grafana (default), another folder of JSON (--against) or
the JSON committed at a git ref (--against-ref); the local compiled dashboards are the "new" side.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from grafana_sync.api import stale_outputs
from grafana_sync.client import GrafanaClient
from grafana_sync.commands.options import connection_options
from grafana_sync.connection import ConnectionSettings
from grafana_sync.diff import diff_dashboards
from grafana_sync.diff_render import render_json, render_markdown, render_text
from grafana_sync.errors import EXIT_FAILURE, EXIT_OK, ConfigError
from grafana_sync.gitsource import load_dashboards_at_ref
from grafana_sync.jsonio import load_compiled_dashboards
from grafana_sync.project import Project, find_project
from grafana_sync.redact import public_url
from grafana_sync.sync import load_remote_dashboards


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _remote(connection: ConnectionSettings, local_uids: set[str]) -> dict[str, dict[str, Any]]:
    client = GrafanaClient(connection)
    try:
        client.health()
        return load_remote_dashboards(client, local_uids)
    finally:
        client.close()


def _warn_stale(project: Project) -> None:
    """Say so when compiled files are older than a source that now compiles differently."""
    stale = stale_outputs(project)
    if stale:
        files = ", ".join(_display(compiled) for compiled, _src in stale[:3])
        more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
        click.echo(f"warning: {files}{more} older than {_display(stale[0][1])} and not what the "
                   "sources compile to now; run `grafana-sync build` first (this diff compares "
                   "the compiled JSON)", err=True)


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


@click.command()
@click.option("--against", "against_dir", metavar="DIR",
              help="Compare against another folder of dashboard JSON instead of Grafana.")
@click.option("--against-ref", metavar="GITREF",
              help="Compare against the dashboard JSON committed at a git ref (e.g. origin/main); "
                   "read with git, nothing is checked out.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True,
              help="text (coloured on a terminal), markdown (a PR comment) or json "
                   "(docs/diff-output.schema.json).")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when there are differences, 0 when there are none.")
@click.option("--output-dir", metavar="DIR",
              help="Where the local compiled dashboards are (as for `build`) [default: the "
                   "project's output-dir, else provisioning/dashboards/ at its root].")
@connection_options
def diff(connection: ConnectionSettings | None, against_dir: str | None,
         against_ref: str | None, fmt: str, exit_code: bool, output_dir: str) -> int:
    """Panel-level diff of the local compiled dashboards against Grafana, a folder or a git ref.

    \b
    Examples:
      grafana-sync diff --url https://grafana.example.com   local vs the live Grafana
      grafana-sync diff --against-ref origin/main           local vs the JSON committed on main
      grafana-sync diff --against-ref HEAD --exit-code      fail when the build changed anything
      grafana-sync diff --against other/dir --format json   machine-readable

    Noise (id, version, iteration, fields Grafana fills in on save) is ignored; see docs/diff.md.
    """
    if against_dir and against_ref:
        raise ConfigError("give either --against DIR or --against-ref GITREF, not both")
    paths = find_project(output_dir=output_dir, required=output_dir is None)
    if not paths.output_dir.is_dir():
        raise ConfigError(f"{_display(paths.output_dir)}: no compiled dashboards "
                          f"(run `grafana-sync build` first)")
    if against_ref:
        old = load_dashboards_at_ref(against_ref, paths.output_dir)
        old_label = against_ref
        new = load_compiled_dashboards(paths.output_dir)
    elif against_dir:
        other = Path(against_dir)
        if not other.is_dir():
            raise ConfigError(f"{against_dir}: --against needs a directory of dashboard JSON")
        old = load_compiled_dashboards(other)
        old_label = against_dir
        new = load_compiled_dashboards(paths.output_dir)
    elif connection is not None:
        new = load_compiled_dashboards(paths.output_dir)
        old = _remote(connection, set(new))
        old_label = f"grafana {public_url(connection.url)}"
    else:
        raise ConfigError("nothing to compare against: pass --url URL (or set GRAFANA_URL) for "
                          "the live Grafana, --against DIR or --against-ref GITREF")
    result = diff_dashboards(old, new, old_label=old_label,
                             new_label=f"local {_display(paths.output_dir)}")
    _warn_stale(paths)
    if fmt == "json":
        click.echo(render_json(result), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        color = _use_color()
        click.echo(render_text(result, color=color), nl=False, color=color)
    if exit_code and not result.is_empty:
        return EXIT_FAILURE
    return EXIT_OK

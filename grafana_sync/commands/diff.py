"""`grafana-sync diff`: panel-level diff of the local compiled dashboards against a reference.

The reference ("old" side) is the live Grafana (default), another folder of JSON (--against) or
the JSON committed at a git ref (--against-ref); the local compiled dashboards are the "new" side.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from grafana_sync import api
from grafana_sync.commands.options import compiled_dir_option, connection_options
from grafana_sync.connection import ConnectionSettings
from grafana_sync.errors import EXIT_FAILURE, EXIT_OK
from grafana_sync.project import relative_to_cwd


def _display(path: Path) -> str:
    return str(relative_to_cwd(path)) or "."


def _warn_stale(stale: list[tuple[Path, Path]]) -> None:
    """Say so when compiled files are older than a source that now compiles differently."""
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
@compiled_dir_option
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
    report = api.diff(against=against_dir, against_ref=against_ref, output_dir=output_dir,
                      connection=connection if not (against_dir or against_ref) else None)
    result = report.result
    _warn_stale(report.stale)
    color = _use_color() if fmt == "text" else False
    click.echo(report.render(fmt, color=color), nl=False, color=color)
    if exit_code and not result.is_empty:
        return EXIT_FAILURE
    return EXIT_OK

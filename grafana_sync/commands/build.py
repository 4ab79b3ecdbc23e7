"""`grafana-sync build [--check]`: compile dashboard modules to canonical Grafana JSON."""

from __future__ import annotations

from pathlib import Path

import click

from grafana_sync.api import known_datasources
from grafana_sync.compile import compare_output, compile_all, write_outputs
from grafana_sync.project import find_project, relative_to_cwd


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@click.command()
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 listing stale, missing or orphaned files.")
@click.option("--dashboards-dir", type=click.Path(file_okay=False),
              help="Folder of dashboard sources [default: dashboards-dir of the project's "
                   "[tool.grafana-sync], else dashboards/ at the project root].")
@click.option("--output-dir", type=click.Path(file_okay=False),
              help="Where <uid>.json files are written [default: output-dir of the project, "
                   "else provisioning/dashboards/ at the project root].")
def build(check: bool, dashboards_dir: str | None, output_dir: str | None) -> int:
    """Compile every dashboard source (module or .json) to canonical Grafana JSON.

    Each module in DASHBOARDS_DIR not starting with `_` exposes `dashboard` (a grafanalib
    Dashboard, a foundation-SDK dashboard or a dict) or `dashboards` (a list), and may set
    `folder` (a Grafana folder uid); each .json file there is a dashboard too. Output:
    OUTPUT_DIR/[folder/]<uid>.json with sorted keys and 2-space indent, written atomically;
    files for dashboards that no longer exist are removed.

    Exit codes: 0 built (or up to date with --check), 1 stale output or build failure,
    2 configuration error (bad module, duplicate or invalid uid, untitled panel, overlaps).
    """
    paths = find_project(dashboards_dir=dashboards_dir, output_dir=output_dir,
                         required=dashboards_dir is None or output_dir is None)
    # paths relative to the current directory keep error lines short
    result = compile_all(relative_to_cwd(paths.dashboards_dir), known_datasources(paths))
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    if result.errors:
        click.echo(f"build failed: {len(result.errors)} error(s); nothing written", err=True)
        return result.exit_code
    state = compare_output(result.dashboards, paths.output_dir)
    root = paths.root
    if check:
        problems = ([f"stale: {_rel(p, root)}" for p in state.stale]
                    + [f"missing: {_rel(p, root)}" for p in state.missing]
                    + [f"orphaned: {_rel(p, root)}" for p in state.orphaned])
        if problems:
            for line in problems:
                click.echo(line)
            click.echo(f"{len(problems)} file(s) out of date: run `grafana-sync build` and commit",
                       err=True)
            return 1
        click.echo(f"{len(result.dashboards)} dashboard(s) up to date")
        return 0
    write_outputs(result.dashboards, paths.output_dir, state)
    for p in state.missing:
        click.echo(f"created {_rel(p, root)}")
    for p in state.stale:
        click.echo(f"updated {_rel(p, root)}")
    for p in state.orphaned:
        click.echo(f"removed {_rel(p, root)} (no longer defined)")
    for p in state.foreign:
        click.echo(f"note: left {_rel(p, root)} alone (not written by build)", err=True)
    click.echo(f"{len(result.dashboards)} dashboard(s) built, {len(state.unchanged)} unchanged")
    return 0

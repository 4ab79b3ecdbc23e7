"""`grafana-sync build [--check]`: compile dashboard modules to canonical Grafana JSON."""

from __future__ import annotations

from pathlib import Path

import click

from grafana_sync.compile import (
    MANIFEST_NAME,
    compare_output,
    compile_all,
    refusal,
    write_outputs,
)
from grafana_sync.paths import DEFAULT_DASHBOARDS_DIR, DEFAULT_OUTPUT_DIR, ProjectPaths


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@click.command()
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 listing stale, missing or orphaned files.")
@click.option("--dashboards-dir", default=DEFAULT_DASHBOARDS_DIR, show_default=True,
              type=click.Path(file_okay=False), help="Folder of dashboard modules.")
@click.option("--output-dir", default=DEFAULT_OUTPUT_DIR, show_default=True,
              type=click.Path(file_okay=False), help="Where <uid>.json files are written.")
def build(check: bool, dashboards_dir: str, output_dir: str) -> int:
    """Compile every dashboard module to canonical Grafana JSON.

    Each module in DASHBOARDS_DIR not starting with `_` exposes `dashboard` (a grafanalib
    Dashboard) or `dashboards` (a list), and may set `folder` (a Grafana folder uid). Output:
    OUTPUT_DIR/[folder/]<uid>.json with sorted keys and 2-space indent, written atomically,
    and OUTPUT_DIR/.grafana-sync-manifest listing them. Only files in that manifest are ever
    replaced or removed (those of dashboards no longer defined); a folder holding other JSON
    files is refused (exit 2).

    Exit codes: 0 built (or up to date with --check), 1 stale output or build failure,
    2 configuration error (bad module, duplicate or invalid uid, untitled panel, overlaps).
    """
    paths = ProjectPaths.from_root(".", dashboards_dir=dashboards_dir, output_dir=output_dir)
    result = compile_all(Path(dashboards_dir))  # relative paths keep error lines short
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
                    + [f"orphaned: {_rel(p, root)}" for p in state.orphaned]
                    + [f"not written by build: {_rel(p, root)}" for p in state.refused])
        if state.manifest_stale and not problems:
            problems.append(f"stale: {_rel(paths.output_dir / MANIFEST_NAME, root)}")
        if problems:
            for line in problems:
                click.echo(line)
            click.echo(f"{len(problems)} file(s) out of date: run `grafana-sync build` and commit",
                       err=True)
            return 1
        click.echo(f"{len(result.dashboards)} dashboard(s) up to date")
        return 0
    if state.refused:
        raise refusal(state, paths.output_dir, show=lambda p: _rel(p, root))
    write_outputs(result.dashboards, paths.output_dir, state)
    for p in state.missing:
        click.echo(f"created {_rel(p, root)}")
    for p in state.stale:
        click.echo(f"updated {_rel(p, root)}")
    for p in state.orphaned:
        click.echo(f"removed {_rel(p, root)} (no longer defined)")
    click.echo(f"{len(result.dashboards)} dashboard(s) built, {len(state.unchanged)} unchanged")
    return 0

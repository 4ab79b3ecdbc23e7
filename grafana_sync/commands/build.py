"""`grafana-sync build [--check]`: compile dashboard modules to canonical Grafana JSON, and rule
modules to Prometheus rule files (plus their promtool tests)."""

from __future__ import annotations

from pathlib import Path

import click

from grafana_sync.api import known_datasources
from grafana_sync.compile import (
    MANIFEST_NAME,
    compare_output,
    compile_all,
    refusal,
    write_outputs,
)
from grafana_sync.errors import ConfigError
from grafana_sync.project import Project, find_project, relative_to_cwd
from grafana_sync.rules import MANIFEST, FolderState, compare_folder, compile_rules, write_folder


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _report_errors(errors: list) -> None:
    """One line per distinct error (a bad shared config fails every module the same way)."""
    seen: set[str] = set()
    for error in errors:
        for line in (str(error),):
            if line not in seen:
                seen.add(line)
                click.echo(f"error: {line}", err=True)


def _rule_states(project: Project) -> tuple[list[FolderState], list, int]:
    """Compile the rule modules (if the rules folder exists): folder states, errors, file count."""
    source = relative_to_cwd(project.rules_dir)
    if not source.is_dir():
        if project.rules_dir_given:
            return [], [ConfigError(f"{source}: rules folder not found")], 0
        return [], [], 0
    out, tests = project.rules_output_dir, project.rules_tests_dir
    result = compile_rules(source, out, tests)
    if result.errors:
        return [], result.errors, 0
    states = [compare_folder(result.rules, out)]
    if result.tests or (tests / MANIFEST).exists():
        states.append(compare_folder(result.tests, tests))
    return states, [], len(result.rules) + len(result.tests)


@click.command()
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 listing stale, missing or orphaned files.")
@click.option("--dashboards-dir", type=click.Path(file_okay=False),
              help="Folder of dashboard sources [default: dashboards-dir of the project's "
                   "[tool.grafana-sync], else dashboards/ at the project root].")
@click.option("--output-dir", type=click.Path(file_okay=False),
              help="Where <uid>.json files are written [default: output-dir of the project, "
                   "else provisioning/dashboards/ at the project root].")
@click.option("--rules-dir", type=click.Path(file_okay=False),
              help="Folder of Prometheus rule-group modules [default: rules-dir of the project, "
                   "else rules/ at its root, skipped when absent].")
@click.option("--rules-output-dir", type=click.Path(file_okay=False),
              help="Where compiled rule files (<module>.yml) go [default: rules-output-dir, "
                   "else prometheus/rules/].")
@click.option("--rules-tests-dir", type=click.Path(file_okay=False),
              help="Where promtool tests (<module>_test.yml) go [default: rules-tests-dir, "
                   "else prometheus/tests/].")
def build(check: bool, dashboards_dir: str | None, output_dir: str | None, rules_dir: str | None,
          rules_output_dir: str | None, rules_tests_dir: str | None) -> int:
    """Compile every dashboard source (module or .json) to canonical Grafana JSON, and every
    rule module to Prometheus rule files.

    Each module in DASHBOARDS_DIR not starting with `_` exposes `dashboard` (a grafanalib
    Dashboard, a foundation-SDK dashboard or a dict) or `dashboards` (a list), and may set
    `folder` (a Grafana folder uid); each .json file there is a dashboard too. Output:
    OUTPUT_DIR/[folder/]<uid>.json with sorted keys and 2-space indent, written atomically,
    and OUTPUT_DIR/.grafana-sync-manifest listing them. Only files in that manifest are ever
    replaced or removed (those of dashboards no longer defined); a folder holding other JSON
    files is refused (exit 2).

    Each module in RULES_DIR not starting with `_` exposes `groups` (Prometheus rule groups) and
    optionally `tests` (promtool test cases): written as canonical YAML to
    RULES_OUTPUT_DIR/<module>.yml and RULES_TESTS_DIR/<module>_test.yml. Build removes or
    overwrites only rule files it wrote itself (listed in the folder's .grafana-sync-manifest.json).

    Exit codes: 0 built (or up to date with --check), 1 stale output or build failure,
    2 configuration error (bad module, duplicate or invalid uid, untitled panel, overlaps, bad rule).
    """
    paths = find_project(dashboards_dir=dashboards_dir, output_dir=output_dir,
                         rules_dir=rules_dir, rules_output_dir=rules_output_dir,
                         rules_tests_dir=rules_tests_dir,
                         required=dashboards_dir is None or output_dir is None)
    root = paths.root
    # paths relative to the current directory keep error lines short
    result = compile_all(relative_to_cwd(paths.dashboards_dir), known_datasources(paths))
    rule_states, rule_errors, n_rule_files = _rule_states(paths)
    errors = [*result.errors, *rule_errors]
    if errors:
        _report_errors(errors)
        click.echo(f"build failed: {len(errors)} error(s); nothing written", err=True)
        return max(e.exit_code for e in errors)
    state = compare_output(result.dashboards, paths.output_dir)
    if check:
        problems = ([f"stale: {_rel(p, root)}" for p in state.stale]
                    + [f"missing: {_rel(p, root)}" for p in state.missing]
                    + [f"orphaned: {_rel(p, root)}" for p in state.orphaned]
                    + [f"not written by build: {_rel(p, root)}" for p in state.refused])
        if state.manifest_stale and not problems:
            problems.append(f"stale: {_rel(paths.output_dir / MANIFEST_NAME, root)}")
        for rs in rule_states:
            problems += ([f"stale: {_rel(p, root)}" for p in rs.stale + rs.foreign]
                         + [f"missing: {_rel(p, root)}" for p in rs.missing]
                         + [f"orphaned: {_rel(p, root)}" for p in rs.orphaned])
            if rs.manifest_stale and not (rs.stale or rs.missing or rs.orphaned or rs.foreign):
                problems.append(f"stale: {_rel(rs.folder / MANIFEST, root)}")
        if problems:
            for line in problems:
                click.echo(line)
            click.echo(f"{len(problems)} file(s) out of date: run `grafana-sync build` and commit",
                       err=True)
            return 1
        rules_note = f", {n_rule_files} rule file(s)" if rule_states else ""
        click.echo(f"{len(result.dashboards)} dashboard(s){rules_note} up to date")
        return 0
    if state.refused:
        raise refusal(state, paths.output_dir, show=lambda p: _rel(p, root))
    for rs in rule_states:  # refuse before writing anything if a rule target is not ours
        if rs.foreign:
            write_folder(rs)  # raises the one-line ConfigError
    write_outputs(result.dashboards, paths.output_dir, state)
    for p in state.missing:
        click.echo(f"created {_rel(p, root)}")
    for p in state.stale:
        click.echo(f"updated {_rel(p, root)}")
    for p in state.orphaned:
        click.echo(f"removed {_rel(p, root)} (no longer defined)")
    for rs in rule_states:
        write_folder(rs)
        for p in rs.missing:
            click.echo(f"created {_rel(p, root)}")
        for p in rs.stale:
            click.echo(f"updated {_rel(p, root)}")
        for p in rs.orphaned:
            click.echo(f"removed {_rel(p, root)} (no longer defined)")
        for p in rs.kept:
            click.echo(f"note: left {_rel(p, root)} alone (changed since build wrote it)", err=True)
    rules_note = f"; {n_rule_files} rule file(s) built" if rule_states else ""
    click.echo(f"{len(result.dashboards)} dashboard(s) built, {len(state.unchanged)} unchanged{rules_note}")
    return 0

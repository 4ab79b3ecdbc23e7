"""`grafana-sync build [--check]`: compile dashboard modules to canonical Grafana JSON, and rule
modules to Prometheus rule files (plus their promtool tests)."""

from __future__ import annotations

from pathlib import Path

import click

from grafana_sync import api
from grafana_sync.commands.options import compiled_dir_option, folder_option
from grafana_sync.project import relative_to


def _rel(path: Path, root: Path) -> str:
    return str(relative_to(path, root))


def _failed(errors: list) -> int:
    """One line per distinct error (a bad shared config fails every module the same way)."""
    lines = list(dict.fromkeys(str(error) for error in errors))
    for line in lines:
        click.echo(f"error: {line}", err=True)
    click.echo(f"build failed: {len(lines)} error(s); nothing written", err=True)
    return max(e.exit_code for e in errors)


@click.command()
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 listing stale, missing or orphaned files.")
@folder_option("--dashboards-dir",
               "Folder of dashboard sources [default: dashboards-dir of the project's "
               "[tool.grafana-sync], else dashboards/ at the project root].")
@compiled_dir_option
@folder_option("--rules-dir",
               "Folder of Prometheus rule-group modules [default: rules-dir of the project, "
               "else rules/ at its root, skipped when absent].")
@folder_option("--rules-output-dir",
               "Where compiled rule files (<module>.yml) go [default: rules-output-dir, "
               "else prometheus/rules/].")
@folder_option("--rules-tests-dir",
               "Where promtool tests (<module>_test.yml) go [default: rules-tests-dir, "
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
    options = {"dashboards_dir": dashboards_dir, "output_dir": output_dir, "rules_dir": rules_dir,
               "rules_output_dir": rules_output_dir, "rules_tests_dir": rules_tests_dir}
    if check:
        report = api.check(**options)
        if report.errors:
            return _failed(report.errors)
        root = report.project.root
        problems = report.problems()
        if problems:
            for kind, path in problems:
                click.echo(f"{kind}: {_rel(path, root)}")
            click.echo(f"{len(problems)} file(s) out of date: run `grafana-sync build` and commit",
                       err=True)
            return 1
        rules_note = f", {report.rule_files} rule file(s)" if report.has_rules else ""
        click.echo(f"{len(report.dashboards)} dashboard(s){rules_note} up to date")
        return 0
    built = api.build(**options)
    if built.errors:
        return _failed(built.errors)
    root = built.project.root
    for p in built.created:
        click.echo(f"created {_rel(p, root)}")
    for p in built.updated:
        click.echo(f"updated {_rel(p, root)}")
    for p in built.removed:
        click.echo(f"removed {_rel(p, root)} (no longer defined)")
    for p, why in built.left_alone:
        click.echo(f"note: left {_rel(p, root)} alone ({why})", err=True)
    rules_note = f"; {built.rule_files} rule file(s) built" if built.rule_states else ""
    unchanged = len(built.state.unchanged) if built.state else 0
    skipped = (f"; {built.skipped_sources} source(s) skipped, nothing they read changed"
               if built.skipped_sources else "")
    click.echo(f"{len(built.dashboards)} dashboard(s) built, {unchanged} unchanged{rules_note}"
               f"{skipped}")
    return 0

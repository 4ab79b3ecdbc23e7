"""`grafana-sync lint`: check compiled dashboard JSON against dashboard-linter's rules and ours."""

from __future__ import annotations

from pathlib import Path

import click

from grafana_sync import api
from grafana_sync.errors import EXIT_FAILURE, EXIT_OK, ConfigError


def _list_rules() -> str:
    from grafana_sync.lint.registry import RULES

    lines = []
    for rule in RULES:
        state = "" if rule.enabled_by_default else " (off by default)"
        lines.append(f"{rule.name:38} {rule.severity:7} {rule.what}{state}")
    return "\n".join(lines)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text: one line per finding and a summary; json: a list.")
@click.option("--metrics-contract", type=click.Path(path_type=Path),
              help="Markdown metrics contract for metric-contract-rule, applied to every PATH. "
                   "Default: metrics-contract in [tool.grafana-sync.lint] of pyproject.toml, "
                   "applied to the project's compiled dashboards.")
@click.option("--rules", "rule_specs", multiple=True, metavar="PATH",
              help="Prometheus rule file, directory or glob defining recording rules "
                   "(repeatable). Default: rules in [tool.grafana-sync.lint].")
@click.option("-c", "--config", "config_files", multiple=True, type=click.Path(path_type=Path),
              help="Extra .lint file (repeatable), on top of the .lint files found next to "
                   "each dashboard, in its parent folders and at the project root.")
@click.option("--enable", multiple=True, metavar="RULE",
              help="Enable a rule that is off by default (repeatable).")
@click.option("--disable", multiple=True, metavar="RULE", help="Disable a rule (repeatable).")
@click.option("--list-rules", is_flag=True, help="List the rules and exit.")
def lint(
    paths: tuple[Path, ...],
    fmt: str,
    metrics_contract: Path | None,
    rule_specs: tuple[str, ...],
    config_files: tuple[Path, ...],
    enable: tuple[str, ...],
    disable: tuple[str, ...],
    list_rules: bool,
) -> int:
    """Lint compiled dashboard JSON files (PATH...; none = every compiled dashboard).

    Rules carry Grafana dashboard-linter's names; `.lint` files in its format exclude findings
    or downgrade them to warnings. Exit 1 on any error-level finding, 2 on bad input.
    """
    try:  # imported here so `grafana-sync --help` does not load the PromQL parser
        from grafana_sync.lint.output import render_json, render_text
        from grafana_sync.lint.runner import run_lint  # noqa: F401  (fails early when missing)
    except ImportError as exc:  # promql-parser missing from an old install
        raise ConfigError(f"grafana-sync lint needs {exc.name or 'promql-parser'}: "
                          "pip install promql-parser") from None
    if list_rules:
        click.echo(_list_rules())
        return EXIT_OK

    result = api.lint(paths, metrics_contract=metrics_contract, rules=rule_specs,
                      config_files=config_files, enable=enable, disable=disable)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(render_json(result) if fmt == "json" else render_text(result), nl=False)
    return EXIT_FAILURE if result.errors else EXIT_OK

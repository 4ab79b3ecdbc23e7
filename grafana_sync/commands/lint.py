"""`grafana-sync lint`: check compiled dashboard JSON against dashboard-linter's rules and ours."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grafana_sync import api
from grafana_sync.errors import EXIT_FAILURE, EXIT_OK, ConfigError
from grafana_sync.jsonio import decode_text


def _read_stdin() -> str:
    """stdin as UTF-8 text: bytes that are not UTF-8 are a one-line error, not a traceback."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # already text (a test's StringIO, an embedding application)
        return sys.stdin.read()
    return decode_text(buffer.read(), "<stdin>")


def _list_rules() -> str:
    from grafana_sync.lint.registry import RULES

    lines = []
    for rule in RULES:
        state = "" if rule.enabled_by_default else " (off by default)"
        state += " (fixable)" if rule.fixable else ""
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
@click.option("--fix", is_flag=True,
              help="Fix what can be fixed mechanically (rules marked fixable in --list-rules), "
                   "rewriting each file atomically with only those values changed, then report "
                   "what is left.")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Lint one dashboard read from stdin (for editors). With --fix, the fixed "
                   "JSON goes to stdout and the findings left to stderr.")
@click.option("--stdin-filename", type=click.Path(path_type=Path), metavar="PATH",
              help="With --stdin: the file the text comes from, for messages and to find its "
                   ".lint files (it need not exist).")
@click.option("--list-rules", is_flag=True, help="List the rules and exit.")
def lint(
    paths: tuple[Path, ...],
    fmt: str,
    metrics_contract: Path | None,
    rule_specs: tuple[str, ...],
    config_files: tuple[Path, ...],
    enable: tuple[str, ...],
    disable: tuple[str, ...],
    fix: bool,
    from_stdin: bool,
    stdin_filename: Path | None,
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

    if from_stdin and paths:
        raise ConfigError("--stdin lints the dashboard read from stdin: give no PATH with it")
    if stdin_filename is not None and not from_stdin:
        raise ConfigError("--stdin-filename goes with --stdin")
    stdin_text = _read_stdin() if from_stdin else None

    result = api.lint(paths, metrics_contract=metrics_contract, rules=rule_specs,
                      config_files=config_files, enable=enable, disable=disable, fix=fix,
                      stdin_text=stdin_text, stdin_path=stdin_filename)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    report = render_json(result) if fmt == "json" else render_text(result)
    if from_stdin and fix:
        click.echo(result.fixed_text or "", nl=False)  # the fixed dashboard, for the editor
        click.echo(report, nl=False, err=True)
    else:
        click.echo(report, nl=False)
    return EXIT_FAILURE if result.errors else EXIT_OK

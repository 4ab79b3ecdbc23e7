"""The `grafana-sync` command line (contract: DESIGN.md "CLI").

Each subcommand lives in grafana_sync/commands/<name>.py and returns its exit code (an int, or
None for success); this module only assembles them and turns SyncError into one line on stderr
with its exit code.
"""

from __future__ import annotations

import os
import sys

import click

from grafana_sync import __version__
from grafana_sync.commands.build import build
from grafana_sync.commands.check import check
from grafana_sync.commands.diff import diff
from grafana_sync.commands.import_ import import_
from grafana_sync.commands.lint import lint
from grafana_sync.commands.pull import pull
from grafana_sync.commands.push import push
from grafana_sync.errors import SyncError
from grafana_sync.redact import escape_controls, scrub


class _Group(click.Group):
    """Lists each subcommand with its whole first sentence (click cuts it at 45 characters)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="grafana-sync")
@click.option("-C", "directory", metavar="DIR", type=click.Path(exists=True, file_okay=False),
              help="Run as if started in DIR (like git -C). The project root is the nearest "
                   "directory upwards with [tool.grafana-sync] in pyproject.toml, or dashboards/ "
                   "or provisioning/dashboards/.")
def cli(directory: str | None) -> None:
    """Dashboards as code for Grafana: build, lint, diff and push.

    Works from any directory inside a project (see -C).

    \b
    Typical flow:
      grafana-sync build            compile dashboards/ to provisioning/dashboards/<uid>.json
      grafana-sync lint             check the compiled JSON against best-practice rules
      grafana-sync diff             panel-level diff against Grafana (or a git ref / folder)
      grafana-sync push --dry-run   show what a push would do, then push for real
      grafana-sync check --prometheus URL   which panels would be empty on that Prometheus, and why

    Exit codes: 0 success; 1 failure, lint findings, stale output (build --check), refused
    or failed pushes, empty panels (check), differences (diff, only with --exit-code);
    2 usage or configuration error.
    """
    if directory:
        os.chdir(directory)


cli.add_command(build)
cli.add_command(lint)
cli.add_command(diff)
cli.add_command(push)
cli.add_command(check)
cli.add_command(import_)
cli.add_command(pull)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        rv = cli.main(args=argv, prog_name="grafana-sync", standalone_mode=False)
    except SyncError as exc:
        click.echo(f"error: {escape_controls(scrub(str(exc)))}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # one line (click's own is three), as docs/cli.md says
        command = exc.ctx.command_path if exc.ctx is not None else "grafana-sync"
        click.echo(f"error: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    # Commands return their exit code (0/1); None means success.
    sys.exit(rv if isinstance(rv, int) else 0)

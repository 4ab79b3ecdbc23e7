"""The `grafana-sync` command line (contract: DESIGN.md "CLI").

Each subcommand lives in grafana_sync/commands/<name>.py and returns its exit code (an int, or
None for success); this module only assembles them and turns SyncError into one line on stderr
with its exit code.
"""

from __future__ import annotations

import sys

import click

from grafana_sync import __version__
from grafana_sync.commands.build import build
from grafana_sync.commands.check import check
from grafana_sync.commands.diff import diff
from grafana_sync.commands.import_ import import_
from grafana_sync.commands.lint import lint
from grafana_sync.commands.push import push
from grafana_sync.errors import SyncError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="grafana-sync")
def cli() -> None:
    """Dashboards as code for Grafana: build, lint, diff and push.

    \b
    Typical flow:
      grafana-sync build            compile dashboards/*.py to provisioning/dashboards/<uid>.json
      grafana-sync lint             check the compiled JSON against best-practice rules
      grafana-sync diff             panel-level diff against Grafana (or a git ref / folder)
      grafana-sync push --dry-run   show what a push would do, then push for real
      grafana-sync check --prometheus URL   which panels would be empty on that Prometheus, and why

    Exit codes: 0 success, 1 failure/differences/findings, 2 usage or configuration error.
    """


cli.add_command(build)
cli.add_command(lint)
cli.add_command(diff)
cli.add_command(push)
cli.add_command(check)
cli.add_command(import_)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        rv = cli.main(args=argv, prog_name="grafana-sync", standalone_mode=False)
    except SyncError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    # Commands return their exit code (0/1); None means success.
    sys.exit(rv if isinstance(rv, int) else 0)

"""Command-line options shared by several commands (click lives in the CLI layer)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from grafana_sync.connection import ConnectionSettings


def connection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --url/--token/--user/--password/--org-id/--ca-cert/--insecure/--timeout.

    The wrapped command receives one `connection: ConnectionSettings | None` keyword
    (None when no URL was given, so commands that can work offline may do so).
    """
    options = [
        click.option("--url", envvar="GRAFANA_URL", metavar="URL",
                     help="Grafana base URL, e.g. https://grafana.example.com [env: GRAFANA_URL]."),
        click.option("--token", envvar="GRAFANA_TOKEN", metavar="TOKEN",
                     help="Service account token, sent as Bearer [env: GRAFANA_TOKEN]."),
        click.option("--user", envvar="GRAFANA_USER", metavar="USER",
                     help="Basic-auth user [env: GRAFANA_USER]."),
        click.option("--password", envvar="GRAFANA_PASSWORD", metavar="PASSWORD",
                     help="Basic-auth password [env: GRAFANA_PASSWORD]."),
        click.option("--org-id", envvar="GRAFANA_ORG_ID", type=click.IntRange(min=1),
                     help="Organisation id, sent as X-Grafana-Org-Id with basic auth "
                          "[env: GRAFANA_ORG_ID]."),
        click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False),
                     help="CA bundle to verify Grafana's TLS certificate."),
        click.option("--insecure", is_flag=True,
                     help="Do not verify Grafana's TLS certificate (verification is on by default)."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
                     show_default=True, help="Seconds to wait for each HTTP response."),
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, url: str | None, token: str | None, user: str | None,
                password: str | None, org_id: int | None, ca_cert: str | None,
                insecure: bool, timeout: float, **kwargs: Any) -> Any:
        if token and (user or password):
            raise click.UsageError("give either --token or --user/--password, not both")
        if password and not user:
            raise click.UsageError("--password needs --user")
        if insecure and ca_cert:
            raise click.UsageError("give either --insecure (no TLS verification) or --ca-cert FILE "
                                   "(verify with that CA), not both")
        connection = None
        if url:
            connection = ConnectionSettings(
                url=url.rstrip("/"), token=token or None, user=user or None,
                password=password or None, org_id=org_id, ca_cert=ca_cert,
                insecure=insecure, timeout=timeout,
            )
        return func(*args, connection=connection, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def folder_option(flag: str, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option naming a folder (a file there is refused by click)."""
    return click.option(flag, type=click.Path(file_okay=False), metavar="DIR", help=help)


# Where `build` writes the compiled dashboards, and `diff` and `push` read them.
compiled_dir_option = folder_option(
    "--output-dir", "Where the compiled dashboards (<uid>.json) are [default: output-dir of the "
    "project's [tool.grafana-sync], else provisioning/dashboards/ at the project root].")
# The same folder, read by `import` and `pull` to tell which uids the repository defines.
defined_dir_option = folder_option(
    "--compiled-dir", "The repository's compiled dashboards: a uid found there is already defined "
    "[default: the project's output-dir, else provisioning/dashboards/].")

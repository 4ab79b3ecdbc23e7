"""`grafana-sync push` (placeholder until its issue lands)."""

from __future__ import annotations

import click

from grafana_sync.errors import ConfigError


@click.command()
def push() -> None:
    """Not implemented yet."""
    raise ConfigError("'push' is not implemented yet")

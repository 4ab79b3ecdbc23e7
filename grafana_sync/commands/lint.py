"""`grafana-sync lint` (placeholder until its issue lands)."""

from __future__ import annotations

import click

from grafana_sync.errors import ConfigError


@click.command()
def lint() -> None:
    """Not implemented yet."""
    raise ConfigError("'lint' is not implemented yet")

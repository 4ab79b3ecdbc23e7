"""`grafana-sync build` (placeholder until its issue lands)."""

from __future__ import annotations

import click

from grafana_sync.errors import ConfigError


@click.command()
def build() -> None:
    """Not implemented yet."""
    raise ConfigError("'build' is not implemented yet")

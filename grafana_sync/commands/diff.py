"""`grafana-sync diff` (placeholder until its issue lands)."""

from __future__ import annotations

import click

from grafana_sync.errors import ConfigError


@click.command()
def diff() -> None:
    """Not implemented yet."""
    raise ConfigError("'diff' is not implemented yet")

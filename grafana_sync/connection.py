"""Connection settings shared by every command that talks to Grafana (contract: DESIGN.md "CLI").

The matching command-line options live in grafana_sync/commands/options.py (click stays in the
CLI layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grafana_sync.redact import public_url


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach Grafana. `token` and `password` are secrets: never print this object's fields."""

    url: str
    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    org_id: int | None = None
    ca_cert: str | None = None
    insecure: bool = False
    timeout: float = 30.0

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        auth = "token" if self.token else ("basic" if self.user else "none")
        return f"ConnectionSettings(url={redact_url(self.url)!r}, auth={auth}, org_id={self.org_id!r})"


def redact_url(url: str) -> str:
    """https://user:secret@host/x -> https://host/x (grafana_sync.redact.public_url)."""
    return public_url(url)

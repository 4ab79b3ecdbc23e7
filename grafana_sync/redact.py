"""Secrets never reach output: URL redaction and secret scrubbing, in ONE place.

- `split_url(url)` parses a Grafana URL by hand where it matters: the userinfo is everything
  before the LAST `@` of the authority, so a password holding `/`, `#`, `?` or `@` is neither
  cut into the host nor echoed (urllib's `urlsplit` ends the authority at the first `/`, `?`
  or `#`, leaving the rest of such a password in the "path").
- `public_url(url)` is what may be printed: scheme, host, port and path, never the userinfo, the
  query or the fragment; a URL that does not parse is never echoed at all.
- `escape_controls(text)` shows control characters as `\\xNN` (terminal escape sequences in a
  title never reach the terminal raw).
- `register_secret(value)` records a value that must never be printed (token, password, the
  password written into the URL, datasource `secureJsonData` values); `scrub(text)` replaces every
  registered value (and its URL-encoded and JSON-escaped forms) by `***`. Every error line the
  CLI prints, every GrafanaError (Grafana's own error bodies included) and every line push
  prints goes through `scrub`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

MASK = "***"
#: Shorter values are not scrubbed: they cannot be told apart from ordinary text ("a", "ok").
MIN_SECRET_LEN = 3

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember `value` so that `scrub` removes it from every message (process-wide)."""
    if not value or len(value) < MIN_SECRET_LEN:
        return
    forms = {value, quote(value, safe=""), quote(value, safe="/:@"), json.dumps(value)[1:-1]}
    with _lock:
        _secrets.update(f for f in forms if len(f) >= MIN_SECRET_LEN)


def forget_secrets() -> None:
    """Drop every registered secret (tests; a long-lived process between unrelated runs)."""
    with _lock:
        _secrets.clear()


def scrub(text: str) -> str:
    """`text` with every registered secret replaced by ***, longest first."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control characters (ESC, CR, BEL, newline unless kept, ...) shown as \\xNN, so
    a title from a file or from Grafana cannot move the cursor, recolour or retitle the terminal,
    nor split one error line in two."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or keep_newlines and c == "\n" else
                   (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in text)


@dataclass(frozen=True)
class SplitURL:
    """A URL taken apart without trusting urlsplit with the userinfo."""

    scheme: str
    user: str | None  # percent-decoded
    password: str | None  # percent-decoded
    rest: str  # host[:port][/path][?query][#fragment], without the userinfo


def split_url(url: str) -> SplitURL | None:
    """Parse `scheme://[userinfo@]rest`; None when there is no `scheme://` at all."""
    scheme, sep, after = url.strip().partition("://")
    if not sep or not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        return None
    user = password = None
    if "@" in after:
        userinfo, _, after = after.rpartition("@")
        raw_user, colon, raw_password = userinfo.partition(":")
        user = unquote(raw_user)
        password = unquote(raw_password) if colon else None
    return SplitURL(scheme=scheme.lower(), user=user, password=password, rest=after)


def public_url(url: str) -> str:
    """What may be printed of a URL: scheme://host[:port]/path, or a placeholder if unparsable."""
    parts = split_url(url)
    if parts is None:
        return "(URL not shown: it does not parse)"
    try:
        inner = urlsplit(f"{parts.scheme}://{parts.rest}")
        host, port = inner.hostname, inner.port
    except ValueError:
        return "(URL not shown: it does not parse)"
    if not host:
        return "(URL not shown: it does not parse)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, inner.path, "", ""))

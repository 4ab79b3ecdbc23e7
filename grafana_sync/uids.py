"""Grafana's uid rule, in ONE place: dashboard, folder and datasource uids.

A uid is 1-40 characters of `A-Z a-z 0-9 _ -`, matched against the WHOLE string
(`re.fullmatch`): with `re.match` and `$`, "abc\\n" would pass, since `$` also matches before a
final newline. Build, lint, push and the provisioning reader all use `is_valid_uid`.
"""

from __future__ import annotations

import re
from typing import Any

MAX_UID_LEN = 40
UID_CHARS = "A-Z a-z 0-9 _ -"
_UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
#: Human description used in error messages.
UID_RULE = f"1-{MAX_UID_LEN} characters of {UID_CHARS}"


def is_valid_uid(value: Any) -> bool:
    """True when `value` is a str made only of uid characters, 1-40 long (whole string)."""
    return isinstance(value, str) and _UID.fullmatch(value) is not None


def uid_problem(value: Any) -> str | None:
    """Why `value` is not a valid uid (None when it is): a short phrase for an error line."""
    if not isinstance(value, str) or not value:
        return "is missing or empty"
    if len(value) > MAX_UID_LEN:
        return f"is {len(value)} characters; the limit is {MAX_UID_LEN}"
    if not is_valid_uid(value):
        return f"has characters other than {UID_CHARS}"
    return None

"""Canonical JSON: sorted keys, 2-space indent, trailing newline; atomic writes; loading."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grafana_sync.errors import ConfigError

_encode_string = json.encoder.encode_basestring  # json's own (C) string encoder

#: Deepest nesting of arrays/objects accepted in a JSON file (real dashboards nest < 20 deep);
#: deeper input is refused with one line instead of a RecursionError later on.
MAX_JSON_DEPTH = 100


def canonical_dumps(data: Any) -> str:
    """The one serialisation every compiled file uses: byte-identical on every run and machine.

    NaN and Infinity are not JSON: they raise ValueError (callers check `non_finite_paths`
    first to name the field).
    """
    try:
        return _canonical(data)
    except _Unusual:
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class _Unusual(Exception):
    """A value _canonical leaves to json.dumps (subclasses of JSON types, non-string keys)."""


def _canonical(data: Any) -> str:
    """json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\\n",
    byte for byte, for plain JSON values (dict, list, str, int, float, bool, None) -- about twice
    as fast: json's C encoder is not used when indenting, and its pure-Python fallback is
    generic. Anything else raises _Unusual (the caller then uses json.dumps itself)."""
    parts: list[str] = []
    append = parts.append
    string = _encode_string

    def encode(value: Any, indent: str) -> None:
        kind = type(value)
        if kind is str:
            append(string(value))
        elif kind is dict:
            if not value:
                append("{}")
                return
            inner = indent + "  "
            separator = "{" + inner
            for key in sorted(value):
                if type(key) is not str:
                    raise _Unusual
                append(separator)
                append(string(key))
                append(": ")
                encode(value[key], inner)
                separator = "," + inner
            append(indent + "}")
        elif kind is list:
            if not value:
                append("[]")
                return
            inner = indent + "  "
            separator = "[" + inner
            for item in value:
                append(separator)
                encode(item, inner)
                separator = "," + inner
            append(indent + "]")
        elif value is None:
            append("null")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        elif kind is int:
            append(int.__repr__(value))
        elif kind is float:
            if not math.isfinite(value):
                raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
            append(float.__repr__(value))
        else:
            raise _Unusual

    encode(data, "\n")
    append("\n")
    return "".join(parts)


def non_finite_paths(data: Any) -> list[tuple[str | int, ...]]:
    """JSON paths (tuples of keys and indexes) of every NaN / Infinity / -Infinity number in data."""
    if not _has_non_finite(data):
        return []  # the usual answer, found without building a path for every value
    found: list[tuple[str | int, ...]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            found.append(path)
        elif isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    return sorted(found, key=lambda p: [str(k) for k in p])


def _has_non_finite(data: Any) -> bool:
    """Is there a NaN / Infinity / -Infinity float anywhere in data? (level by level, no paths)"""
    level = [data]
    while level:
        below: list[Any] = []
        for value in level:
            if isinstance(value, dict):
                below.extend(value.values())
            elif isinstance(value, list):
                below.extend(value)
            elif isinstance(value, float) and not math.isfinite(value):
                return True
        level = below
    return False


def format_path(path: tuple[str | int, ...]) -> str:
    """('panels', 0, 'fieldConfig', 'min') -> 'panels[0].fieldConfig.min'."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "(top level)"


def json_depth_exceeds(data: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects nest deeper than `limit` (checked without recursion, one level
    of containers at a time)."""
    level = [data] if isinstance(data, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [child for value in level
                 for child in (value.values() if isinstance(value, dict) else value)
                 if isinstance(child, dict | list)]
    return False


def umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it (and put it straight back)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory and rename, so a reader never sees half a file.

    The file gets the mode a plain `open(path, "w")` would give it (0666 minus the umask, so
    0644 under the usual 022): mkstemp's private 0600 would hide it from a Grafana container
    running as another user.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 text of a file's bytes; anything else is a one-line ConfigError naming it."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                          f"{exc.start})") from None


def parse_json_text(text: str, name: str) -> Any:
    """Parse JSON; malformed text is a one-line ConfigError naming `name` with line and column.

    Nesting deeper than MAX_JSON_DEPTH is refused too (no RecursionError, here or later).
    """
    too_deep = False
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None
    except RecursionError:
        data, too_deep = None, True
    if too_deep or json_depth_exceeds(data):
        raise ConfigError(f"{name}: JSON nested more than {MAX_JSON_DEPTH} levels deep; "
                          "not a dashboard")
    return data


def check_dashboard(data: Any, name: str) -> dict[str, Any]:
    """`data` as classic dashboard JSON (legacy rows and Kubernetes-shaped resources are read
    by grafana_sync.shapes), else a ConfigError."""
    from grafana_sync.shapes import classic  # shapes -> errors only; imported late for clarity

    return classic(data, name)


def load_json_file(path: Path) -> Any:
    """Load a JSON file; a missing or malformed file is a one-line ConfigError naming it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_json_text(decode_text(raw, str(path)), str(path))


def load_dashboard_file(path: Path) -> dict[str, Any]:
    """Load one compiled dashboard JSON file and check it looks like a dashboard."""
    return check_dashboard(load_json_file(path), str(path))


def index_by_uid(named: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """uid -> (name, dashboard); a missing uid or one used twice is a ConfigError naming both."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, dash in named:
        uid = dash.get("uid")
        if not isinstance(uid, str) or not uid:
            raise ConfigError(f"{name}: dashboard has no uid")
        if uid in found:
            raise ConfigError(f"{name}: uid {uid!r} is also used by {found[uid][0]}")
        found[uid] = (name, dash)
    return found


def compiled_files(output_dir: Path) -> list[Path]:
    """Every compiled dashboard file under output_dir (recursively, subfolders = Grafana folders)."""
    if not output_dir.is_dir():
        return []
    return sorted(p for p in output_dir.rglob("*.json") if not p.name.startswith("."))


def load_compiled_dashboards(output_dir: Path) -> dict[str, dict[str, Any]]:
    """uid -> dashboard for every compiled file; a duplicate uid is a ConfigError."""
    files = compiled_files(output_dir)
    indexed = index_by_uid((str(path), load_dashboard_file(path)) for path in files)
    return {uid: dash for uid, (_name, dash) in indexed.items()}

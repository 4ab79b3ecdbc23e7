"""Canonical JSON: sorted keys, 2-space indent, trailing newline; atomic writes; loading."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grafana_sync.errors import ConfigError


def canonical_dumps(data: Any) -> str:
    """The one serialisation every compiled file uses: byte-identical on every run and machine."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_json_text(text: str, name: str) -> Any:
    """Parse JSON; malformed text is a one-line ConfigError naming `name` with line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None


def check_dashboard(data: Any, name: str) -> dict[str, Any]:
    """`data` as classic dashboard JSON (legacy rows and Kubernetes-shaped resources are read
    by grafana_sync.shapes), else a ConfigError."""
    from grafana_sync.shapes import classic  # shapes -> errors only; imported late for clarity

    return classic(data, name)


def load_json_file(path: Path) -> Any:
    """Load a JSON file; a missing or malformed file is a one-line ConfigError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_json_text(text, str(path))


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

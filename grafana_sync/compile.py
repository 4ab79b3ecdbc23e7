"""Compile dashboard sources to canonical JSON and write it (DESIGN.md "Compile").

Contract: each module in the dashboards folder whose name does not start with `_` exposes
`dashboard` or `dashboards` (a list), and may set `folder` (a Grafana folder uid) to place its
output in `<output>/<folder>/<uid>.json`. A dashboard may be a grafanalib Dashboard, a
foundation-SDK builder or model, or a dict; `.json` files are sources too (grafana_sync.sources).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_sync.errors import BuildError, ConfigError, SyncError
from grafana_sync.jsonio import atomic_write_text, canonical_dumps, compiled_files
from grafana_sync.layout import layout
from grafana_sync.model import iter_panels
from grafana_sync.normalise import normalise_dashboard
from grafana_sync.sources import (  # noqa: F401  (import_module, to_raw_json: public names)
    Source,
    discover_sources,
    import_module,
    load_sources,
    to_raw_json,
)

UID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
MAX_UID_LEN = 40


@dataclass(frozen=True)
class CompiledDashboard:
    uid: str
    title: str
    source: Path  # the module it came from
    relpath: Path  # output path relative to the output dir
    text: str  # canonical JSON

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.text)


@dataclass
class BuildResult:
    dashboards: list[CompiledDashboard]
    errors: list[SyncError]

    @property
    def exit_code(self) -> int:
        return max((e.exit_code for e in self.errors), default=0)


def discover_modules(dashboards_dir: Path) -> list[Path]:
    """Source files (modules and .json dashboards), see grafana_sync.sources."""
    return discover_sources(dashboards_dir)


def check_uid(uid: Any, title: str, path: Path) -> str:
    if not isinstance(uid, str) or not uid:
        raise ConfigError(f"{path}: dashboard {title!r} has no uid (set uid=… on the Dashboard)")
    if len(uid) > MAX_UID_LEN:
        raise ConfigError(
            f"{path}: dashboard uid {uid!r} is {len(uid)} characters; the limit is {MAX_UID_LEN}"
        )
    if not UID_RE.match(uid):
        raise ConfigError(f"{path}: dashboard uid {uid!r} has characters other than a-z A-Z 0-9 _ -")
    return uid


def _check_titles(dash: dict[str, Any], path: Path) -> None:
    for index, panel in enumerate(iter_panels(dash), start=1):
        if panel.get("type") != "row" and not str(panel.get("title", "")).strip():
            raise ConfigError(f"{path}: dashboard {dash['uid']!r}: panel #{index} "
                              f"({panel.get('type', '?')}) has no title")


def compile_dashboard(obj: Any, path: Path, folder: str | None,
                      known_datasources: Mapping[str, Mapping[str, str]] | None = None
                      ) -> CompiledDashboard:
    """One dashboard object (any source kind, grafana_sync.sources) -> canonical JSON."""
    raw = to_raw_json(obj, path)
    title = str(raw.get("title") or "")
    uid = check_uid(raw.get("uid"), title, path)
    if not title.strip():
        raise ConfigError(f"{path}: dashboard {uid!r} has no title")
    dash = normalise_dashboard(raw, known_datasources)
    _check_titles(dash, path)
    layout(dash, f"{path}: dashboard {uid!r}")
    relpath = Path(folder) / f"{uid}.json" if folder else Path(f"{uid}.json")
    return CompiledDashboard(uid=uid, title=title, source=path, relpath=relpath, text=canonical_dumps(dash))


def _check_folder(source: Source) -> str | None:
    folder = source.folder
    if folder is None:
        return None
    if not isinstance(folder, str) or not UID_RE.match(folder):
        raise ConfigError(f"{source.path}: {source.folder_from} must be a Grafana folder uid "
                          f"([a-zA-Z0-9_-], ≤ 40), got {folder!r}")
    return folder


def compile_all(dashboards_dir: Path,
                known_datasources: Mapping[str, Mapping[str, str]] | None = None) -> BuildResult:
    """Compile every source; collect one error per bad source instead of stopping at the first.

    `known_datasources` (name or uid -> {"type", "uid"}, e.g. from the provisioning YAML)
    resolves datasources given by name (grafana_sync.model.DatasourceResolver).
    """
    result = BuildResult(dashboards=[], errors=[])
    by_uid: dict[str, CompiledDashboard] = {}
    for path in discover_sources(dashboards_dir):
        try:
            for source in load_sources(path):
                compiled = compile_dashboard(source.obj, path, _check_folder(source),
                                             known_datasources)
                if compiled.uid in by_uid:
                    first = by_uid[compiled.uid].source
                    other = first.name if first != path else "another dashboard in this module"
                    raise ConfigError(
                        f"{path}: dashboard uid {compiled.uid!r} is already used by {other}"
                    )
                by_uid[compiled.uid] = compiled
                result.dashboards.append(compiled)
        except SyncError as exc:
            result.errors.append(exc)
    return result


@dataclass
class OutputState:
    """How the output folder differs from what the build produces."""

    stale: list[Path]
    missing: list[Path]
    orphaned: list[Path]  # generated by an earlier build, no longer defined: removed
    unchanged: list[Path]
    foreign: list[Path] = field(default_factory=list)  # not written by build: left alone


def compare_output(dashboards: Iterable[CompiledDashboard], output_dir: Path) -> OutputState:
    state = OutputState(stale=[], missing=[], orphaned=[], unchanged=[])
    expected = {output_dir / d.relpath: d for d in dashboards}
    for target, compiled in sorted(expected.items()):
        if not target.exists():
            state.missing.append(target)
        elif target.read_text(encoding="utf-8") != compiled.text:
            state.stale.append(target)
        else:
            state.unchanged.append(target)
    for existing in compiled_files(output_dir):
        if existing not in expected:
            (state.orphaned if _looks_generated(existing) else state.foreign).append(existing)
    return state


def _looks_generated(path: Path) -> bool:
    """A dashboard file in the build's own canonical form (so removing it loses nothing).

    A JSON file someone put in the output folder by hand (an export from Grafana, say) is
    almost never byte-canonical; build leaves such files alone instead of deleting them.
    """
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("uid"), str) and canonical_dumps(data) == text


def write_outputs(dashboards: Iterable[CompiledDashboard], output_dir: Path, state: OutputState) -> None:
    """Write stale and missing files atomically; remove orphaned dashboard files."""
    todo = set(state.stale) | set(state.missing)
    for compiled in dashboards:
        target = output_dir / compiled.relpath
        if target in todo:
            try:
                atomic_write_text(target, compiled.text)
            except OSError as exc:
                raise BuildError(f"{target}: cannot write: {exc.strerror or exc}") from None
    for orphan in state.orphaned:
        try:
            orphan.unlink()
        except OSError as exc:
            raise BuildError(f"{orphan}: cannot remove orphaned file: {exc.strerror or exc}") from None
        parent = orphan.parent
        if parent != output_dir and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

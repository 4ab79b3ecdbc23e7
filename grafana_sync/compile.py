"""Load dashboard modules by path, normalise them, and write canonical JSON (DESIGN.md "Compile").

Contract: each module in the dashboards folder whose name does not start with `_` exposes
`dashboard` (a grafanalib Dashboard) or `dashboards` (a list of them), and may set `folder` (a
Grafana folder uid) to place its output in `<output>/<folder>/<uid>.json`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_sync.errors import BuildError, ConfigError, SyncError
from grafana_sync.jsonio import atomic_write_text, canonical_dumps, compiled_files
from grafana_sync.layout import layout
from grafana_sync.model import iter_panels
from grafana_sync.normalise import normalise_dashboard

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
    """Dashboard modules in name order; `_`-prefixed modules are libraries, not dashboards."""
    if not dashboards_dir.is_dir():
        raise ConfigError(f"{dashboards_dir}: dashboards folder not found")
    return sorted(p for p in dashboards_dir.glob("*.py") if not p.name.startswith("_"))


def _user_frame(exc: BaseException, path: Path) -> str:
    """'file:line' of the deepest traceback frame inside the dashboards folder, if any."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve().parent == path.parent.resolve():
            where = f"{Path(frame.filename).name}:{frame.lineno}"
    return where


def import_module(path: Path) -> Any:
    """Import one dashboard module by path, with its folder on sys.path for shared helpers."""
    name = f"_grafana_sync_dashboards.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent.resolve())
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except SyncError:  # already one line naming its cause (e.g. a bad shared config file)
        raise
    except (Exception, SystemExit) as exc:  # user code's errors: one line, never a traceback
        where = _user_frame(exc, path)
        detail = f" (at {where})" if where and not where.startswith(f"{path.name}:0") else ""
        message = str(exc).splitlines()[0] if str(exc) else ""
        raise ConfigError(f"{path}: import failed{detail}: {type(exc).__name__}: {message}") from None
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
    return module


def _dashboards_of(module: Any, path: Path) -> list[Any]:
    if hasattr(module, "dashboards"):
        items = module.dashboards
        if not isinstance(items, (list, tuple)):
            kind = type(items).__name__
            raise ConfigError(f"{path}: `dashboards` must be a list of dashboards, got {kind}")
        return list(items)
    if hasattr(module, "dashboard"):
        return [module.dashboard]
    raise ConfigError(f"{path}: defines neither `dashboard` nor `dashboards`")


def to_raw_json(obj: Any, path: Path) -> dict[str, Any]:
    """grafanalib object (or a plain dict) -> JSON-compatible dict, via grafanalib's encoder."""
    if isinstance(obj, dict):
        data = obj
    elif hasattr(obj, "to_json_data"):
        from grafanalib._gen import DashboardEncoder

        try:
            data = json.loads(json.dumps(obj.to_json_data(), cls=DashboardEncoder))
        except (TypeError, ValueError) as exc:
            raise BuildError(f"{path}: dashboard cannot be encoded as JSON: {exc}") from None
    else:
        raise ConfigError(f"{path}: `dashboard` is a {type(obj).__name__}, not a grafanalib Dashboard")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: dashboard did not encode to a JSON object")
    return data


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


def compile_dashboard(obj: Any, path: Path, folder: str | None) -> CompiledDashboard:
    raw = to_raw_json(obj, path)
    title = str(raw.get("title") or "")
    uid = check_uid(raw.get("uid"), title, path)
    if not title.strip():
        raise ConfigError(f"{path}: dashboard {uid!r} has no title")
    dash = normalise_dashboard(raw)
    _check_titles(dash, path)
    layout(dash, f"{path}: dashboard {uid!r}")
    relpath = Path(folder) / f"{uid}.json" if folder else Path(f"{uid}.json")
    return CompiledDashboard(uid=uid, title=title, source=path, relpath=relpath, text=canonical_dumps(dash))


def _folder_of(module: Any, path: Path) -> str | None:
    folder = getattr(module, "folder", None)
    if folder is None:
        return None
    if not isinstance(folder, str) or not UID_RE.match(folder):
        raise ConfigError(
            f"{path}: `folder` must be a Grafana folder uid ([a-zA-Z0-9_-], ≤ 40), got {folder!r}"
        )
    return folder


def compile_all(dashboards_dir: Path) -> BuildResult:
    """Compile every module; collect one error per bad module instead of stopping at the first."""
    result = BuildResult(dashboards=[], errors=[])
    by_uid: dict[str, CompiledDashboard] = {}
    for path in discover_modules(dashboards_dir):
        try:
            module = import_module(path)
            folder = _folder_of(module, path)
            for obj in _dashboards_of(module, path):
                compiled = compile_dashboard(obj, path, folder)
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

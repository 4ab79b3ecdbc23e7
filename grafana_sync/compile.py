"""Compile dashboard sources to canonical JSON and write it (DESIGN.md "Compile").

Contract: each module in the dashboards folder whose name does not start with `_` exposes
`dashboard` or `dashboards` (a list), and may set `folder` (a Grafana folder uid) to place its
output in `<output>/<folder>/<uid>.json`. A dashboard may be a grafanalib Dashboard, a
foundation-SDK builder or model, or a dict; `.json` files are sources too (grafana_sync.sources).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from grafana_sync.errors import BuildError, ConfigError, SyncError
from grafana_sync.jsonio import (
    atomic_write_text,
    canonical_dumps,
    compiled_files,
    decode_text,
    format_path,
    non_finite_paths,
    umask,
)
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
from grafana_sync.uids import UID_RULE, is_valid_uid, uid_problem


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


@dataclass(frozen=True)
class BuiltDashboard:
    """What a streaming build keeps of one compiled dashboard: its text is compared with the
    output file as soon as it is compiled and, if it differs, spooled to a private temp folder,
    so a build holds one compiled dashboard in memory at a time."""

    uid: str
    title: str
    source: Path
    relpath: Path
    sha256: str  # of the canonical JSON text (what the manifest lists)


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
    problem = uid_problem(uid)
    if problem:
        raise ConfigError(f"{path}: dashboard uid {uid!r} {problem}")
    return uid


def _check_titles(dash: dict[str, Any], path: Path) -> None:
    for index, panel in enumerate(iter_panels(dash), start=1):
        if panel.get("type") != "row" and not str(panel.get("title", "")).strip():
            raise ConfigError(f"{path}: dashboard {dash['uid']!r}: panel #{index} "
                              f"({panel.get('type', '?')}) has no title")


def _check_finite(dash: dict[str, Any], uid: str, path: Path) -> None:
    """NaN / Infinity are not JSON (Grafana's API refuses them): a one-line ConfigError naming the
    dashboard, the panel holding the number (if any) and the field."""
    bad = non_finite_paths(dash)
    if not bad:
        return
    where = bad[0]
    value = _lookup(dash, where)
    panel_at = max((i for i in range(len(where) - 1)
                    if where[i] == "panels" and isinstance(where[i + 1], int)), default=None)
    if panel_at is None:
        place = f"field {format_path(where)}"
    else:
        panel = _lookup(dash, where[:panel_at + 2])
        title = panel.get("title") if isinstance(panel, dict) else None
        name = f"panel {title!r}" if isinstance(title, str) and title else \
            f"panel {format_path(where[:panel_at + 2])}"
        place = f"{name}: field {format_path(where[panel_at + 2:])}"
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    raise ConfigError(f"{path}: dashboard {uid!r}: {place} is {json.dumps(value)}{more}: JSON has "
                      "no NaN or Infinity; use a finite number or leave the field out")


def _lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def compile_dashboard(obj: Any, path: Path, folder: str | None,
                      known_datasources: Mapping[str, Mapping[str, str]] | None = None
                      ) -> CompiledDashboard:
    """One dashboard object (any source kind, grafana_sync.sources) -> canonical JSON."""
    non_finite: list[str] = []
    raw = to_raw_json(obj, path, drop_nulls=True,  # a private copy: normalised in place
                      non_finite=non_finite)
    title = str(raw.get("title") or "")
    uid = check_uid(raw.get("uid"), title, path)
    if not title.strip():
        raise ConfigError(f"{path}: dashboard {uid!r} has no title")
    if non_finite:  # NaN / Infinity met while decoding: name where
        _check_finite(raw, uid, path)
    dash = normalise_dashboard(raw, known_datasources, private=True)
    _check_titles(dash, path)
    layout(dash, f"{path}: dashboard {uid!r}")
    relpath = Path(folder) / f"{uid}.json" if folder else Path(f"{uid}.json")
    return CompiledDashboard(uid=uid, title=title, source=path, relpath=relpath, text=canonical_dumps(dash))


def _check_folder(source: Source) -> str | None:
    folder = source.folder
    if folder is None:
        return None
    if not is_valid_uid(folder):
        raise ConfigError(f"{source.path}: {source.folder_from} must be a Grafana folder uid "
                          f"({UID_RULE}), got {folder!r}")
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


#: Beside the compiled files: what build wrote there (sha256 and path, like `sha256sum`). Build
#: replaces or removes a file only if it is listed here; it is the proof of ownership.
MANIFEST_NAME = ".grafana-sync-manifest"
_MANIFEST_HEADER = ("# Written by `grafana-sync build`: the files it wrote in this folder (sha256, path).\n"
                    "# Build replaces or removes only files listed here. Commit it with the JSON.\n")
_MANIFEST_LINE = re.compile(r"([0-9a-f]{64})  (\S.*)")
_CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(output_dir: Path) -> dict[str, set[str]]:
    """relative path -> sha256 hashes build wrote there (an absent manifest: nothing is ours).

    Git conflict markers are skipped (both sides' entries count), so a merge conflict in the
    manifest is resolved by building again. A path that would leave the folder is refused.
    """
    path = output_dir / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        text = decode_text(path.read_bytes(), str(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    entries: dict[str, set[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#") or line.startswith(_CONFLICT_MARKERS):
            continue
        match = _MANIFEST_LINE.fullmatch(line)
        rel = PurePosixPath(match.group(2)) if match else None
        if rel is None or rel.is_absolute() or ".." in rel.parts or rel.suffix != ".json":
            raise ConfigError(f"{path}:{number}: not a manifest line (expected '<sha256>  "
                              "<relative/path.json>'); delete the file and the JSON it listed "
                              "if you trust them, then build again")
        entries.setdefault(rel.as_posix(), set()).add(match.group(1))
    return entries


def manifest_text(dashboards: Iterable[CompiledDashboard | BuiltDashboard]) -> str:
    lines = sorted(f"{_digest(d)}  {d.relpath.as_posix()}\n" for d in dashboards)
    return _MANIFEST_HEADER + "".join(sorted(lines, key=lambda line: line[66:]))


def _digest(dashboard: CompiledDashboard | BuiltDashboard) -> str:
    return dashboard.sha256 if isinstance(dashboard, BuiltDashboard) else _sha256(dashboard.text)


@dataclass
class OutputState:
    """How the output folder differs from what the build produces."""

    stale: list[Path]  # listed in the manifest, content differs: replaced
    missing: list[Path]
    orphaned: list[Path]  # written by an earlier build (manifest + hash), no longer defined: removed
    unchanged: list[Path]
    foreign: list[Path] = field(default_factory=list)  # JSON build did not write: build refuses
    edited: list[Path] = field(default_factory=list)  # orphaned but changed since: build refuses
    manifest_stale: bool = False

    @property
    def refused(self) -> list[Path]:
        return sorted(self.foreign + self.edited)



def _classify_leftovers(output_dir: Path, expected, manifest: dict, state) -> None:
    """Files in the output folder this build did not produce: foreign (not in the manifest),
    orphaned (still what build wrote: safe to remove) or edited by hand (kept)."""
    for existing in compiled_files(output_dir):
        if existing in expected:
            continue
        rel = existing.relative_to(output_dir).as_posix()
        if rel not in manifest:
            state.foreign.append(existing)
            continue
        try:
            digest = hashlib.sha256(existing.read_bytes()).hexdigest()
        except OSError:
            digest = ""
        (state.orphaned if digest in manifest[rel] else state.edited).append(existing)

def _classify_target(state: OutputState, target: Path, text: str, relpath: Path,
                     manifest: dict[str, set[str]]) -> bool:
    """Sort one file this build produces into missing, unchanged, stale (ours: the manifest
    lists its path) or foreign. True when it is to be written."""
    if not target.exists():
        state.missing.append(target)
        return True
    try:
        current = target.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{target}: cannot read: {exc.strerror or exc}") from None
    if current == text.encode("utf-8"):
        state.unchanged.append(target)
        return False
    if relpath.as_posix() in manifest:
        state.stale.append(target)
        return True
    state.foreign.append(target)
    return False


def _manifest_is_stale(output_dir: Path, dashboards: Iterable[CompiledDashboard | BuiltDashboard]) -> bool:
    try:
        return (output_dir / MANIFEST_NAME).read_bytes() != manifest_text(dashboards).encode("utf-8")
    except OSError:
        return True


def _write_manifest(output_dir: Path, dashboards: Iterable[CompiledDashboard | BuiltDashboard]) -> None:
    try:
        atomic_write_text(output_dir / MANIFEST_NAME, manifest_text(dashboards))
    except OSError as exc:
        raise BuildError(f"{output_dir / MANIFEST_NAME}: cannot write: {exc.strerror or exc}") from None


def compare_output(dashboards: Iterable[CompiledDashboard], output_dir: Path) -> OutputState:
    """Classify every JSON file under output_dir against the build and the manifest.

    Ownership is proven only by the manifest: a file at a path build writes may be replaced if
    the manifest lists it (or it already holds exactly the new content); a file nothing defines
    any more may be removed if the manifest lists it WITH its current content's hash. Any other
    JSON file is foreign (or edited): build refuses the folder rather than guess.
    """
    dashboards = list(dashboards)
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"{output_dir}: output path exists and is not a directory")
    manifest = read_manifest(output_dir)
    state = OutputState(stale=[], missing=[], orphaned=[], unchanged=[])
    expected = {output_dir / d.relpath: d for d in dashboards}
    for target, compiled in sorted(expected.items()):
        _classify_target(state, target, compiled.text, compiled.relpath, manifest)
    _classify_leftovers(output_dir, expected, manifest, state)
    state.manifest_stale = _manifest_is_stale(output_dir, dashboards)
    return state


def refusal(state: OutputState, output_dir: Path, show: Callable[[Path], str] = str) -> ConfigError:
    """The one-line error for an output folder holding JSON that build cannot prove it wrote."""
    names = [show(p) for p in state.refused]
    listed = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
    why = ("not written by build (not in its manifest)" if not state.edited else
           "not written by build, or changed since build wrote them")
    return ConfigError(f"{show(output_dir)} holds JSON files {why}: {listed}; build writes and "
                       "removes only its own files: move those away or choose another --output-dir")


# -- streaming build (grafana-sync build / --check) --------------------------------------------


class Spool:
    """Compiled texts that differ from the output, staged until the whole build compiled:
    nothing reaches the output folder when any source fails (the contract of `build`).

    Each text is written at once to a hidden temp file beside its target (`.<name>.*.tmp`, the
    mode a plain open() gives, as `atomic_write_text` does) and only renamed over the target by
    `commit`; `close` removes whatever was not committed, and the folders made for it."""

    def __init__(self) -> None:
        self.staged: dict[Path, Path] = {}  # target -> temp file
        self.made: list[Path] = []  # folders created for staged files, outermost first
        self.mode: int | None = None

    def put(self, target: Path, text: str) -> None:
        missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        self.made.extend(reversed(missing))
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        self.staged[target] = Path(tmp)
        with os.fdopen(fd, "wb") as fh:
            if self.mode is None:
                self.mode = 0o666 & ~umask()
            os.fchmod(fh.fileno(), self.mode)
            fh.write(text.encode("utf-8"))

    def commit(self, target: Path) -> None:
        os.replace(self.staged.pop(target), target)

    def close(self) -> None:
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()
        for folder in reversed(self.made):
            try:
                folder.rmdir()  # only if still empty
            except OSError:
                pass
        self.made.clear()


@dataclass
class StreamResult:
    dashboards: list[BuiltDashboard]
    errors: list[SyncError]
    state: OutputState
    spool: Spool = field(default_factory=Spool)
    cache: Any = None  # grafana_sync.incremental.Cache to save after writing, if any
    reused: int = 0  # sources skipped: nothing they depend on changed
    compiled: int = 0  # sources compiled


@dataclass(frozen=True)
class Incremental:
    """What an incremental build needs beyond the folders: the project's declared extra inputs
    (paths or globs relative to `root`, environment variable names)."""

    inputs: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    root: Path | None = None


def _reuse(cache: Any, path: Path, output_dir: Path, hashes: Any) -> list[BuiltDashboard] | None:
    """The outputs of `path` if nothing it depends on changed and they are on disk as written."""
    entry = cache.entries.get(str(path.resolve()))
    if entry is None or not hashes.matches(entry.snapshot):
        return None
    built = []
    for out in entry.outputs:
        if hashes.file(str((output_dir / out["relpath"]).resolve())) != out["sha256"]:
            return None  # deleted or edited by hand: compile it again
        built.append(BuiltDashboard(uid=out["uid"], title=out["title"], source=path,
                                    relpath=Path(out["relpath"]), sha256=out["sha256"]))
    return built


def stream_build(dashboards_dir: Path, output_dir: Path,
                 known_datasources: Mapping[str, Mapping[str, str]] | None = None, *,
                 write: bool, incremental: Incremental | None = None) -> StreamResult:
    """Compile every source one at a time and classify its output against `output_dir` at once.

    With `write`, texts that differ from the output are spooled (StreamResult.spool) for
    `write_stream`; without it (`build --check`) they are only compared. With `incremental`
    (build only; `--check` always compiles everything), a source is skipped when the cache
    beside the output proves its outputs current (grafana_sync.incremental).
    """
    from grafana_sync import incremental as inc

    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"{output_dir}: output path exists and is not a directory")
    manifest = read_manifest(output_dir)
    state = OutputState(stale=[], missing=[], orphaned=[], unchanged=[])
    result = StreamResult(dashboards=[], errors=[], state=state)
    by_uid: dict[str, Path] = {}
    expected: set[Path] = set()
    hashes = inc.Hashes()
    cache = key = None
    if incremental is not None:
        key = {"engine": inc.engine_fingerprint(),
               "dashboards_dir": str(dashboards_dir.resolve()),
               "output_dir": str(output_dir.resolve()),
               "datasources": {k: dict(v) for k, v in (known_datasources or {}).items()},
               "declared": inc.declared_state(incremental.root or dashboards_dir,
                                              incremental.inputs, incremental.env)}
        cache = inc.load_cache(output_dir, key)
    recorder = inc.Recorder.get() if incremental is not None else None
    entries: dict[str, Any] = {}

    def add(built: BuiltDashboard, text: str | None) -> None:
        if built.uid in by_uid:
            first = by_uid[built.uid]
            other = first.name if first != built.source else "another dashboard in this module"
            raise ConfigError(f"{built.source}: dashboard uid {built.uid!r} is already used by "
                              f"{other}")
        by_uid[built.uid] = built.source
        target = output_dir / built.relpath
        expected.add(target)
        if text is None:  # reused: its file was just verified to hold exactly this output
            state.unchanged.append(target)
        elif _classify_target(state, target, text, built.relpath, manifest) and write:
            result.spool.put(target, text)
        result.dashboards.append(built)

    context = recorder.active() if recorder is not None else nullcontext()
    try:
        with context as records:
            for path in discover_sources(dashboards_dir):
                try:
                    reused = _reuse(cache, path, output_dir, hashes) if cache is not None else None
                    if reused is not None:
                        for built in reused:
                            add(built, None)
                        entries[str(path.resolve())] = cache.entries[str(path.resolve())]
                        result.reused += 1
                        continue
                    if records is not None:
                        hashes.file(os.path.realpath(path))  # its content before it runs
                    outputs = []
                    for source in load_sources(path):
                        compiled = compile_dashboard(source.obj, path, _check_folder(source),
                                                     known_datasources)
                        built = BuiltDashboard(uid=compiled.uid, title=compiled.title,
                                               source=path, relpath=compiled.relpath,
                                               sha256=_sha256(compiled.text))
                        add(built, compiled.text)
                        outputs.append({"uid": built.uid, "title": built.title,
                                        "relpath": built.relpath.as_posix(),
                                        "sha256": built.sha256})
                    result.compiled += 1
                    snap = inc.snapshot(path, records, hashes) if records is not None else None
                    if snap is not None:
                        entries[str(path.resolve())] = inc.Entry(outputs=outputs, snapshot=snap)
                except SyncError as exc:
                    result.errors.append(exc)
            third_party = inc.third_party_state(records) if records is not None else {}
    except BaseException:
        result.spool.close()
        raise
    _classify_leftovers(output_dir, expected, manifest, state)
    for name in ("stale", "missing", "unchanged", "foreign", "orphaned", "edited"):
        getattr(state, name).sort()
    state.manifest_stale = _manifest_is_stale(output_dir, result.dashboards)
    if key is not None and not result.errors and (cache is None or result.compiled
                                                  or len(entries) != len(cache.entries)):
        if cache is not None:
            third_party = {**cache.third_party, **third_party}
        result.cache = inc.Cache(key=key, third_party=third_party, entries=entries)
    return result


def write_stream(result: StreamResult, output_dir: Path) -> None:
    """Write the spooled stale and missing files atomically, remove orphaned ones, then the
    manifest and (incremental builds) the cache. Refuses (ConfigError, nothing written) when the
    folder holds JSON build cannot prove it wrote. The spool is removed in every case."""
    from grafana_sync import incremental as inc

    state = result.state
    try:
        if state.refused:
            raise refusal(state, output_dir)
        todo = set(state.stale) | set(state.missing)
        for target in sorted(todo):
            try:
                result.spool.commit(target)
            except OSError as exc:
                raise BuildError(f"{target}: cannot write: {exc.strerror or exc}") from None
        result.spool.made.clear()  # folders now hold written files
    finally:
        result.spool.close()
    _remove_orphans(state, output_dir)
    if state.manifest_stale or todo or state.orphaned:
        _write_manifest(output_dir, result.dashboards)
    if result.cache is not None:
        try:  # only a speed-up: a cache that cannot be written is rebuilt from scratch next time
            atomic_write_text(output_dir / inc.CACHE_NAME, inc.cache_text(result.cache))
        except OSError:
            pass


def _remove_orphans(state: OutputState, output_dir: Path) -> None:
    for orphan in state.orphaned:
        try:
            orphan.unlink()
        except OSError as exc:
            raise BuildError(f"{orphan}: cannot remove orphaned file: {exc.strerror or exc}") from None
        parent = orphan.parent
        if parent != output_dir and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()

"""Incremental build: skip a dashboard source when nothing it depends on has changed.

A source is skipped only when the build can prove its output would be byte-identical: every
input it depended on when it was last compiled is unchanged, and its output files still hold
exactly what build wrote. Inputs are found by watching the compile, not by guessing:

- **files**: the source itself; every user file it imports, directly or through other user
  modules (`import`/`from … import`, `importlib.import_module`, already-imported modules
  included); every file opened for reading while the source or one of those modules ran (a
  config file read through a helper module counts for every source that imports the helper —
  the read is charged to the innermost user frame on the stack, so caching in that helper does
  not hide it); every folder listed by user code (`os.listdir`, `os.scandir`, globbing);
- **environment variables** read through `os.environ` / `os.getenv` by user code (a hash of
  the value is stored, never the value);
- **declared inputs** of the project (`[tool.grafana-sync] build-inputs` paths and `build-env`
  variable names): what watching cannot see, such as a file whose mere *absence* was tested with
  `Path.exists()` (no audit event is raised for a stat) or a variable read by C code;
- **global inputs**: the engine's own source files, the Python interpreter, every installed
  (third-party) module file loaded by the build (size and mtime: an upgrade of grafanalib
  rewrites them), the folders, and the provisioned datasources table. Any change of these
  rebuilds everything.

"User" files are all files except the standard library, installed packages (site-packages)
and the engine's own package, which are covered by the global inputs, and /proc, /dev, /sys.
Files are compared by sha256 of their content, never by mtime. When anything is in doubt (the
recorder failed, a module the source uses ran before recording started, the cache is unreadable
or from another engine), the source is compiled. The cache is a local file beside the output
(`.grafana-sync-build-cache`, not committed: it holds absolute paths); deleting it only costs
one full build.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import json
import os
import sys
import sysconfig
import threading
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import resolve_name
from pathlib import Path
from typing import Any

CACHE_NAME = ".grafana-sync-build-cache"
CACHE_FORMAT = 1
_ENGINE_DIR = Path(__file__).resolve().parent
_ALL = "*"  # environment iterated or copied as a whole


def _sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return "dir"
    except OSError:
        return "unreadable"


def _sha256_text(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _listing(path: Path) -> str | None:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return _sha256_text("\n".join(names))


def _installed_dirs() -> tuple[str, ...]:
    """The interpreter's standard library and site-packages folders (not its whole prefix: a
    project may live under /usr)."""
    import site

    paths = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            paths.add(value)
    try:
        paths.update(site.getsitepackages())
        paths.add(site.getusersitepackages())
    except AttributeError:  # pragma: no cover - virtualenv's old site module
        pass
    return tuple(sorted({os.path.realpath(p) for p in paths}, key=len, reverse=True))


#: never inputs: not regular files (and /proc/self/status is read for the umask)
_SYSTEM_DIRS = ("/proc", "/dev", "/sys")


# -- recording -----------------------------------------------------------------------------------


@dataclass
class _Records:
    """What project code did while the recorder ran, per project file (the code's own file)."""

    imports: dict[Path, set[Path]] = field(default_factory=dict)  # file -> project files it uses
    reads: dict[Path, set[Path]] = field(default_factory=dict)  # file -> files it opened
    env: dict[Path, set[str]] = field(default_factory=dict)  # file -> variables it read
    dirs: dict[Path, set[Path]] = field(default_factory=dict)  # file -> directories it listed
    executed: set[Path] = field(default_factory=set)  # module files loaded while recording
    third_party: set[Path] = field(default_factory=set)  # installed module files loaded
    failed: bool = False  # the recorder itself failed once: trust nothing it recorded


class _Scope:
    """Which files are the user's (code whose reads count, and inputs) and which are installed
    packages, the standard library or the engine (covered by the global inputs instead)."""

    def __init__(self) -> None:
        self.installed = _installed_dirs()
        self.engine = str(_ENGINE_DIR)
        self._user: dict[str, Path | None] = {}

    @staticmethod
    def _inside(path: str, prefixes: Iterable[str]) -> bool:
        return any(path == p or path.startswith(p.rstrip(os.sep) + os.sep) for p in prefixes)

    def user_file(self, name: str) -> Path | None:
        """The user's file `name` stands for (a __pycache__ entry -> its source), or None for
        installed, standard-library, engine and system files and pseudo-files ("<frozen …>")."""
        cached = self._user.get(name, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        result: Path | None = None
        if name and not name.startswith("<"):
            path = Path(os.path.realpath(name))
            if path.parent.name == "__pycache__" and path.suffix == ".pyc":
                path = path.parent.parent / (path.name.split(".", 1)[0] + ".py")
            text = str(path)
            if not self._inside(text, (*self.installed, self.engine, *_SYSTEM_DIRS)):
                result = path
        self._user[name] = result
        return result

    def installed_file(self, name: str) -> Path | None:
        if not name or name.startswith("<"):
            return None
        text = os.path.realpath(name)
        if self._inside(text, self.installed) and not self._inside(text, (self.engine,)):
            return Path(text)
        return None


def _by_import_system(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


class _RecordingEnviron(MutableMapping):  # type: ignore[type-arg]
    """os.environ as project code sees it while recording: every read is noted."""

    def __init__(self, real: MutableMapping[str, str], recorder: Recorder) -> None:
        self._real = real
        self._recorder = recorder

    def __getitem__(self, key: str) -> str:
        self._recorder.note_env(key)
        return self._real[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._real[key] = value

    def __delitem__(self, key: str) -> None:
        del self._real[key]

    def __iter__(self) -> Iterator[str]:
        self._recorder.note_env(_ALL)
        return iter(self._real)

    def __len__(self) -> int:
        return len(self._real)

    def copy(self) -> dict[str, str]:
        self._recorder.note_env(_ALL)
        return dict(self._real)

    def __getattr__(self, name: str) -> Any:  # encodekey, putenv, ...: the real object's
        return getattr(self._real, name)


class Recorder:
    """Records, while active, the project files, directories and environment variables that
    project code uses. One per process (audit hooks cannot be removed); `active()` turns it on."""

    _instance: Recorder | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.records = _Records()
        self.scope: _Scope | None = None
        self._depth = 0
        self._thread: int | None = None
        sys.addaudithook(self._audit)

    @classmethod
    def get(cls) -> Recorder:
        with cls._lock:
            if cls._instance is None:
                cls._instance = Recorder()
            return cls._instance

    # which project file is doing this: the innermost project frame on the stack
    def _doer(self, frame: Any) -> Path | None:
        scope = self.scope
        while frame is not None and scope is not None:
            owner = scope.user_file(frame.f_code.co_filename)
            if owner is not None:
                return owner
            frame = frame.f_back
        return None

    def _on(self) -> bool:
        return self.scope is not None and self._thread == threading.get_ident()

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if self.scope is None or event not in ("open", "os.listdir", "os.scandir"):
            return
        try:
            if not self._on():
                return
            target = args[0] if args else None
            if isinstance(target, int) or target is None:  # fd: already counted when opened
                return
            name = os.fsdecode(target)
            scope = self.scope
            if event == "open":
                mode = args[1] if len(args) > 1 else "r"
                if isinstance(mode, str) and "+" not in mode and any(c in mode for c in "wax"):
                    return  # written, not read: not an input
                path = scope.user_file(name)
                if path is None:
                    third = scope.installed_file(name)
                    if third is not None and name.endswith((".py", ".pyc", ".so")):
                        self.records.third_party.add(third)
                    return
                if name.endswith((".py", ".pyc")):
                    self.records.executed.add(path)  # a module file being loaded (or read)
                doer = self._doer(sys._getframe(1))
                if doer is not None and doer != path:
                    self.records.reads.setdefault(doer, set()).add(path)
            else:
                path = scope.user_file(name or ".")
                frame = sys._getframe(1)
                doer = self._doer(frame) if path is not None else None
                if doer is not None and _by_import_system(frame):
                    return  # the import machinery caching a folder: not an input (see decisions)
                if doer is not None and path is not None:
                    self.records.dirs.setdefault(doer, set()).add(path)
        except Exception:  # an audit hook must never break the operation it watches
            self.records.failed = True

    def note_env(self, key: str) -> None:
        try:
            if self._on():
                doer = self._doer(sys._getframe(1))
                if doer is not None:
                    self.records.env.setdefault(doer, set()).add(str(key))
        except Exception:
            self.records.failed = True

    def _note_modules(self, names: Iterable[str], frame: Any) -> None:
        try:
            if not self._on():
                return
            doer = self._doer(frame)
            if doer is None:
                return
            scope = self.scope
            assert scope is not None
            used = self.records.imports.setdefault(doer, set())
            for name in names:
                module = sys.modules.get(name)
                file = getattr(module, "__file__", None) if module is not None else None
                if isinstance(file, str):
                    path = scope.user_file(file)
                    if path is not None and path != doer:
                        used.add(path)
                    elif path is None:
                        third = scope.installed_file(file)
                        if third is not None:
                            self.records.third_party.add(third)
        except Exception:
            self.records.failed = True

    @contextmanager
    def active(self) -> Iterator[_Records]:
        """Record (in this thread) until the block ends; yields the process's records."""
        if self._depth:
            yield self.records
            return
        real_import = builtins.__import__
        real_import_module = importlib.import_module
        real_environ = os.environ
        recorder = self

        def recording_import(name: str, globals: Any = None, locals: Any = None,
                             fromlist: Any = (), level: int = 0) -> Any:
            module = real_import(name, globals, locals, fromlist, level)
            if recorder._on():
                full = name
                if level:
                    package = (globals or {}).get("__package__") or ""
                    try:
                        full = resolve_name("." * level + name, package)
                    except (ImportError, ValueError):
                        full = getattr(module, "__name__", name)
                parts = full.split(".") if full else []
                names = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
                for item in fromlist or ():
                    if isinstance(item, str) and item != "*":
                        names.append(f"{full}.{item}" if full else item)
                recorder._note_modules(names, sys._getframe(1))
            return module

        def recording_import_module(name: str, package: str | None = None) -> Any:
            module = real_import_module(name, package)
            recorder._note_modules([module.__name__], sys._getframe(1))
            return module

        self.scope = _Scope()
        self._thread = threading.get_ident()
        self._depth = 1
        builtins.__import__ = recording_import
        importlib.import_module = recording_import_module
        # replaced, not cleared: the same variables, reads noted (restored below)
        os.environ = _RecordingEnviron(real_environ, self)  # type: ignore[assignment]  # noqa: B003
        try:
            yield self.records
        finally:
            os.environ = real_environ  # noqa: B003  (the real mapping back)
            importlib.import_module = real_import_module
            builtins.__import__ = real_import
            self._depth = 0
            self.scope = None
            self._thread = None


# -- what a source depends on --------------------------------------------------------------------


@dataclass
class Snapshot:
    """The inputs of one source as they were when it was compiled."""

    files: dict[str, str | None]  # absolute path -> sha256 (None: absent)
    env: dict[str, str | None]  # variable -> sha256 of its value (None: unset); "*" = all
    dirs: dict[str, str | None]  # absolute path -> sha256 of the sorted listing


def _env_state(name: str) -> str | None:
    if name == _ALL:
        return _sha256_text("\n".join(f"{k}={v}" for k, v in sorted(os.environ.items())))
    return _sha256_text(os.environ.get(name))


class Hashes:
    """Per-run memo of the current state of files, directories and variables."""

    def __init__(self) -> None:
        self._files: dict[str, str | None] = {}
        self._dirs: dict[str, str | None] = {}

    def file(self, path: str) -> str | None:
        if path not in self._files:
            self._files[path] = _sha256_file(Path(path))
        return self._files[path]

    def dir(self, path: str) -> str | None:
        if path not in self._dirs:
            self._dirs[path] = _listing(Path(path))
        return self._dirs[path]

    def matches(self, snap: Snapshot) -> bool:
        return (all(self.file(p) == h for p, h in snap.files.items())
                and all(_env_state(k) == h for k, h in snap.env.items())
                and all(self.dir(p) == h for p, h in snap.dirs.items()))


def snapshot(source: Path, records: _Records, hashes: Hashes) -> Snapshot | None:
    """The inputs of `source` from the records; None when they cannot be trusted."""
    if records.failed:
        return None
    start = Path(os.path.realpath(source))
    seen: set[Path] = set()
    todo = [start]
    env: set[str] = set()
    dirs: set[Path] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.suffix == ".py" and node not in records.executed:
            return None  # a module that ran before recording began: its own inputs are unknown
        todo.extend(records.imports.get(node, ()))
        todo.extend(records.reads.get(node, ()))
        env |= records.env.get(node, set())
        dirs |= records.dirs.get(node, set())
    return Snapshot(files={str(p): hashes.file(str(p)) for p in sorted(seen)},
                    env={k: _env_state(k) for k in sorted(env)},
                    dirs={str(p): hashes.dir(str(p)) for p in sorted(dirs)})


# -- global inputs -------------------------------------------------------------------------------


def engine_fingerprint() -> str:
    """The engine's own code and the interpreter: a change rebuilds everything."""
    from grafana_sync import __version__

    digest = hashlib.sha256()
    for part in (__version__, sys.version, sys.executable, sys.implementation.cache_tag or ""):
        digest.update(part.encode() + b"\0")
    for path in sorted(_ENGINE_DIR.rglob("*")):
        if path.suffix in (".py", ".json", ".yaml", ".yml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(_ENGINE_DIR)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def declared_state(root: Path, inputs: Iterable[str], env: Iterable[str]) -> dict[str, Any]:
    """Current state of the project's declared build inputs (globs allowed) and variables."""
    files: dict[str, str | None] = {}
    for pattern in inputs:
        matched = sorted(root.glob(pattern)) if any(c in pattern for c in "*?[") else [root / pattern]
        if not matched:
            files[pattern] = None
        for path in matched:
            files[str(path)] = _sha256_file(path) if not path.is_dir() else _listing(path)
    return {"files": files, "env": {name: _env_state(name) for name in env}}


# -- the cache file ------------------------------------------------------------------------------


@dataclass
class Entry:
    """One source as it was last compiled: its outputs and its inputs."""

    outputs: list[dict[str, str]]  # {"uid", "title", "relpath", "sha256"}
    snapshot: Snapshot


@dataclass
class Cache:
    key: dict[str, Any]  # global inputs; any difference invalidates every entry
    third_party: dict[str, list[int] | None]  # installed module files loaded: [size, mtime_ns]
    entries: dict[str, Entry]  # source path (absolute) -> entry

    def third_party_unchanged(self) -> bool:
        return all(_stat(path) == state for path, state in self.third_party.items())


def load_cache(output_dir: Path, key: Mapping[str, Any]) -> Cache | None:
    """The cache beside the output if it was written for these global inputs; else None."""
    path = output_dir / CACHE_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != CACHE_FORMAT or data.get("key") != key:
            return None
        entries = {
            source: Entry(outputs=[dict(o) for o in e["outputs"]],
                          snapshot=Snapshot(files=dict(e["files"]), env=dict(e["env"]),
                                            dirs=dict(e["dirs"])))
            for source, e in data["entries"].items()
        }
        cache = Cache(key=dict(key), third_party=dict(data["third_party"]), entries=entries)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return cache if cache.third_party_unchanged() else None


def cache_text(cache: Cache) -> str:
    data = {
        "format": CACHE_FORMAT,
        "key": cache.key,
        "third_party": dict(sorted(cache.third_party.items())),
        "entries": {
            source: {"outputs": e.outputs, "files": e.snapshot.files, "env": e.snapshot.env,
                     "dirs": e.snapshot.dirs}
            for source, e in sorted(cache.entries.items())
        },
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def third_party_state(records: _Records) -> dict[str, list[int] | None]:
    return {str(p): _stat(str(p)) for p in sorted(records.third_party)}

"""Compile Prometheus rule-group modules to canonical rule files (and promtool test files).

The rule-side twin of compile.py, as generic: it knows Prometheus' rule file format, nothing of
what the rules are about. Contract of a rule module (a `.py` file in the rules folder whose name
does not start with `_`):

- `groups`: a list of rule groups, each `{"name": ..., "rules": [...]}` (optional `interval`,
  `limit`, `query_offset`, `labels`), each rule `{"record"|"alert": ..., "expr": ..., ...}` as in
  Prometheus' rule files. An empty list writes nothing (a module switched off by configuration).
- `file` (optional): the output name without `.yml`; default the module's name.
- `tests` (optional): promtool unit test cases (`{"interval", "input_series", "alert_rule_test",
  "promql_expr_test", ...}`), written to `<tests dir>/<file>_test.yml` with every compiled rule
  file in `rule_files`; `evaluation_interval` (optional, default "1m") goes with them.

Output is canonical YAML (fixed key order, labels and annotations sorted, multi-line expressions
as literal blocks, trailing newline), byte-identical on every run, written atomically with the
umask's permissions. A manifest (`.grafana-sync-manifest.json`) in each output folder records
what build wrote and its hash: build removes only files it wrote and nobody changed since, and
never overwrites a file it did not write.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grafana_sync.compile import import_module
from grafana_sync.errors import BuildError, ConfigError, SyncError
from grafana_sync.jsonio import atomic_write_text
from grafana_sync.timescale import TimeScale, scale_groups

MANIFEST = ".grafana-sync-manifest.json"
GENERATOR = "grafana-sync build"

_DURATION_RE = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_RECORD_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_STEM_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")

GROUP_KEYS = ("name", "interval", "limit", "query_offset", "labels", "rules")
RECORD_KEYS = ("record", "expr", "labels")
ALERT_KEYS = ("alert", "expr", "for", "keep_firing_for", "labels", "annotations")
TEST_FILE_KEYS = ("rule_files", "evaluation_interval", "group_eval_order", "tests")


@dataclass(frozen=True)
class CompiledFile:
    relpath: Path  # relative to its output folder
    source: Path  # the module it came from
    text: str
    kind: str  # "rules" | "tests"


@dataclass
class RuleBuildResult:
    rules: list[CompiledFile] = field(default_factory=list)
    tests: list[CompiledFile] = field(default_factory=list)
    errors: list[SyncError] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return max((e.exit_code for e in self.errors), default=0)


# --- canonical YAML ------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style, literal blocks for multi-line strings, no aliases, no line folding."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def normalise_text(value: str) -> str:
    """How a string is written: multi-line text as lines without trailing blanks ending in one
    newline (a literal block), single-line text without surrounding newlines."""
    body = value.strip("\n")
    if "\n" not in body:
        return body
    return "\n".join(line.rstrip() for line in body.split("\n")) + "\n"


def _normalised(data: Any) -> Any:
    if isinstance(data, str):
        return normalise_text(data)
    if isinstance(data, dict):
        return {k: _normalised(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_normalised(v) for v in data]
    return data


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value.strip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", normalise_text(value), style=style)


_Dumper.add_representer(str, _str)


def canonical_yaml(data: Any, header: Iterable[str] = ()) -> str:
    """The one serialisation of rule and test files (key order as given: build orders them)."""
    body = yaml.dump(_normalised(data), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 30, indent=2)
    head = "".join(f"# {line}".rstrip() + "\n" for line in header)
    return head + body


# --- validation + ordering -----------------------------------------------------------------------


def _ordered(mapping: dict[str, Any], keys: tuple[str, ...], where: str) -> dict[str, Any]:
    unknown = [k for k in mapping if k not in keys]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(keys)})")
    return {k: mapping[k] for k in keys if k in mapping}


def _string_map(value: Any, where: str, *, names: bool) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a mapping of strings, got {type(value).__name__}")
    out: dict[str, str] = {}
    for key in sorted(value, key=str):
        if not isinstance(key, str) or (names and not _LABEL_RE.match(key)):
            raise ConfigError(f"{where}: {key!r} is not a label name")
        item = value[key]
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigError(f"{where}.{key}: must be a string, got {type(item).__name__}")
        out[key] = str(item)
    return out


def _check_expr(expr: Any, where: str) -> str:
    if not isinstance(expr, str) or not expr.strip():
        raise ConfigError(f"{where}: `expr` must be a non-empty PromQL string")
    try:
        import promql_parser

        promql_parser.parse(expr)
    except ImportError:  # pragma: no cover - promql-parser is a dependency
        pass
    except Exception as exc:  # the parser's own error types
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{where}: expr does not parse: {detail}") from None
    return expr


def _check_duration(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _DURATION_RE.match(value):
        raise ConfigError(f"{where}: {value!r} is not a Prometheus duration (e.g. 5m)")
    return value


def _rule(rule: Any, where: str) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise ConfigError(f"{where}: a rule must be a mapping, got {type(rule).__name__}")
    if ("record" in rule) == ("alert" in rule):
        raise ConfigError(f"{where}: a rule has exactly one of `record` and `alert`")
    if "record" in rule:
        name = rule["record"]
        where = f"{where} record {name!r}"
        if not isinstance(name, str) or not _RECORD_RE.match(name):
            raise ConfigError(f"{where}: not a valid metric name")
        out = _ordered(rule, RECORD_KEYS, where)
    else:
        name = rule["alert"]
        where = f"{where} alert {name!r}"
        if not isinstance(name, str) or not _LABEL_RE.match(name):
            raise ConfigError(f"{where}: alert names are [a-zA-Z_][a-zA-Z0-9_]*")
        out = _ordered(rule, ALERT_KEYS, where)
        for key in ("for", "keep_firing_for"):
            if key in out:
                _check_duration(out[key], f"{where}: {key}")
        if "annotations" in out:
            out["annotations"] = _string_map(out["annotations"], f"{where}: annotations", names=False)
    out["expr"] = _check_expr(out.get("expr"), where)
    if "labels" in out:
        out["labels"] = _string_map(out["labels"], f"{where}: labels", names=True)
    return out


def _group(group: Any, where: str) -> dict[str, Any]:
    if not isinstance(group, dict) or not isinstance(group.get("name"), str) or not group["name"]:
        raise ConfigError(f"{where}: a group is a mapping with a non-empty `name`")
    where = f"{where} group {group['name']!r}"
    out = _ordered(group, GROUP_KEYS, where)
    rules = out.get("rules")
    if not isinstance(rules, list) or not rules:
        raise ConfigError(f"{where}: `rules` must be a non-empty list")
    out["rules"] = [_rule(r, f"{where}:") for r in rules]
    for key in ("interval", "query_offset"):
        if key in out:
            _check_duration(out[key], f"{where}: {key}")
    if "labels" in out:
        out["labels"] = _string_map(out["labels"], f"{where}: labels", names=True)
    return out


def _groups_of(module: Any, path: Path) -> list[dict[str, Any]]:
    if not hasattr(module, "groups"):
        raise ConfigError(f"{path}: defines no `groups` (a list of Prometheus rule groups)")
    groups = module.groups
    if not isinstance(groups, (list, tuple)):
        raise ConfigError(f"{path}: `groups` must be a list, got {type(groups).__name__}")
    out = [_group(g, str(path)) for g in groups]
    names = [g["name"] for g in out]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{path}: group {name!r} is defined twice")
    return out


def _stem_of(module: Any, path: Path) -> str:
    stem = getattr(module, "file", None) or path.stem
    if not isinstance(stem, str) or not _STEM_RE.match(stem) or stem.endswith((".yml", ".yaml")):
        raise ConfigError(f"{path}: `file` must be a file name without extension, got {stem!r}")
    return stem


def _window_constants(module: Any, path: Path) -> tuple[float, ...]:
    values = getattr(module, "window_constants", ())
    if not isinstance(values, (list, tuple)) or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in values):
        raise ConfigError(f"{path}: `window_constants` must be a list of positive numbers "
                          f"(seconds), got {values!r}")
    return tuple(float(v) for v in values)


def _header(path: Path, module: Any, time_scale: TimeScale | None = None) -> list[str]:
    doc = (getattr(module, "__doc__", None) or "").strip()
    lines = [f"Generated by `{GENERATOR}` from {path.as_posix()}: edit that module (and the "
             "monitoring config), not this file."]
    if time_scale is not None:
        lines += [f"TIME-SCALED: every window and `for` divided by {time_scale.factor:g} (range "
                  f"windows at least {time_scale.min_range:g}s): for a simulation at that speed, "
                  "never for real traffic."]
    if doc:
        lines += ["", *doc.splitlines()]
    return lines


# --- compile -------------------------------------------------------------------------------------


def discover_rule_modules(rules_dir: Path) -> list[Path]:
    if not rules_dir.is_dir():
        raise ConfigError(f"{rules_dir}: rules folder not found")
    return sorted(p for p in rules_dir.glob("*.py") if not p.name.startswith("_"))


def compile_rules(rules_dir: Path, output_dir: Path, tests_dir: Path,
                  time_scale: TimeScale | None = None) -> RuleBuildResult:
    """Compile every rule module; one error per bad module. Paths only shape `rule_files`.

    With `time_scale` (grafana_sync.timescale) every duration of the rules is divided by its
    factor (a module's `window_constants`, numbers that stand for windows in seconds, too) and no
    promtool tests are written: they pin real-time timings."""
    result = RuleBuildResult()
    pending_tests: list[tuple[Path, Any, str, list[Any]]] = []
    seen: dict[str, Path] = {}
    for path in discover_rule_modules(rules_dir):
        try:
            module = import_module(path)
            groups = _groups_of(module, path)
            stem = _stem_of(module, path)
            if stem in seen:
                raise ConfigError(f"{path}: output file {stem}.yml is also written by {seen[stem].name}")
            seen[stem] = path
            tests = getattr(module, "tests", None) or []
            if not isinstance(tests, (list, tuple)):
                raise ConfigError(f"{path}: `tests` must be a list of promtool test cases")
            if time_scale is not None:
                groups = scale_groups(groups, time_scale, _window_constants(module, path))
            elif tests:
                pending_tests.append((path, module, stem, list(tests)))
            if groups:
                text = canonical_yaml({"groups": groups}, _header(path, module, time_scale))
                _round_trip(text, {"groups": groups}, path)
                result.rules.append(CompiledFile(Path(f"{stem}.yml"), path, text, "rules"))
        except SyncError as exc:
            result.errors.append(exc)
    rule_files = [_relative(output_dir / f.relpath, tests_dir) for f in result.rules]
    for path, module, stem, tests in pending_tests:
        interval = getattr(module, "evaluation_interval", "1m")
        try:
            _check_duration(interval, f"{path}: evaluation_interval")
            data = {"rule_files": rule_files, "evaluation_interval": interval, "tests": tests}
            text = canonical_yaml(data, _header(path, module))
            _round_trip(text, data, path)
        except SyncError as exc:
            result.errors.append(exc)
            continue
        result.tests.append(CompiledFile(Path(f"{stem}_test.yml"), path, text, "tests"))
    return result


def render_time_scaled(rules_dir: Path, output_dir: Path, time_scale: TimeScale) -> list[Path]:
    """Compile the rule modules with `time_scale` into `output_dir` (created; build's ownership
    rules apply: a file there that this did not write is never overwritten). Returns the rule
    files written; the first bad module raises its one-line error."""
    result = compile_rules(rules_dir, output_dir, output_dir / "tests", time_scale)
    if result.errors:
        raise result.errors[0]
    output_dir.mkdir(parents=True, exist_ok=True)
    write_folder(compare_folder(result.rules, output_dir))
    return [output_dir / f.relpath for f in result.rules]


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


# libyaml's parser when PyYAML has it (same SafeConstructor, ~9x less CPU than the pure-Python
# one on the rule files): this check only reads what canonical_yaml wrote.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _round_trip(text: str, data: Any, path: Path) -> None:
    try:
        back = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:  # pragma: no cover - guards the dumper
        raise BuildError(f"{path}: compiled YAML does not load: {exc}") from None
    if back != json.loads(json.dumps(_normalised(data))):
        raise BuildError(f"{path}: compiled YAML does not load back to the same rules "
                         "(a value YAML cannot represent?)")


# --- output ownership ------------------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_manifest(folder: Path) -> dict[str, str]:
    """name -> sha256 of what build last wrote there; unreadable = nothing owned."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)
            and "/" not in k and k not in ("", ".", "..")}


def manifest_text(files: dict[str, str]) -> str:
    return json.dumps({"generator": GENERATOR, "files": dict(sorted(files.items()))},
                      indent=2, sort_keys=True) + "\n"


@dataclass
class FolderState:
    """How one output folder differs from what the build produces."""

    folder: Path
    expected: dict[str, str]  # name -> text
    stale: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)
    orphaned: list[Path] = field(default_factory=list)  # build wrote them, unchanged, no longer defined
    unchanged: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # build wrote them, someone changed them since
    foreign: list[Path] = field(default_factory=list)  # a target build did not write: refuse
    owned: dict[str, str] = field(default_factory=dict)  # the manifest as read
    manifest_stale: bool = False


def compare_folder(files: Iterable[CompiledFile], folder: Path) -> FolderState:
    expected = {f.relpath.as_posix(): f.text for f in files}
    owned = read_manifest(folder)
    state = FolderState(folder=folder, expected=expected, owned=owned)
    for name, text in sorted(expected.items()):
        target = folder / name
        if not target.exists():
            state.missing.append(target)
            continue
        current = _read_text(target)
        if current == text:
            state.unchanged.append(target)
        elif name in owned:
            state.stale.append(target)
        else:
            state.foreign.append(target)
    for name, digest in sorted(owned.items()):
        if name in expected:
            continue
        target = folder / name
        if not target.exists():
            continue
        current = _read_text(target)
        (state.orphaned if current is not None and _digest(current) == digest else state.kept).append(target)
    new_manifest = {name: _digest(text) for name, text in expected.items()}
    kept = {p.name: owned[p.name] for p in state.kept}
    state.manifest_stale = _read_text(folder / MANIFEST) != manifest_text({**kept, **new_manifest}) \
        if (expected or owned) else False
    return state


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_folder(state: FolderState) -> None:
    """Write stale/missing files and the manifest atomically; remove orphaned files."""
    if state.foreign:
        first = state.foreign[0]
        raise ConfigError(f"{first}: exists and was not written by build (not in {MANIFEST}); "
                          "move it away or delete it, then build again")
    todo = set(state.stale) | set(state.missing)
    owned = {p.name: state.owned[p.name] for p in state.kept}  # still theirs to remove later
    for name, text in state.expected.items():
        target = state.folder / name
        if target in todo:
            atomic_write(target, text)
        owned[name] = _digest(text)
    for orphan in state.orphaned:
        try:
            orphan.unlink()
        except OSError as exc:
            raise BuildError(f"{orphan}: cannot remove: {exc.strerror or exc}") from None
    if owned or (state.folder / MANIFEST).exists():
        atomic_write(state.folder / MANIFEST, manifest_text(owned))


def atomic_write(path: Path, text: str) -> None:
    """grafana_sync.jsonio.atomic_write_text (temp file + rename, 0666 minus the umask); a failure
    is a one-line BuildError."""
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise BuildError(f"{path}: cannot write: {exc.strerror or exc}") from None

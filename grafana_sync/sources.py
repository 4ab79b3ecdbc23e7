"""Dashboard sources: what `build` reads from the dashboards folder (DESIGN.md "Compile").

A source is a file in the dashboards folder whose name does not start with `_`:
- a Python module exposing `dashboard` or `dashboards` (a list), each one of
  - a grafanalib `Dashboard` (anything with `to_json_data()`),
  - a Grafana foundation-SDK dashboard builder (`build()`) or model (`to_json()`), classic or v2,
  - a plain dict of dashboard JSON (classic, legacy rows or Kubernetes-shaped);
  and optionally `folder` (a Grafana folder uid) to place its output in `<output>/<folder>/`;
- a `.json` file holding one dashboard (any shape `grafana_sync.shapes` reads); a Kubernetes
  resource's `metadata.annotations["grafana.app/folder"]` places it in that folder.

Every source becomes the same raw JSON object here; `grafana_sync.compile` then normalises them
all the same way, so the shape of the source never shows in the output.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_sync.errors import BuildError, ConfigError, SyncError
from grafana_sync.jsonio import load_json_file
from grafana_sync.shapes import classic, is_kubernetes

SOURCE_SUFFIXES = (".py", ".json")
FOLDER_ANNOTATION = "grafana.app/folder"


@dataclass(frozen=True)
class Source:
    """One dashboard object read from a source file, with the folder it goes in (as written:
    grafana_sync.compile checks it is a folder uid) and where that folder was given."""

    path: Path
    obj: Any
    folder: Any = None
    folder_from: str = "`folder`"


def discover_sources(dashboards_dir: Path) -> list[Path]:
    """Source files in name order; `_`-prefixed files are libraries or data, not dashboards."""
    if not dashboards_dir.is_dir():
        raise ConfigError(f"{dashboards_dir}: dashboards folder not found")
    return sorted(p for p in dashboards_dir.iterdir()
                  if p.suffix in SOURCE_SUFFIXES and p.is_file() and not p.name.startswith(("_", ".")))


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


def _module_dashboards(module: Any, path: Path) -> list[Any]:
    if hasattr(module, "dashboards"):
        items = module.dashboards
        if not isinstance(items, (list, tuple)):
            kind = type(items).__name__
            raise ConfigError(f"{path}: `dashboards` must be a list of dashboards, got {kind}")
        return list(items)
    if hasattr(module, "dashboard"):
        return [module.dashboard]
    raise ConfigError(f"{path}: defines neither `dashboard` nor `dashboards`")


def _json_folder(data: Any) -> Any:
    if isinstance(data, dict) and is_kubernetes(data):
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        annotations = metadata.get("annotations")
        return annotations.get(FOLDER_ANNOTATION) if isinstance(annotations, dict) else None
    return None


def load_sources(path: Path) -> list[Source]:
    """The dashboards one source file defines (a module may define several)."""
    if path.suffix == ".json":
        data = load_json_file(path)
        return [Source(path, data, _json_folder(data),
                       f"metadata.annotations[{FOLDER_ANNOTATION!r}]")]
    module = import_module(path)
    folder = getattr(module, "folder", None)
    return [Source(path, obj, folder) for obj in _module_dashboards(module, path)]


def _to_json_default(obj: Any) -> Any:
    """json.dumps fallback for foundation-SDK models (and anything else with to_json())."""
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        return to_json()
    to_json_data = getattr(obj, "to_json_data", None)
    if callable(to_json_data):
        return to_json_data()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")


def source_kind(obj: Any) -> str:
    """'dict', 'grafanalib', 'foundation-sdk builder', 'foundation-sdk model' or 'unknown'."""
    if isinstance(obj, dict):
        return "dict"
    if callable(getattr(obj, "to_json_data", None)):
        return "grafanalib"
    if callable(getattr(obj, "build", None)):
        return "foundation-sdk builder"
    if callable(getattr(obj, "to_json", None)):
        return "foundation-sdk model"
    return "unknown"


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _plain_key(key: Any) -> str:
    """A dict key as json.dumps writes it (then decoded: always a str)."""
    if isinstance(key, str):
        return str.__str__(key)
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return _float_text(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _plain(value: Any, non_finite: list[str], depth: int = 0) -> Any:
    """What `json.loads(json.dumps(value, cls=grafanalib's DashboardEncoder),
    object_pairs_hook=_without_nulls)` returns, without the text in between (a tenth of a build):
    the same types in the same checking order as json's C encoder, grafanalib objects through
    their `to_json_data()`, nulls left out of objects, NaN / Infinity noted in `non_finite`."""
    kind = type(value)
    if kind is str or value is None or value is True or value is False:
        return value
    if kind is int:
        return value
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            non_finite.append(_float_text(value))
        return value
    if depth > 500:
        raise ValueError("Circular reference detected")
    if kind is dict:
        out = {}
        for key, item in value.items():
            item = _plain(item, non_finite, depth + 1)
            if item is not None:  # as the hook: a null pair is left out, nothing else
                out[key if type(key) is str else _plain_key(key)] = item
        return out
    if kind is list or kind is tuple:
        return [_plain(item, non_finite, depth + 1) for item in value]
    # subclasses of the JSON types, in json's own order, then the encoder's default()
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(int.__repr__(value))
    if isinstance(value, float):
        return _plain(float(value), non_finite, depth)
    if isinstance(value, (list, tuple)):
        return [_plain(item, non_finite, depth + 1) for item in value]
    if isinstance(value, dict):
        return _plain(dict(value.items()), non_finite, depth)
    to_json_data = getattr(value, "to_json_data", None)
    if to_json_data:
        return _plain(to_json_data(), non_finite, depth + 1)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _without_nulls(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in pairs if v is not None}


def to_raw_json(obj: Any, path: Path, *, drop_nulls: bool = False,
                non_finite: list[str] | None = None) -> dict[str, Any]:
    """Any supported dashboard object -> raw classic dashboard JSON (a new dict). With
    `drop_nulls`, object keys whose value is null are left out while decoding (Grafana treats
    null and absent alike; grafana_sync.model.drop_nulls does the same on a copy). Every NaN /
    Infinity met while decoding is appended to `non_finite` (so a caller need not search)."""
    kind = source_kind(obj)
    hook = _without_nulls if drop_nulls else None

    def constant(name: str) -> float:
        if non_finite is not None:
            non_finite.append(name)
        return float(name)
    try:
        if kind == "dict":
            # a deep copy that also proves it is JSON
            data = json.loads(json.dumps(obj), object_pairs_hook=hook,
                              parse_constant=constant)
        elif kind == "grafanalib" and drop_nulls:  # the build: no text in between
            data = _plain(obj.to_json_data(), non_finite if non_finite is not None else [])
        elif kind == "grafanalib":
            from grafanalib._gen import DashboardEncoder

            data = json.loads(json.dumps(obj.to_json_data(), cls=DashboardEncoder),
                              object_pairs_hook=hook,
                              parse_constant=constant)
        elif kind == "foundation-sdk builder":
            data = json.loads(json.dumps(obj.build(), default=_to_json_default),
                              object_pairs_hook=hook,
                              parse_constant=constant)
        elif kind == "foundation-sdk model":
            data = json.loads(json.dumps(obj.to_json(), default=_to_json_default),
                              object_pairs_hook=hook,
                              parse_constant=constant)
        else:
            raise ConfigError(f"{path}: `dashboard` is a {type(obj).__name__}, not a grafanalib "
                              "Dashboard, a foundation-SDK dashboard (builder or model) or a dict")
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise BuildError(f"{path}: dashboard cannot be encoded as JSON: {exc}") from None
    except Exception as exc:  # a builder's own validation (foundation SDK raises its own errors)
        message = str(exc).splitlines()[0] if str(exc) else ""
        raise ConfigError(f"{path}: building the {kind} dashboard failed: "
                          f"{type(exc).__name__}: {message}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: dashboard did not encode to a JSON object")
    result = classic(data, str(path))
    if drop_nulls and result is not data:  # converted (rows, v2, Kubernetes): may share parts
        from grafana_sync.model import drop_nulls as copy_without_nulls

        result = copy_without_nulls(result)
    return result

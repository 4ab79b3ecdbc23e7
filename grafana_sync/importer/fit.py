"""Fit grafanalib objects to JSON: readable constructor arguments plus a minimal raw residual.

For a JSON object (a panel, a query, a variable, …) and a grafanalib class, `fit` picks the
constructor arguments that carry the object's values, encodes the object as the build would, and
computes the residual: the smallest raw-JSON patch (grafanalib's `extraJson` semantics: nested
objects merge, anything else replaces, None removes) such that the *built* result equals the
build of the original JSON. "Built" is a projection supplied by the caller (the build's
normalisation, in context), so the residual never carries what the build would drop anyway.

Arguments are found by probing each class once (`argument_paths`): an argument maps to a JSON
path when setting it to a probe value changes exactly that one leaf of the output to that value.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import attr

REMOVE = None  # a residual value that removes the key (the build drops nulls)

#: Panel attributes common to every grafanalib panel; the generator sets these explicitly.
COMMON_PANEL_ARGS = frozenset({
    "dataSource", "targets", "title", "cacheTimeout", "description", "editable", "error",
    "height", "gridPos", "hideTimeOverride", "id", "interval", "links", "maxDataPoints",
    "minSpan", "repeat", "span", "thresholds", "thresholdType", "timeFrom", "timeShift",
    "transparent", "transformations", "extraJson",
})

_PROBE_STR = "\u2063probe\u2063"
_PROBE_INT = 987654321
_PROBE_FLOAT = 98765.4321


def encode(obj: Any) -> Any:
    """A grafanalib object (or plain JSON) as plain JSON, exactly as the build encodes it."""
    from grafanalib._gen import DashboardEncoder

    return json.loads(json.dumps(obj.to_json_data() if hasattr(obj, "to_json_data") else obj,
                                 cls=DashboardEncoder))


def _leaves(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(value, dict) and value:
        out: dict[tuple[str, ...], Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, (*path, key)))
        return out
    return {path: value}


@cache
def argument_paths(cls: type) -> dict[str, tuple[tuple[str, ...], type]]:
    """{argument: (JSON path, value type)} for the scalar arguments of a grafanalib class."""
    try:
        base = _leaves(encode(cls()))
    except Exception:  # classes with required arguments: no probing
        return {}
    found: dict[str, tuple[tuple[str, ...], type]] = {}
    for field in attr.fields(cls):
        if not field.init or field.name in COMMON_PANEL_ARGS:
            continue
        default = field.default
        if isinstance(default, bool):
            probe: Any = not default
        elif isinstance(default, int):
            probe = _PROBE_INT
        elif isinstance(default, float):
            probe = _PROBE_FLOAT
        elif isinstance(default, str) or default is None:
            probe = _PROBE_STR
        else:
            continue
        try:
            leaves = _leaves(encode(cls(**{field.name.lstrip("_"): probe})))
        except Exception:
            continue
        changed = [p for p in set(base) | set(leaves) if base.get(p, KeyError) != leaves.get(p, KeyError)]
        if len(changed) == 1 and leaves.get(changed[0], KeyError) == probe \
                and type(leaves[changed[0]]) is type(probe):
            found[field.name.lstrip("_")] = (changed[0], type(probe))
    return found


def get_path(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return KeyError
        data = data[key]
    return data


def scalar_arguments(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments of `cls` for the scalar values `data` holds at their paths."""
    defaults = {f.name.lstrip("_"): f.default for f in attr.fields(cls)}
    args: dict[str, Any] = {}
    for name, (path, kind) in argument_paths(cls).items():
        value = get_path(data, path)
        if value is KeyError or value is None or value == defaults.get(name):
            continue
        if kind is bool and not isinstance(value, bool):
            continue
        if kind is str and not isinstance(value, str):
            continue
        if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            continue
        if kind is int and not isinstance(value, int):
            continue
        args[name] = value
    return args


def construct(cls: type, fixed: dict[str, Any], optional: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """cls(**fixed, **optional), dropping optional arguments its validators refuse."""
    try:
        return cls(**fixed, **optional), dict(optional)
    except Exception:
        pass
    kept: dict[str, Any] = {}
    for key, value in optional.items():
        try:
            cls(**fixed, **kept, **{key: value})
        except Exception:
            continue
        kept[key] = value
    return cls(**fixed, **kept), kept


def _clear(value: dict[str, Any]) -> dict[str, Any]:
    """A patch emptying a dict under extraJson rules (a dict cannot be replaced, only merged)."""
    return {k: _clear(v) if isinstance(v, dict) else REMOVE for k, v in value.items() if v is not None}


class Unpatchable(ValueError):
    """extraJson cannot turn an object into a non-object (grafanalib merges into dicts)."""


def raw_patch(have: Any, want: Any, native: bool = True) -> dict[str, Any]:
    """The patch turning dict `have` into dict `want`.

    native: grafanalib's extraJson rules (a dict is only ever merged into); otherwise
    ExtraJson's rules (None removes a key, a non-dict replaces a dict).
    """
    patch: dict[str, Any] = {}
    for key in have:
        if key not in want and have[key] is not None:
            patch[key] = _clear(have[key]) if native and isinstance(have[key], dict) else REMOVE
    for key, value in want.items():
        if key not in have or have[key] is None:
            if value is not None:
                patch[key] = copy.deepcopy(value)
        elif isinstance(have[key], dict):
            if value is None:
                patch[key] = _clear(have[key]) if native else REMOVE
            elif not isinstance(value, dict):
                if native:
                    raise Unpatchable(key)
                patch[key] = copy.deepcopy(value)
            else:
                sub = raw_patch(have[key], value, native)
                if sub:
                    patch[key] = sub
        elif have[key] != value or type(have[key]) is not type(value):
            patch[key] = copy.deepcopy(value)
    return patch


def apply_patch(base: Any, patch: dict[str, Any], native: bool = True) -> Any:
    """The patch applied to a copy of base, under grafanalib's rules or ExtraJson's."""
    out = copy.deepcopy(base)
    (_merge if native else merge_extra)(out, patch)
    return out


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> None:
    """Exactly grafanalib's _deep_update: a dict is merged into (None over a dict does nothing)."""
    for key, value in patch.items():
        if key in base and isinstance(base[key], dict):
            if value is None:
                continue
            if not isinstance(value, dict):
                raise Unpatchable(key)
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def merge_extra(base: dict[str, Any], patch: dict[str, Any]) -> None:
    """ExtraJson's rules: nested dicts merge, None removes the key, anything else replaces."""
    for key, value in patch.items():
        if value is None:
            base.pop(key, None)
        elif key in base and isinstance(base[key], dict) and isinstance(value, dict):
            merge_extra(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def minimise(base: dict[str, Any], patch: dict[str, Any], ok: Callable[[dict[str, Any]], bool],
             native: bool = True) -> dict[str, Any]:
    """Drop every part of `patch` (whole keys first, then nested keys) not needed for `ok`."""
    current = copy.deepcopy(patch)

    def attempt(path: tuple[str, ...]) -> None:
        parent = current
        for key in path[:-1]:
            parent = parent[key]
        saved = parent.pop(path[-1])
        if ok(apply_patch(base, current, native)):
            return
        parent[path[-1]] = saved
        if isinstance(saved, dict) and saved:
            base_value = get_path(base, path)
            if isinstance(base_value, dict):
                for sub in list(saved):
                    attempt((*path, sub))
                if not saved:  # every nested key proved unnecessary
                    parent.pop(path[-1])

    for key in list(current):
        attempt((key,))
    return current


def fit(obj: Any, want: dict[str, Any], built: Callable[[dict[str, Any]], Any],
        fixed_keys: tuple[str, ...] = (), native: bool = False) -> dict[str, Any] | None:
    """The minimal residual making `obj`'s encoding build like `want`; None when impossible.

    `fixed_keys` are keys whose content is fitted separately (child panels, queries): they are
    taken from `want` on both sides.
    """
    have = encode(obj)
    if not isinstance(have, dict):
        return None
    for key in fixed_keys:
        if key in want:
            have[key] = want[key]
    def text(value: Any) -> str:  # JSON text: 1, 1.0 and true are different values here
        return json.dumps(built(value), sort_keys=True)

    target = text(want)
    try:
        patch = raw_patch(have, want, native)
    except Unpatchable:
        return None

    def ok(candidate: dict[str, Any]) -> bool:
        return text(candidate) == target

    if not ok(apply_patch(have, patch, native)):
        return None
    return minimise(have, patch, ok, native)

"""Grafana dashboard JSON -> one readable grafanalib module (the core of `grafana-sync import`).

The module is built so that the project's own build compiles it to exactly what the build makes
of the original JSON (checked here, before anything is written): panels, queries, variables and
links are grafanalib objects with readable arguments, values used more than once are named once
at the top, and only what grafanalib cannot express goes in an explicit `extraJson` residual
(`grafana_sync.grafanalib_extra.ExtraJson` for objects that lack one). Whatever the build itself
does not carry (legacy options of Angular panels, export-only keys, …) is reported per field.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import keyword
import re
import sys
import types
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import grafanalib.core as glc

from grafana_sync.compile import compile_dashboard
from grafana_sync.errors import BuildError, ConfigError
from grafana_sync.importer.fit import construct, encode, fit, get_path, scalar_arguments
from grafana_sync.importer.pysource import Call, Name, flat, render
from grafana_sync.importer.shapes import load_classic
from grafana_sync.jsonio import parse_json_text
from grafana_sync.normalise import normalise_dashboard

EXTRA_MODULE = "grafana_sync.grafanalib_extra"
UID_SAFE = re.compile(r"[^a-zA-Z0-9_-]+")
#: Where Grafana's PanelModel puts a panel that has no gridPos.
GRAFANA_DEFAULT_GRIDPOS = {"h": 3, "w": 6, "x": 0, "y": 0}
_DEPRECATED = {"PieChart", "Graph", "SingleStat"}


@dataclass
class ImportResult:
    uid: str
    title: str
    source: str  # the Python module
    reference: str  # canonical JSON the build makes of the original (and of the module)
    notes: list[str] = field(default_factory=list)
    folder: str | None = None

    @property
    def module_name(self) -> str:
        return module_name_for(self.uid)


def module_name_for(uid: str) -> str:
    """A Python module name for a dashboard uid (lowercase, never starting with _ or a digit).

    The dashboards folder is on sys.path while the build imports it, so a module named like a
    standard-library or installed module (`json`, `grafanalib`) would shadow it: such names get
    a `_dashboard` suffix.
    """
    name = re.sub(r"[^a-z0-9_]+", "_", uid.lower()).strip("_") or "dashboard"
    if name[0].isdigit():
        name = f"d_{name}"
    if keyword.iskeyword(name) or name in sys.stdlib_module_names or _importable(name):
        name = f"{name}_dashboard"
    return name


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@lru_cache(maxsize=1)
def panel_classes() -> dict[str, type]:
    """Panel type -> the grafanalib class that emits it (found by encoding each class)."""
    found: dict[str, type] = {}
    for name, cls in inspect.getmembers(glc, inspect.isclass):
        if not issubclass(cls, glc.Panel) or cls is glc.Panel or name in _DEPRECATED:
            continue
        try:
            ptype = encode(cls()).get("type")
        except Exception:
            continue
        if isinstance(ptype, str):
            found.setdefault(ptype, cls)
    return found


class _Builder:
    """Turns one classic dashboard dict into a tree of Call/Name/literal nodes."""

    def __init__(self, dash: dict[str, Any], name: str) -> None:
        self.dash = dash
        self.name = name
        self.imports: set[tuple[str, str]] = set()
        self.ctx = {k: v for k, v in dash.items() if k != "panels"}
        # A panel's build depends on the dashboard only through its datasource variables (the
        # resolver): projecting panels in this small context keeps fitting fast; the whole
        # module is checked against the whole build at the end anyway.
        variables = (dash.get("templating") or {}).get("list") or []
        self.panel_ctx = {"templating": {"list": [
            v for v in variables if isinstance(v, dict) and v.get("type") == "datasource"]}}

    # -- projections: what the build makes of one object, in this dashboard's context ---------
    def _built_panel(self, panel: dict[str, Any]) -> Any:
        return normalise_dashboard({**self.panel_ctx, "panels": [panel]})["panels"][0]

    def _built_target(self, panel: dict[str, Any], target: dict[str, Any]) -> Any:
        shell = {k: v for k, v in panel.items() if k not in ("targets", "panels")}
        shell["targets"] = [target]
        return self._built_panel(shell).get("targets", [None])[0]

    def _built_variable(self, index: int, var: dict[str, Any]) -> Any:
        variables = list(self.dash["templating"]["list"])
        variables[index] = var
        dash = {**self.ctx, "panels": [], "templating": {"list": variables}}
        return normalise_dashboard(dash)["templating"]["list"][index]

    def _built_link(self, link: dict[str, Any]) -> Any:
        return normalise_dashboard({"links": [link]})["links"][0]

    # -- helpers ----------------------------------------------------------------------------
    def use(self, module: str, name: str) -> Name:
        self.imports.add((module, name))
        return Name(name)

    def obj(self, cls: type, module: str, args: dict[str, Any], nodes: dict[str, Any],
            residual: dict[str, Any] | None, has_extra: bool) -> Call:
        """A Call node for cls(**args) (+ residual); `nodes` overrides args' rendering."""
        call = Call(self.use(module, cls.__name__).name,
                    [(k, nodes.get(k, v)) for k, v in args.items()])
        if residual:
            if has_extra:
                call.args.append(("extraJson", residual))
            else:
                call = Call(self.use(EXTRA_MODULE, "ExtraJson").name, [(None, call), ("extraJson", residual)])
        return call

    # -- queries ----------------------------------------------------------------------------
    def target(self, panel: dict[str, Any], target: Any) -> Any:
        if not isinstance(target, dict) or not isinstance(target.get("expr"), str):
            return target  # not a PromQL query: the query object itself, as written
        args: dict[str, Any] = {"expr": target["expr"]}
        defaults = {"legendFormat": "", "interval": "", "instant": False, "hide": False}
        for key in ("legendFormat", "refId", "format", "interval", "instant", "hide", "datasource"):
            if key in target and target[key] is not None and target[key] != defaults.get(key, KeyError):
                args[key] = target[key]
        if "format" not in target:
            args["format"] = None  # grafanalib writes time_series; None leaves it out as the original
        obj, args = construct(glc.Target, {}, args)
        residual = fit(obj, target, lambda t: self._built_target(panel, t))
        if residual is None:
            return target
        return _prefer(self.obj(glc.Target, "grafanalib.core", args, {}, residual, has_extra=False),
                       target)

    # -- panels -----------------------------------------------------------------------------
    def library_panel(self, panel: dict[str, Any]) -> Any:
        from grafana_sync.grafanalib_extra import LibraryPanel

        library = panel["libraryPanel"]
        args: dict[str, Any] = {"uid": str(library.get("uid", ""))}
        if isinstance(library.get("name"), str) and library["name"]:
            args["name"] = library["name"]
        nodes: dict[str, Any] = {}
        if isinstance(panel.get("title"), str) and panel["title"] != args.get("name"):
            args["title"] = panel["title"]
        pos = panel.get("gridPos")
        if isinstance(pos, dict) and all(isinstance(pos.get(k), int) for k in "hwxy"):
            args["gridPos"] = glc.GridPos(h=pos["h"], w=pos["w"], x=pos["x"], y=pos["y"])
            nodes["gridPos"] = Call(self.use("grafanalib.core", "GridPos").name,
                                    [(k, pos[k]) for k in "hwxy"])
        if panel.get("id") is not None:
            args["id"] = panel["id"]
        obj = LibraryPanel(**args)
        residual = fit(obj, panel, self._built_panel)
        if residual is None:
            raise BuildError(f"{self.name}: library panel {library.get('uid')!r} cannot be expressed")
        return self.obj(LibraryPanel, EXTRA_MODULE, args, nodes, residual, has_extra=False)

    def panel(self, panel: dict[str, Any]) -> Any:
        if isinstance(panel.get("libraryPanel"), dict) and isinstance(panel["libraryPanel"].get("uid"), str):
            return self.library_panel(panel)
        built_type = self._built_panel(panel).get("type")
        cls = panel_classes().get(str(built_type)) or panel_classes().get(str(panel.get("type")))
        module = "grafanalib.core"
        fixed: dict[str, Any] = {}
        if cls is None:
            cls, module = _plugin_panel(), EXTRA_MODULE
            fixed["type"] = str(panel.get("type", ""))
        args: dict[str, Any] = dict(fixed)
        nodes: dict[str, Any] = {}
        for key, arg in (("title", "title"), ("description", "description"), ("id", "id"),
                         ("datasource", "dataSource"), ("interval", "interval"),
                         ("timeFrom", "timeFrom"), ("timeShift", "timeShift"),
                         ("cacheTimeout", "cacheTimeout"), ("maxDataPoints", "maxDataPoints")):
            if panel.get(key) is not None:
                args[arg] = panel[key]
        for key in ("transparent", "hideTimeOverride"):
            if isinstance(panel.get(key), bool):
                args[key] = panel[key]
        for key in ("links", "transformations"):
            if isinstance(panel.get(key), list) and panel[key]:
                args[key] = panel[key]
        pos = panel.get("gridPos")
        if isinstance(pos, dict) and all(isinstance(pos.get(k), int) for k in "hwxy"):
            args["gridPos"] = glc.GridPos(h=pos["h"], w=pos["w"], x=pos["x"], y=pos["y"])
            nodes["gridPos"] = Call(self.use("grafanalib.core", "GridPos").name,
                                    [(k, pos[k]) for k in "hwxy"])
        if isinstance(panel.get("repeat"), str) and panel["repeat"]:
            rargs = {"variable": panel["repeat"]}
            if panel.get("repeatDirection") in ("h", "v"):
                rargs["direction"] = panel["repeatDirection"]
            if isinstance(panel.get("maxPerRow"), int):
                rargs["maxPerRow"] = panel["maxPerRow"]
            try:
                args["repeat"] = glc.Repeat(**rargs)
                nodes["repeat"] = Call(self.use("grafanalib.core", "Repeat").name, list(rargs.items()))
            except Exception:
                pass
        targets = panel.get("targets")
        if isinstance(targets, list) and targets:
            args["targets"] = [{} for _ in targets]  # placeholders: fitted separately
            nodes["targets"] = [self.target(panel, t) for t in targets]
        if cls is glc.RowPanel:
            args["collapsed"] = bool(panel.get("collapsed", False))
            children = [p for p in panel.get("panels") or [] if isinstance(p, dict)]
            if children:
                args["panels"] = []
                nodes["panels"] = [self.panel(p) for p in children]
        optional = {k: v for k, v in scalar_arguments(cls, panel).items() if k not in args}
        thresholds = get_path(panel, ("fieldConfig", "defaults", "thresholds"))
        if isinstance(thresholds, dict) and isinstance(thresholds.get("steps"), list) and thresholds["steps"]:
            optional["thresholds"] = thresholds["steps"]
            if thresholds.get("mode") == "percentage":
                optional["thresholdType"] = thresholds["mode"]
        obj, kept = construct(cls, args, optional)
        if "thresholds" in kept and get_path(encode(obj), ("fieldConfig", "defaults", "thresholds",
                                                          "steps")) != kept["thresholds"]:
            kept.pop("thresholds")  # this class does not write them there: leave them to the residual
            kept.pop("thresholdType", None)
            obj, kept = construct(cls, args, kept)
        args.update(kept)
        residual = fit(obj, panel, self._built_panel, fixed_keys=("targets", "panels"), native=True)
        native = residual is not None
        if residual is None:  # a key grafanalib's extraJson cannot remove: the ExtraJson wrapper can
            residual = fit(obj, panel, self._built_panel, fixed_keys=("targets", "panels"))
        if residual is None:
            raise BuildError(f"{self.name}: panel {panel.get('title')!r} (id {panel.get('id')}) "
                             f"cannot be expressed as a grafanalib {cls.__name__}")
        return self.obj(cls, module, args, nodes, residual, has_extra=native)

    # -- variables, links -------------------------------------------------------------------
    def variable(self, index: int, var: Any) -> Any:
        if not isinstance(var, dict) or not isinstance(var.get("name"), str):
            return var
        args: dict[str, Any] = {"name": var["name"], "query": var.get("query", "")}
        if var.get("type") is not None:
            args["type"] = var["type"]
        for key, arg in (("label", "label"), ("datasource", "dataSource"), ("includeAll", "includeAll"),
                         ("multi", "multi"), ("allValue", "allValue"), ("regex", "regex"),
                         ("refresh", "refresh"), ("hide", "hide"), ("sort", "sort")):
            if var.get(key) is not None:
                args[arg] = var[key]
        current = var.get("current")
        if isinstance(current, dict) and isinstance(current.get("value"), str) \
                and var.get("type") != "custom":
            args["default"] = current["value"]
        if var.get("type") == "custom" and isinstance(var.get("options"), list) and var["options"]:
            args["options"] = var["options"]
        fixed = {k: args.pop(k) for k in ("name", "query")}
        obj, kept = construct(glc.Template, fixed, args)
        residual = fit(obj, var, lambda v: self._built_variable(index, v))
        if residual is None:
            return var
        return _prefer(self.obj(glc.Template, "grafanalib.core", {**fixed, **kept}, {}, residual,
                                has_extra=False), var)

    def link(self, link: Any) -> Any:
        if not isinstance(link, dict):
            return link
        args = {k: link[k] for k in ("title", "type", "tags", "asDropdown", "icon", "includeVars",
                                     "keepTime", "targetBlank", "tooltip") if link.get(k) is not None}
        if isinstance(link.get("url"), str):
            args["uri"] = link["url"]
        obj, kept = construct(glc.DashboardLink, {}, args)
        residual = fit(obj, link, self._built_link)
        if residual is None:
            return link
        return _prefer(self.obj(glc.DashboardLink, "grafanalib.core", kept, {}, residual,
                                has_extra=False), link)

    # -- the dashboard ----------------------------------------------------------------------
    def dashboard(self) -> Any:
        dash = self.dash
        args: dict[str, Any] = {"title": dash["title"], "uid": dash["uid"]}
        nodes: dict[str, Any] = {}
        for key in ("description", "tags", "timezone", "refresh", "editable", "graphTooltip",
                    "schemaVersion", "gnetId"):
            if dash.get(key) is not None:
                args[key] = dash[key]
        time = dash.get("time")
        if isinstance(time, dict) and isinstance(time.get("from"), str) and isinstance(time.get("to"), str):
            args["time"] = glc.Time(time["from"], time["to"])
            nodes["time"] = Call(self.use("grafanalib.core", "Time").name,
                                 [(None, time["from"]), (None, time["to"])])
        links = dash.get("links")
        if isinstance(links, list) and links:
            args["links"] = []
            nodes["links"] = [self.link(x) for x in links]
        variables = (dash.get("templating") or {}).get("list") or []
        if variables:
            args["templating"] = glc.Templating(list=[])
            nodes["templating"] = Call(self.use("grafanalib.core", "Templating").name,
                                       [("list", [self.variable(i, v) for i, v in enumerate(variables)])])
        annotations = (dash.get("annotations") or {}).get("list") or []
        if annotations:
            args["annotations"] = glc.Annotations(list=[])
            nodes["annotations"] = Call(self.use("grafanalib.core", "Annotations").name,
                                        [("list", annotations)])
        panels = [p for p in dash.get("panels") or [] if isinstance(p, dict)]
        args["panels"] = []
        nodes["panels"] = [self.panel(p) for p in panels]
        obj, kept = construct(glc.Dashboard, {"title": args.pop("title")}, args)
        kept = {"title": dash["title"], **kept}
        skip = ("panels", "templating", "annotations", "links")

        def built(d: dict[str, Any]) -> Any:
            out = normalise_dashboard({**d, **{k: dash.get(k) for k in skip if k in dash}, "panels": []})
            return {k: v for k, v in out.items() if k not in skip}

        residual = fit(obj, dash, built, fixed_keys=skip)
        if residual is None:
            raise BuildError(f"{self.name}: dashboard settings cannot be expressed in grafanalib")
        return self.obj(glc.Dashboard, "grafanalib.core", kept, nodes, residual, has_extra=False)


#: A grafanalib object is kept unless its residual makes it this much longer than the plain JSON.
PREFER_OBJECT_RATIO = 1.25


def _prefer(call: Call, plain: dict[str, Any]) -> Any:
    """The grafanalib call, or the object as plain JSON when grafanalib's defaults make the call
    (with the residual undoing them) clearly longer than the object itself."""
    if len(flat(call)) <= PREFER_OBJECT_RATIO * len(flat(plain)):
        return call
    return plain


def _called(node: Any, names: set[str]) -> set[str]:
    if isinstance(node, Call):
        names.add(node.func)
        for _, value in node.args:
            _called(value, names)
    elif isinstance(node, dict):
        for value in node.values():
            _called(value, names)
    elif isinstance(node, list):
        for value in node:
            _called(value, names)
    return names


@lru_cache(maxsize=1)
def _plugin_panel() -> type:
    from grafana_sync.grafanalib_extra import PluginPanel

    return PluginPanel


# ---------------------------------------------------------------------------------------------
# Shared values: a dict or list used more than once (datasources, thresholds, …) named once
# ---------------------------------------------------------------------------------------------


def _has_removal(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v is None or _has_removal(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_removal(v) for v in value)
    return False


def _walk_values(node: Any, key: str, owner: str, seen: list[tuple[str, str, Any]]) -> None:
    """(key, owning class, value) of every dict/list literal that could be named."""
    if isinstance(node, Call):
        owner = node.func if node.func not in ("ExtraJson",) else owner
        for k, v in node.args:
            _walk_values(v, k or key, owner, seen)
    elif isinstance(node, dict):
        # a residual is one object's own difference; removal markers are not values
        if node and key != "extraJson" and not _has_removal(node):
            seen.append((key, owner, node))
        for k, v in node.items():
            _walk_values(v, k, owner, seen)
    elif isinstance(node, list):
        if node and all(not isinstance(v, Call) for v in node) and not _has_removal(node):
            seen.append((key, owner, node))
        for v in node:
            _walk_values(v, key, owner, seen)


def _snake(name: str) -> str:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def _constant_name(key: str, owner: str, value: Any, taken: set[str]) -> str:
    if key.lower() == "datasource" and isinstance(value, dict):
        base = "DS_" + _snake(str(value.get("uid") or value.get("type") or "default"))
        base = base.replace("DS_DS_", "DS_")
    else:
        base = _snake(key) or "VALUE"
        if owner and owner not in ("Dashboard",):
            base = f"{_snake(owner)}_{base}"
    if base[0].isdigit():
        base = f"V_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _hoist(tree: Any, min_len: int = 40, min_uses: int = 3) -> tuple[Any, list[tuple[str, Any]]]:
    """Name datasource refs used twice or more, and other values used min_uses times or more."""
    seen: list[tuple[str, str, Any]] = []
    _walk_values(tree, "value", "", seen)
    counts = Counter(json.dumps(v, sort_keys=False) for _, _, v in seen)
    names: dict[str, str] = {}
    constants: list[tuple[str, Any]] = []
    taken: set[str] = set()
    for key, owner, value in seen:
        text = json.dumps(value, sort_keys=False)
        if text in names:
            continue
        datasource = key.lower() == "datasource" and isinstance(value, dict)
        if datasource and counts[text] < 2:
            continue
        if not datasource and (counts[text] < min_uses or len(text) < min_len):
            continue
        if any(text in other and text != other for other in names):  # inside a named value
            continue
        names[text] = _constant_name(key, owner, value, taken)
        constants.append((names[text], value))

    def replace(node: Any) -> Any:
        if isinstance(node, (dict, list)) and node:
            try:
                text = json.dumps(node, sort_keys=False)
            except TypeError:  # holds grafanalib calls: not a plain value
                text = ""
            if text in names:
                return Name(names[text])
        if isinstance(node, Call):
            return Call(node.func, [(k, replace(v)) for k, v in node.args])
        if isinstance(node, dict):
            return {k: replace(v) for k, v in node.items()}
        if isinstance(node, list):
            return [replace(v) for v in node]
        return node

    return replace(tree), constants


# ---------------------------------------------------------------------------------------------
# The module
# ---------------------------------------------------------------------------------------------


def engine_is_first_party(output_dir: Path) -> bool:
    """Does the project that will hold the module contain grafana_sync itself (so that ruff's
    import sorting puts it in a first-party section of its own) or install it (third party)?"""
    for folder in (output_dir.resolve(), *output_dir.resolve().parents):
        if (folder / "pyproject.toml").is_file():
            return (folder / "grafana_sync" / "__init__.py").is_file()
    return False


def _imports(imports: set[tuple[str, str]], engine_first_party: bool) -> str:
    by_module: dict[str, list[str]] = {}
    for module, name in imports:
        by_module.setdefault(module, []).append(name)
    ours = [m for m in by_module if m.startswith("grafana_sync")] if engine_first_party else []
    third = [m for m in by_module if m not in ours]
    blocks = []
    for group in (sorted(third), sorted(ours)):
        lines = []
        for module in group:
            names = sorted(set(by_module[module]), key=_isort_key)
            line = f"from {module} import {', '.join(names)}"
            if len(line) > 100:
                line = f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
            lines.append(line)
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _isort_key(name: str) -> tuple[int, str]:
    """ruff/isort order inside a from-import: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _docstring(title: str, origin: str) -> str:
    text = f"{title}: imported from {origin} by `grafana-sync import`."
    text = text.replace("\\", "/").replace('"""', "'''")
    lines = [f'"""{text}' if len(text) < 96 else f'"""Imported by `grafana-sync import`: {title}.']
    if len(lines[0]) > 100:
        lines = ['"""Imported by `grafana-sync import`.']
    lines += [
        "",
        "Review it like any dashboard module: queries, units and thresholds are plain arguments; an",
        "`extraJson` holds only what grafanalib cannot express. `make dashboards` compiles it to the",
        "same JSON the original builds to.",
        '"""',
    ]
    return "\n".join(lines)


def render_module(tree: Any, constants: list[tuple[str, Any]], imports: set[tuple[str, str]],
                  title: str, origin: str, folder: str | None, engine_first_party: bool = True) -> str:
    parts = [_docstring(title, origin), "", _imports(imports, engine_first_party), ""]
    if folder:
        parts += [f"folder = {render(folder, 0, len('folder = '))}", ""]
    for name, value in constants:
        parts.append(f"{name} = {render(value, 0, len(name) + 3, tail=0)}")
    if constants:
        parts.append("")
    parts.append(f"dashboard = {render(tree, 0, len('dashboard = '), tail=0)}")
    return "\n".join(parts).replace("\n\n\n", "\n\n") + "\n"


def _exec_module(source: str, name: str) -> Any:
    module = types.ModuleType(f"_grafana_sync_import_check_{module_name_for(name)}")
    code = compile(source, f"<import of {name}>", "exec")
    exec(code, module.__dict__)  # noqa: S102 - the module we just generated, checked before writing
    return module


def _fixups(dash: dict[str, Any], name: str, notes: list[str]) -> dict[str, Any]:
    """What the build requires and the original lacks: a uid, panel titles."""
    title = dash.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ConfigError(f"{name}: dashboard has no title")
    uid = dash.get("uid")
    if not isinstance(uid, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid):
        new_uid = UID_SAFE.sub("-", Path(name).stem if name else title).strip("-").lower()[:40] or "dashboard"
        notes.append(f"{name}: uid: {uid!r} is not a valid Grafana uid for the build; set to {new_uid!r}")
        dash["uid"] = new_uid
    count = 0

    def walk(panels: list[Any]) -> None:
        nonlocal count
        for panel in panels:
            if not isinstance(panel, dict):
                continue
            count += 1
            if panel.get("type") != "row" and not str(panel.get("title") or "").strip():
                library = panel.get("libraryPanel") if isinstance(panel.get("libraryPanel"), dict) else {}
                new = str(library.get("name") or "").strip() or \
                    f"Untitled {panel.get('type') or 'panel'} {panel.get('id') or count}"
                kind = "library panel" if library else f"{panel.get('type')} panel"
                notes.append(f"{name}: panel {new!r} (id {panel.get('id')}): title: the original {kind} "
                             f"has none and the build requires one; set to {new!r}")
                panel["title"] = new
            if panel.get("type") == "row":
                walk(panel.get("panels") or [])

    walk(dash.get("panels") or [])
    _resolve_overlaps(dash.get("panels") or [], name, notes)
    return dash


def _resolve_overlaps(panels: list[Any], name: str, notes: list[str]) -> None:
    """Move a panel that overlaps an earlier one down below it, as Grafana's grid does on load.

    The build refuses overlapping panels; Grafana itself shows them compacted (react-grid-layout
    pushes the later panel down). Each move is reported.
    """
    placed: list[dict[str, int]] = []
    for panel in panels:
        if not isinstance(panel, dict):
            continue
        pos = panel.get("gridPos")
        if not isinstance(pos, dict) or not pos:
            pos = panel["gridPos"] = dict(GRAFANA_DEFAULT_GRIDPOS)
            notes.append(f"{name}: panel {panel.get('title')!r} (id {panel.get('id')}): gridPos: absent; "
                         f"set to Grafana's default {GRAFANA_DEFAULT_GRIDPOS}")
        if not all(isinstance(pos.get(k), int) and not isinstance(pos.get(k), bool) for k in "hwxy"):
            continue
        old_y = pos["y"]
        moved = True
        while moved:
            moved = False
            for other in placed:
                if (pos["x"] < other["x"] + other["w"] and other["x"] < pos["x"] + pos["w"]
                        and pos["y"] < other["y"] + other["h"] and other["y"] < pos["y"] + pos["h"]):
                    pos["y"] = other["y"] + other["h"]
                    moved = True
        if pos["y"] != old_y:
            notes.append(f"{name}: panel {panel.get('title')!r} (id {panel.get('id')}): gridPos.y: "
                         f"{old_y} -> {pos['y']} (it overlapped another panel; Grafana's grid moves "
                         "it down the same way)")
        placed.append(pos)
        if panel.get("type") == "row" and panel.get("collapsed"):
            _resolve_overlaps(panel.get("panels") or [], name, notes)


def import_dashboard(data: Any, name: str, *, folder: str | None = None,
                     engine_first_party: bool = True) -> ImportResult:
    """Import one dashboard (any supported shape) -> module source, reference JSON and notes."""
    notes: list[str] = []
    dash, shape_notes = load_classic(data, name)
    notes += shape_notes
    dash = _fixups(copy.deepcopy(dash), name, notes)
    try:
        reference = compile_dashboard(copy.deepcopy(dash), Path(name), None)
    except ConfigError as exc:
        raise ConfigError(f"the build refuses this dashboard: {exc}") from None
    notes += loss_notes(dash, reference.data, name)
    builder = _Builder(dash, name)
    tree = builder.dashboard()
    tree, constants = _hoist(tree)
    used = _called(tree, set())
    for _, value in constants:
        _called(value, used)
    imports = {(module, n) for module, n in builder.imports if n in used}
    source = render_module(tree, constants, imports, dash["title"], name, folder, engine_first_party)
    check = _exec_module(source, name)
    compiled = compile_dashboard(check.dashboard, Path(name), None)
    if compiled.text != reference.text:
        where = first_difference(json.loads(reference.text), json.loads(compiled.text))
        raise BuildError(f"{name}: the generated module does not rebuild the dashboard exactly "
                         f"(first difference at {where}); please report this as a bug")
    return ImportResult(uid=reference.uid, title=reference.title, source=source,
                        reference=reference.text, notes=notes, folder=folder)


def first_difference(a: Any, b: Any, path: str = "") -> str:
    def same(x: Any, y: Any) -> bool:
        return json.dumps(x, sort_keys=True) == json.dumps(y, sort_keys=True)

    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if not same(a.get(key, "\0missing"), b.get(key, "\0missing")):
                return first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if not same(x, y):
                return first_difference(x, y, f"{path}[{i}]")
    return path or "(top)"


def loss_notes(original: dict[str, Any], built: dict[str, Any], name: str) -> list[str]:
    """Per field: what `grafana-sync diff --against` will show between the original and the build.

    Fields the build writes out with Grafana's default are counted, not listed. A field dropped or
    changed in many places (a legacy key on every query, say) is one note listing where.
    """
    from grafana_sync.diff import diff_dashboards

    uid = str(built.get("uid"))
    result = diff_dashboards({uid: original}, {uid: built})
    grouped: dict[tuple[str, str], list[str]] = {}
    defaults = 0

    def account(changes: tuple[Any, ...], where: str) -> None:
        nonlocal defaults
        added = {c.path: c for c in changes if c.change == "added"}
        used: set[str] = set()
        for change in changes:
            if change.change == "added":
                continue
            target = _moved_to(change, added) if change.change == "removed" else None
            if target is not None:  # a Grafana 6 text panel's content -> options.content, …
                used.add(target[0])
                what = f"moved to {_generic(target[1])} by the build"
            else:
                what = _describe(change)
            grouped.setdefault((_generic(change.path), what), []).append(where)
        defaults += sum(1 for path in added if path not in used)

    for dash in result.dashboards:
        account(dash.changes, "")
        for panel in dash.panels:
            ref = panel.ref
            where = f"panel {ref.title!r} (id {ref.id})"
            if panel.kind in ("added", "removed"):
                grouped.setdefault(("(panel)", f"{panel.kind} by the build"), []).append(where)
            account(panel.fields, where)
    notes = []
    for (path, what), places in grouped.items():
        places = [p for p in places if p]
        if not places:
            notes.append(f"{name}: {path}: {what}")
        elif len(places) == 1:
            notes.append(f"{name}: {places[0]}: {path}: {what}")
        else:
            shown = ", ".join(places[:4]) + (f" and {len(places) - 4} more" if len(places) > 4 else "")
            notes.append(f"{name}: {path}: {what} in {len(places)} panels: {shown}")
    if defaults:
        notes.append(f"{name}: {defaults} field(s) the original leaves to Grafana's defaults are written "
                     "out by the build (`grafana-sync diff --against` lists them)")
    return notes


def _moved_to(change: Any, added: dict[str, Any]) -> tuple[str, str] | None:
    """(added path, where the value went) when a removed value reappears elsewhere."""
    parent, _, key = change.path.rpartition(".")
    for path, other in added.items():
        if path.endswith("." + change.path) and other.new == change.old:
            return path, path
        if path.rpartition(".")[0] == parent and isinstance(other.new, dict) \
                and key in other.new and other.new[key] == change.old:
            return path, f"{path}.{key}"
    return None


def _generic(path: str) -> str:
    """targets[A].step -> targets[*].step: the same field of every item of a list."""
    return re.sub(r"\[[^\]]*\]", "[*]", path)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(change: Any) -> str:
    kind = change.change
    if kind == "removed":
        return "not carried (the build drops it)"
    if kind == "added":
        return f"added by the build ({_short(change.new)})"
    if kind == "reordered":
        return "reordered by the build"
    return f"changed by the build: {_short(change.old)} -> {_short(change.new)}"


def import_text(text: str, name: str, **kwargs: Any) -> ImportResult:
    """Import one dashboard from JSON text; `name` (the file) is what errors and notes name."""
    return import_dashboard(parse_json_text(text, name), name, **kwargs)

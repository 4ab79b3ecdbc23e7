"""Grafana's dashboard model: the one place in the engine that knows the shape of dashboard JSON.

- the grid (`GRID_WIDTH` columns) and the schema version the build writes;
- panel walking: `walk_panels` visits top-level panels, rows, the panels of collapsed rows and
  library-panel references in ONE order (document order, a row's own panels right after it);
  `PanelRef` is what every consumer (build, lint, diff) gets for each panel;
- Grafana's defaults and the noise it adds on save, in ONE table (`DASHBOARD_DEFAULTS`,
  `PANEL_DEFAULTS`, `TARGET_DEFAULTS`, the `*_NOISE_KEYS`): build leaves default values out of the
  JSON it writes, compare (`normalise_for_compare`, `content_equal`) ignores them;
- datasource references by type (`datasource_ref`): a plain-string datasource is resolved through
  the dashboard's datasource variables or a table of known datasources, never assumed Prometheus;
- `drop_nulls`, the JSON-null rule shared by build and compare.

Reading the other shapes a dashboard comes in (legacy `rows`, Kubernetes-style resources) lives in
`grafana_sync.shapes`; both produce the classic JSON model this module describes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Grafana's dashboard grid is 24 columns wide (gridPos.x + gridPos.w <= 24).
GRID_WIDTH = 24
#: gridPos of a panel placed without one: half the grid wide, 8 rows high (Grafana's default).
DEFAULT_PANEL_W, DEFAULT_PANEL_H = 12, 8
#: The schemaVersion the build writes (Grafana 11.4's dashboard schema); newer is kept.
SCHEMA_VERSION = 39
ROW_TYPE = "row"

#: Panel types that show query results (as opposed to row, text, news, dashlist, alertlist, ...).
DATA_PANEL_TYPES = frozenset({
    "timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "state-timeline",
    "status-history", "piechart", "barchart", "histogram", "xychart", "trend", "candlestick",
    "graph", "singlestat", "table-old",
})


# ---------------------------------------------------------------------------------------------
# JSON null
# ---------------------------------------------------------------------------------------------


def drop_nulls(value: Any) -> Any:
    """A copy without object keys whose value is null (Grafana treats null and absent alike).

    List items are kept, nulls included: a list's positions carry meaning (`[1, null, 3]`).
    Every container is rebuilt, so the result shares nothing mutable with the input.
    """
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Defaults and noise: one table for build (leave out) and compare (ignore)
# Each entry is documented in docs/diff.md and tested in tests/unit/test_diff_noise.py.
# ---------------------------------------------------------------------------------------------

#: Top-level dashboard keys that are bookkeeping, never content.
DASHBOARD_NOISE_KEYS: tuple[str, ...] = (
    "id",  # database id, differs per Grafana instance
    "version",  # bumped on every save
    "iteration",  # legacy per-save timestamp
    "schemaVersion",  # stamped by the Grafana version that last migrated/saved the dashboard
    "__inputs",  # export-only ("share → export for sharing externally")
    "__elements",  # export-only (library panels)
    "__requires",  # export-only (plugin requirements)
)

#: Top-level values that mean "unset": build leaves them out, compare ignores them.
DASHBOARD_UNSET: dict[str, Any] = {
    "gnetId": "",  # null is dropped before; "" means "not from grafana.com" too
    "description": "",
}
#: Top-level dashboard keys holding the value Grafana assumes when they are absent (the Grafana
#: UI writes them all out on save). Compare ignores them; build keeps what the author set
#: (explicit values in the committed JSON), except the DASHBOARD_UNSET ones.
DASHBOARD_DEFAULTS: dict[str, Any] = {
    **DASHBOARD_UNSET,
    "editable": True,
    "fiscalYearStartMonth": 0,
    "graphTooltip": 0,
    "liveNow": False,
    "links": [],
    "weekStart": "",
    "timepicker": {},
    "refresh": "",
}

#: Panel keys that are bookkeeping: `pluginVersion` is stamped by the frontend on save.
PANEL_NOISE_KEYS: tuple[str, ...] = ("pluginVersion",)

#: Panel keys holding Grafana's default (or a value Grafana treats as unset).
PANEL_DEFAULTS: dict[str, Any] = {
    "links": [],
    "transformations": [],
    "transparent": False,
    "hideTimeOverride": False,
    "description": "",
    "interval": "",
}

#: Target (query) keys that are editor UI state, never query content.
TARGET_NOISE_KEYS: tuple[str, ...] = ("editorMode",)

#: Target keys holding Grafana's default.
TARGET_DEFAULTS: dict[str, Any] = {"hide": False}

#: Variable keys that Grafana refreshes from data on load and writes back on save.
VARIABLE_NOISE_KEYS: tuple[str, ...] = ("current",)
#: ... and `options` too for variable types whose options are resolved from a datasource.
VARIABLE_RESOLVED_OPTIONS_TYPES: tuple[str, ...] = ("query", "datasource")


def drop_defaults(obj: dict[str, Any], defaults: Mapping[str, Any]) -> None:
    """Remove (in place) the keys of `obj` that hold their default value."""
    for key, default in defaults.items():
        if key in obj and obj[key] == default:
            del obj[key]


def _compare_panel(panel: dict[str, Any]) -> None:
    for key in PANEL_NOISE_KEYS:
        panel.pop(key, None)
    drop_defaults(panel, PANEL_DEFAULTS)
    targets = panel.get("targets")
    if isinstance(targets, list):
        for target in targets:
            if not isinstance(target, dict):
                continue
            for key in TARGET_NOISE_KEYS:
                target.pop(key, None)
            drop_defaults(target, TARGET_DEFAULTS)
            # Grafana >= 10 copies the panel's datasource onto each query on save.
            if "datasource" in target and target["datasource"] == panel.get("datasource"):
                del target["datasource"]
    field_config = panel.get("fieldConfig")
    if isinstance(field_config, dict):
        drop_defaults(field_config, {"defaults": {}, "overrides": []})
        if not field_config:
            del panel["fieldConfig"]
    if panel.get("options") == {}:
        del panel["options"]


def normalise_for_compare(dashboard: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `dashboard` with the noise removed, for "is the content equal?" checks.

    Removes: null-valued keys; tag order (tags are sorted); the DASHBOARD_NOISE_KEYS; top-level
    keys equal to Grafana's default (DASHBOARD_DEFAULTS, `gnetId` also when null); the built-in
    "Annotations & Alerts" annotation; each variable's `current` (and `options` for
    query/datasource variables); each panel's `pluginVersion`, keys equal to their default
    (PANEL_DEFAULTS), empty `options`, `fieldConfig.defaults` and `fieldConfig.overrides`; each
    query's `editorMode`, `hide: false` and a `datasource` equal to its panel's. Key order never
    matters (dicts). The input is not modified.
    """
    dash: dict[str, Any] = drop_nulls(dict(dashboard))  # rebuilds every container: a deep copy
    for key in DASHBOARD_NOISE_KEYS:
        dash.pop(key, None)
    drop_defaults(dash, DASHBOARD_DEFAULTS)
    if isinstance(dash.get("tags"), list):  # a set to Grafana: order means nothing
        dash["tags"] = sorted(dash["tags"], key=str)

    annotations = dash.get("annotations")
    if isinstance(annotations, dict) and isinstance(annotations.get("list"), list):
        annotations["list"] = [
            a for a in annotations["list"] if not (isinstance(a, dict) and a.get("builtIn"))
        ]
        if not annotations["list"]:
            del annotations["list"]
    if annotations == {}:
        dash.pop("annotations", None)

    templating = dash.get("templating")
    if isinstance(templating, dict) and isinstance(templating.get("list"), list):
        for var in templating["list"]:
            if not isinstance(var, dict):
                continue
            for key in VARIABLE_NOISE_KEYS:
                var.pop(key, None)
            if var.get("type") in VARIABLE_RESOLVED_OPTIONS_TYPES:
                var.pop("options", None)
        if not templating["list"]:
            del templating["list"]
    if templating == {}:
        dash.pop("templating", None)

    for ref in walk_panels(dash):
        _compare_panel(ref.raw)  # type: ignore[arg-type]  # our own copy: safe to edit
    return dash


def content_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when two dashboards have the same content once noise is ignored."""
    return normalise_for_compare(a) == normalise_for_compare(b)


def equal_apart_from_noise_keys(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """A cheap SUFFICIENT condition for `content_equal(a, b)`: equal (Python `==`) once the
    top-level DASHBOARD_NOISE_KEYS are left out, without normalising either side.

    Why it implies content_equal: normalise_for_compare reads the top level only through the
    keys it keeps (dropping nulls is per key, then the noise keys go), and every later step is
    built from `==`, `in`, truthiness and container-type checks, so `==`-equal inputs give
    `==`-equal outputs (for JSON values `==` is transitive: numbers compare numerically, a
    dict or list only equals a dict or list). False proves nothing: compare normalised copies.
    Cost: one C-level comparison instead of two deep copies (push planning, issue #18).
    """
    return ({k: v for k, v in a.items() if k not in DASHBOARD_NOISE_KEYS}
            == {k: v for k, v in b.items() if k not in DASHBOARD_NOISE_KEYS})


# ---------------------------------------------------------------------------------------------
# Panels: one walk, one reference type
# ---------------------------------------------------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class PanelRef:
    """One panel in walk order (see `walk_panels`): where it sits and its raw JSON.

    `index` is its position in the walk; `row` the title of the row whose section holds it
    (an expanded row's following panels, or a collapsed row's own `panels`), None above the
    first row and for rows themselves; `parent_row` the walk index of the row whose `panels`
    list holds it (collapsed rows), None for top-level panels. Two refs compare by place, not by
    content.
    """

    index: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    row: str | None = None
    parent_row: int | None = None

    @property
    def id(self) -> int | None:
        return _int_or_none(self.raw.get("id"))

    @property
    def title(self) -> str:
        value = self.raw.get("title")
        return value if isinstance(value, str) else ""

    @property
    def type(self) -> str:
        value = self.raw.get("type")
        return value if isinstance(value, str) else ""

    @property
    def grid_pos(self) -> Mapping[str, Any] | None:
        value = self.raw.get("gridPos")
        return value if isinstance(value, dict) else None

    @property
    def is_row(self) -> bool:
        return self.type == ROW_TYPE

    @property
    def library_uid(self) -> str | None:
        """The uid of the library panel this panel references (its content lives in Grafana)."""
        lib = self.raw.get("libraryPanel")
        uid = lib.get("uid") if isinstance(lib, dict) else None
        return uid if isinstance(uid, str) and uid else None

    @property
    def is_library(self) -> bool:
        return "libraryPanel" in self.raw

    @property
    def is_data_panel(self) -> bool:
        return self.type in DATA_PANEL_TYPES

    def as_dict(self) -> dict[str, Any]:
        """The place of the panel, as the diff's JSON output writes it."""
        return {
            "id": self.id,
            "title": self.title,
            "type": self.type,
            "row": self.row,
            "gridPos": dict(self.grid_pos) if self.grid_pos is not None else None,
        }


def _panel_list(source: Any) -> list[Any]:
    if isinstance(source, Mapping):
        panels = source.get("panels")
        return panels if isinstance(panels, list) else []
    return source if isinstance(source, list) else []


def walk_panels(source: Mapping[str, Any] | list[Any]) -> list[PanelRef]:
    """Every panel of a dashboard (or of a panel list) in document order.

    Order: each top-level panel, and right after a row the panels of its own `panels` list (a
    collapsed row's content). Rows are panels of type "row"; library-panel references are
    panels too (`PanelRef.is_library`). Items that are not objects are skipped. Legacy `rows`
    and Kubernetes-shaped dashboards are read through `grafana_sync.shapes.classic` first.
    """
    found: list[PanelRef] = []

    def add(items: list[Any], row: str | None, parent: int | None) -> None:
        section = row
        for item in items:
            if not isinstance(item, dict):
                continue
            is_row = item.get("type") == ROW_TYPE
            ref = PanelRef(index=len(found), raw=item, row=None if is_row else section,
                           parent_row=parent)
            found.append(ref)
            children = item.get("panels")
            if is_row:
                section = ref.title if parent is None else section
            if isinstance(children, list) and children:
                add(children, ref.title if is_row else section, ref.index)

    add(_panel_list(source), None, None)
    return found


def iter_panels(source: Mapping[str, Any] | list[Any]) -> Iterator[dict[str, Any]]:
    """The raw panel objects of `walk_panels`, in the same order."""
    for ref in walk_panels(source):
        yield ref.raw  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Datasource references
# ---------------------------------------------------------------------------------------------


def variable_name_in(text: str) -> str | None:
    """`$name` or `${name}` / `${name:format}` (the whole string) -> name; anything else -> None."""
    if text.startswith("${") and text.endswith("}"):
        inner = text[2:-1].split(":", 1)[0]
        return inner or None
    if text.startswith("$") and len(text) > 1 and text[1:].replace("_", "a").isalnum():
        return text[1:]
    return None


def datasource_variables(dashboard: Mapping[str, Any]) -> dict[str, str]:
    """name -> plugin type of each `datasource` template variable (its `query`)."""
    templating = dashboard.get("templating")
    items = templating.get("list") if isinstance(templating, dict) else None
    found: dict[str, str] = {}
    for var in items if isinstance(items, list) else []:
        if isinstance(var, dict) and var.get("type") == "datasource":
            name, query = var.get("name"), var.get("query")
            if isinstance(name, str) and isinstance(query, str) and query:
                found[name] = query
    return found


@dataclass(frozen=True)
class DatasourceResolver:
    """Turns what a dashboard author wrote as a datasource into a `{"type", "uid"}` reference.

    `variables`: datasource template variables (name -> plugin type); `known`: datasources known
    by name or uid (e.g. from the provisioning YAML) -> their `{"type", "uid"}`. A reference
    whose type cannot be known keeps only its uid, as Grafana's own migration does: the engine
    never guesses a plugin type.
    """

    variables: Mapping[str, str] = field(default_factory=dict)
    known: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def for_dashboard(cls, dashboard: Mapping[str, Any],
                      known: Mapping[str, Mapping[str, str]] | None = None) -> DatasourceResolver:
        return cls(variables=datasource_variables(dashboard), known=dict(known or {}))

    def default(self) -> dict[str, str] | None:
        """The reference a panel without one gets: the dashboard's only datasource variable."""
        if len(self.variables) == 1:
            ((name, kind),) = self.variables.items()
            return {"type": kind, "uid": f"${{{name}}}"}
        return None

    def _type_of(self, uid: str) -> str | None:
        name = variable_name_in(uid)
        if name is not None:
            return self.variables.get(name)
        known = self.known.get(uid)
        return known.get("type") if known else None

    def ref(self, value: Any) -> dict[str, str] | None:
        """`value` (a name or uid string, a ref object, or None) as a modern reference.

        None (or Grafana 7's "default") -> `default()`, which may be None (Grafana's default
        datasource). A string that names a known datasource becomes its ref; a variable reference
        gets the variable's plugin type. A ref object keeps what it has and gains a type only
        when one can be known.
        """
        if value is None or value == "default" or value == "":
            return self.default()
        if isinstance(value, Mapping):
            uid = value.get("uid")
            kind = value.get("type")
            if not isinstance(uid, str) or not uid:
                return {"type": kind} if isinstance(kind, str) and kind else self.default()
            out = {"uid": uid}
            kind = kind if isinstance(kind, str) and kind else self._type_of(uid)
            if kind:
                out["type"] = kind
            return out
        if isinstance(value, str):
            if variable_name_in(value) is None and value in self.known:
                known = self.known[value]
                return {k: known[k] for k in ("type", "uid") if known.get(k)}
            kind = self._type_of(value)
            return {"type": kind, "uid": value} if kind else {"uid": value}
        return self.default()


def datasource_uid(ref: Any) -> str | None:
    """The uid of a datasource reference: `{"uid": ...}` (Grafana >= 8.3) or a bare string (older)."""
    if isinstance(ref, Mapping):
        uid = ref.get("uid")
        return uid if isinstance(uid, str) else None
    return ref if isinstance(ref, str) else None

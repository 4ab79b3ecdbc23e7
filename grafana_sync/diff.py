"""Semantic, panel-level diff of two sets of Grafana dashboards.

`diff_dashboards(old, new)` matches dashboards by uid and panels by stable identity, ignores the
noise Grafana adds on save (see `normalise_for_compare` and docs/diff.md), and returns a
`DiffResult` that the renderers in grafana_sync.diff_render turn into text, markdown or JSON.
"old" is the reference side (Grafana, a git ref, another folder), "new" is the local side.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from grafana_sync.model import PanelRef, content_equal, normalise_for_compare, walk_panels  # noqa: F401
from grafana_sync.shapes import classic

__all__ = ["MISSING", "DashboardDiff", "DiffResult", "FieldChange", "PanelChange", "PanelRef",
           "content_equal", "diff_dashboard", "diff_dashboards", "diff_values",
           "normalise_for_compare"]


class _Missing:
    """Sentinel for "this key does not exist on that side" (distinct from JSON null)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


# ---------------------------------------------------------------------------------------------
# Result model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """One changed value, at a path like `targets[A].expr` or `fieldConfig.defaults.unit`.

    `old`/`new` are MISSING when the value is absent on that side. `change` is "added",
    "removed", "changed" or "reordered" (a keyed list whose items kept their content but not
    their order; old/new are then the lists of keys).
    """

    path: str
    old: Any = MISSING
    new: Any = MISSING
    reordered: bool = False

    @property
    def change(self) -> str:
        if self.reordered:
            return "reordered"
        if self.old is MISSING:
            return "added"
        if self.new is MISSING:
            return "removed"
        return "changed"


@dataclass(frozen=True)
class PanelChange:
    """One entry for one panel: kind is "added", "removed", "moved" or "changed".

    A panel that both moved and changed gives two entries (one "moved", one "changed").
    `old` is the panel's place on the reference side (None for "added"), `new` on the local
    side (None for "removed"); `fields` lists the changed fields of a "changed" entry.
    """

    kind: str
    old: PanelRef | None
    new: PanelRef | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def ref(self) -> PanelRef:
        """The panel as it is now (local side), or as it was if it was removed."""
        ref = self.new if self.new is not None else self.old
        assert ref is not None
        return ref


@dataclass(frozen=True)
class DashboardDiff:
    """Differences of one dashboard (by uid): status "added", "removed" or "changed"."""

    uid: str
    title: str
    status: str
    changes: tuple[FieldChange, ...] = ()
    panels: tuple[PanelChange, ...] = ()
    panel_count: int = 0  # number of panels of an added/removed dashboard
    #: (old, new) of panels whose gridPos changed only because the layout flowed around another
    #: change: same row, size and reading order. Reported as a count, not as entries.
    shifted: tuple[tuple[PanelRef, PanelRef], ...] = ()


@dataclass(frozen=True)
class DiffResult:
    """The differences between two sets of dashboards, dashboards in uid order."""

    dashboards: tuple[DashboardDiff, ...] = ()
    unchanged: tuple[str, ...] = ()  # uids present and equal on both sides
    old_label: str = "old"
    new_label: str = "new"

    @property
    def is_empty(self) -> bool:
        return not self.dashboards

    def counts(self) -> dict[str, int]:
        """Summary counts, used by every renderer."""
        counts = {
            "dashboards_added": 0,
            "dashboards_removed": 0,
            "dashboards_changed": 0,
            "dashboards_unchanged": len(self.unchanged),
            "panels_added": 0,
            "panels_removed": 0,
            "panels_moved": 0,
            "panels_changed": 0,
            "panels_shifted": 0,
        }
        for dash in self.dashboards:
            counts[f"dashboards_{dash.status}"] += 1
            counts["panels_shifted"] += len(dash.shifted)
            for panel in dash.panels:
                counts[f"panels_{panel.kind}"] += 1
        return counts


# ---------------------------------------------------------------------------------------------
# Value diff (nested, with paths)
# ---------------------------------------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
#: Fields that identify an item of a list of objects, tried in order (must be present and unique
#: on both sides). Overrides are keyed by their matcher instead.
_LIST_ITEM_KEYS: tuple[str, ...] = ("refId", "name", "uid", "title")


def _join(path: str, key: str) -> str:
    part = key if _IDENT.match(key) else f"[{key!r}]"
    if not path:
        return part
    return f"{path}.{part}" if not part.startswith("[") else f"{path}{part}"


def _item_key(item: Mapping[str, Any], key_field: str) -> str | None:
    if key_field == "matcher":
        matcher = item.get("matcher")
        if not isinstance(matcher, dict) or "id" not in matcher:
            return None
        options = matcher.get("options")
        return f"{matcher['id']}={options}" if options is not None else str(matcher["id"])
    if key_field == "id" and isinstance(item.get("id"), str):  # field-config properties
        return item["id"]
    value = item.get(key_field)
    return str(value) if isinstance(value, (str, int)) and value != "" else None


def _list_key_field(old: list[Any], new: list[Any]) -> str | None:
    items = old + new
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key_field in ("matcher", *_LIST_ITEM_KEYS, "id"):
        ok = True
        for side in (old, new):
            keys = [_item_key(i, key_field) for i in side]
            if any(k is None for k in keys) or len(set(keys)) != len(keys):
                ok = False
                break
        if ok:
            return key_field
    return None


#: Panel objects Grafana treats as empty when absent (and normalise_for_compare drops when
#: empty): a value added into one of them is reported at its own path
#: (`fieldConfig.defaults.unit`), not as the whole new object.
IMPLICIT_EMPTY_OBJECTS: frozenset[str] = frozenset({
    "fieldConfig", "fieldConfig.defaults", "fieldConfig.defaults.custom", "options",
})


def diff_values(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Leaf-level changes between two JSON values; MISSING marks an absent side.

    Objects recurse by key; lists of objects recurse by a stable item key (refId, name, uid,
    title, an override's matcher, a property's id) or else by index. Anything else (scalars,
    lists of scalars such as tags) and any value present on one side only (a new query, a new
    thresholds object) is one change holding the whole value.
    """
    if path in IMPLICIT_EMPTY_OBJECTS:  # absent means {} to Grafana: report the leaves
        old = {} if old is MISSING and isinstance(new, dict) else old
        new = {} if new is MISSING and isinstance(old, dict) else new
    if old is MISSING or new is MISSING:
        return [] if old is new else [FieldChange(path=path, old=old, new=new)]
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for key in sorted(set(old) | set(new)):
            out.extend(diff_values(old.get(key, MISSING), new.get(key, MISSING),
                                   _join(path, key)))
        return out
    if (isinstance(old, list) and isinstance(new, list) and (old or new)
            and all(isinstance(i, dict) for i in old + new)):
        return _diff_object_lists(old, new, path)
    return [FieldChange(path=path, old=old, new=new)]


def _diff_object_lists(old: list[dict[str, Any]], new: list[dict[str, Any]],
                       path: str) -> list[FieldChange]:
    key_field = _list_key_field(old, new)
    out: list[FieldChange] = []
    if key_field is None:
        for i in range(max(len(old), len(new))):
            o = old[i] if i < len(old) else MISSING
            n = new[i] if i < len(new) else MISSING
            out.extend(diff_values(o, n, f"{path}[{i}]"))
        return out
    o_map = {_item_key(i, key_field): i for i in old}
    n_map = {_item_key(i, key_field): i for i in new}
    # Items whose key itself changed (a renamed variable, a refId A -> B) pair up in order with
    # the unmatched items of the other side and show under their new key.
    gone = [k for k in o_map if k not in n_map]
    fresh = [k for k in n_map if k not in o_map]
    renamed = dict(zip(fresh, gone, strict=False))
    for key in n_map:
        old_key = key if key in o_map else renamed.get(key)
        old_item = o_map[old_key] if old_key is not None else MISSING
        out.extend(diff_values(old_item, n_map[key], f"{path}[{key}]"))
    for key in gone[len(fresh):]:
        out.extend(diff_values(o_map[key], MISSING, f"{path}[{key}]"))
    common_old = [k for k in o_map if k in n_map]
    common_new = [k for k in n_map if k in o_map]
    if common_old != common_new:
        out.append(FieldChange(path=path, old=common_old, new=common_new, reordered=True))
    return out


# ---------------------------------------------------------------------------------------------
# Panels: flatten (rows, collapsed rows), match by identity, compare
# ---------------------------------------------------------------------------------------------


@dataclass
class _Slot:
    index: int
    ref: PanelRef
    content: dict[str, Any]  # the panel minus id, gridPos and row children


def _slot(ref: PanelRef) -> _Slot:
    content = {k: v for k, v in ref.raw.items() if k not in ("id", "gridPos")}
    if ref.is_row:
        content.pop("panels", None)
    return _Slot(index=ref.index, ref=ref, content=content)


def _grid_y(panel: Mapping[str, Any]) -> float | None:
    gp = panel.get("gridPos")
    y = gp.get("y") if isinstance(gp, dict) else None
    return y if isinstance(y, (int, float)) and not isinstance(y, bool) else None


def flatten_panels(dash: Mapping[str, Any]) -> list[_Slot]:
    """Every panel in layout order (grafana_sync.model.walk_panels), with the title of its row.

    A top-level panel belongs to the last row above it *by gridPos*: Grafana sorts panels by
    gridPos on load, so list order does not decide (a panel listed after row B but placed under
    row A is in A). Panels of a collapsed row are in that row; a panel without a usable gridPos
    keeps the row of its place in the list.
    """
    refs = walk_panels(dash)
    row_tops = sorted((y, ref.index) for ref in refs if ref.is_row and ref.parent_row is None
                      and (y := _grid_y(ref.raw)) is not None)
    titles = {ref.index: ref.title for ref in refs}
    slots = []
    for ref in refs:
        y = _grid_y(ref.raw)
        if not ref.is_row and ref.parent_row is None and y is not None and row_tops:
            above = [index for row_y, index in row_tops if row_y <= y]
            row = titles[above[-1]] if above else None
            if row != ref.row:
                ref = replace(ref, row=row)
        slots.append(_slot(ref))
    return slots


def _match_pass(old: list[_Slot], new: list[_Slot], key: Any,
                pairs: list[tuple[_Slot, _Slot]]) -> tuple[list[_Slot], list[_Slot]]:
    """Pair slots whose key(slot) is equal and not None, in layout order; return the rest."""
    by_key: dict[Any, list[_Slot]] = {}
    for slot in old:
        k = key(slot)
        if k is not None:
            by_key.setdefault(k, []).append(slot)
    used: set[int] = set()
    rest_new: list[_Slot] = []
    for slot in new:
        k = key(slot)
        candidates = by_key.get(k) if k is not None else None
        if candidates:
            partner = candidates.pop(0)
            used.add(partner.index)
            pairs.append((partner, slot))
        else:
            rest_new.append(slot)
    return [s for s in old if s.index not in used], rest_new


def match_panels(old: list[_Slot], new: list[_Slot]
                 ) -> tuple[list[tuple[_Slot, _Slot]], list[_Slot], list[_Slot]]:
    """Pair old and new panels by stable identity; return (pairs, removed, added).

    Passes, each on what the previous ones left: same id and title; same title within the same
    row (ids are renumbered by layout, so a panel inserted above shifts the ids below it); same
    title anywhere (moved to another row); same id and type (renamed in place). Titles only
    count when non-empty; rows only match rows.
    """
    pairs: list[tuple[_Slot, _Slot]] = []

    def is_row(s: _Slot) -> bool:
        return s.ref.type == "row"

    passes = (
        lambda s: (is_row(s), s.ref.id, s.ref.title) if s.ref.id is not None else None,
        lambda s: (is_row(s), s.ref.row, s.ref.title) if s.ref.title else None,
        lambda s: (is_row(s), s.ref.title) if s.ref.title else None,
        lambda s: (s.ref.type, s.ref.id) if s.ref.id is not None else None,
    )
    for key in passes:
        old, new = _match_pass(old, new, key, pairs)
    return pairs, old, new


def _reading_order(slot: _Slot) -> tuple[float, float, int]:
    gp = slot.ref.grid_pos or {}
    y, x = gp.get("y", 0), gp.get("x", 0)
    return (y if isinstance(y, (int, float)) else 0, x if isinstance(x, (int, float)) else 0,
            slot.index)


def _heaviest_increasing(seq: list[int], weights: list[int]) -> set[int]:
    """Positions in seq of a strictly increasing subsequence of greatest total weight.

    Ties go to the subsequence ending, and then continuing, earliest: deterministic. O(n^2),
    fine for the few hundred panels of a dashboard.
    """
    best: list[int] = []
    prev: list[int | None] = []
    for pos, value in enumerate(seq):
        score, link = weights[pos], None
        for before in range(pos):
            if seq[before] < value and best[before] + weights[pos] > score:
                score, link = best[before] + weights[pos], before
        best.append(score)
        prev.append(link)
    if not seq:
        return set()
    cursor: int | None = max(range(len(seq)), key=lambda p: (best[p], -p))
    keep: set[int] = set()
    while cursor is not None:
        keep.add(cursor)
        cursor = prev[cursor]
    return keep


def _size(ref: PanelRef) -> tuple[Any, Any]:
    gp = ref.grid_pos or {}
    return gp.get("w"), gp.get("h")


def _x(ref: PanelRef) -> Any:
    return (ref.grid_pos or {}).get("x")


def _split_moves(pairs: list[tuple[_Slot, _Slot]]) -> tuple[set[int], set[int]]:
    """(moved, shifted): new-side indices of paired panels whose gridPos changed.

    A panel whose gridPos did not change is never moved. Of the others, a panel *moved* when its
    row, size or column changed, or its place in reading order (y, then x) among the paired
    panels changed; otherwise its new y is only a *shift*: Grafana's layout flows vertically
    around an added, removed or resized panel (one insert shifts everything below it).

    "Its place in reading order changed" means: not in the heaviest increasing subsequence of
    old ranks taken in new reading order, where an unchanged panel weighs more than all changed
    ones together. So when B moves below C, the panels that stayed put (C) keep the order and
    the one that changed place (B) is the move, never the other way round.
    """
    by_new = sorted(pairs, key=lambda p: _reading_order(p[1]))
    old_rank = {id(o): rank for rank, (o, _n) in
                enumerate(sorted(pairs, key=lambda p: _reading_order(p[0])))}
    heavy = len(pairs) + 1
    weights = [heavy if o.ref.grid_pos == n.ref.grid_pos else 1 for o, n in by_new]
    in_order = _heaviest_increasing([old_rank[id(o)] for o, _n in by_new], weights)
    moved: set[int] = set()
    shifted: set[int] = set()
    for pos, (o, n) in enumerate(by_new):
        if o.ref.grid_pos == n.ref.grid_pos:
            continue
        if (o.ref.row != n.ref.row or _size(o.ref) != _size(n.ref) or _x(o.ref) != _x(n.ref)
                or pos not in in_order):
            moved.add(n.index)
        else:
            shifted.add(n.index)
    return moved, shifted


def _y(ref: PanelRef) -> float | None:
    return _grid_y(ref.raw)


def _unexplained_shifts_are_moves(pairs: list[tuple[_Slot, _Slot]], moved: set[int],
                                  shifted: set[int], added: list[_Slot],
                                  removed: list[_Slot]) -> None:
    """A shift needs a cause above it; without one, the panel was moved by hand.

    Grafana's layout flows panels vertically when something above them changes: a panel added,
    removed, moved or resized, a row collapsed or expanded. A panel whose y changed with none of
    those above it (in either version) did not flow: it is moved (updates the sets in place).
    """
    causes = [y for s in added if (y := _y(s.ref)) is not None]
    causes += [y for s in removed if (y := _y(s.ref)) is not None]
    for o, n in pairs:
        ys = [y for y in (_y(o.ref), _y(n.ref)) if y is not None]
        if ys and (n.index in moved or (
                n.ref.is_row and o.content.get("collapsed") != n.content.get("collapsed"))):
            causes.append(min(ys))
    candidates = sorted((p for p in pairs if p[1].index in shifted),
                        key=lambda p: _reading_order(p[1]))
    for o, n in candidates:
        ys = [y for y in (_y(o.ref), _y(n.ref)) if y is not None]
        if ys and not any(cause < max(ys) for cause in causes):
            shifted.discard(n.index)
            moved.add(n.index)
            causes.append(min(ys))


def diff_panels(old_dash: Mapping[str, Any], new_dash: Mapping[str, Any]
                ) -> tuple[list[PanelChange], list[tuple[PanelRef, PanelRef]]]:
    """(entries, shifted) of one dashboard.

    Entries are in the local layout order, removed panels last. `shifted` lists (old, new) of
    panels that only flowed with the layout (see _split_moves); they are not entries.
    """
    old_slots = flatten_panels(old_dash)
    new_slots = flatten_panels(new_dash)
    pairs, removed, added = match_panels(old_slots, new_slots)
    moved, shifted_idx = _split_moves(pairs)
    _unexplained_shifts_are_moves(pairs, moved, shifted_idx, added, removed)
    by_new_index: dict[int, list[PanelChange]] = {}
    shifted: list[tuple[PanelRef, PanelRef]] = []
    for o, n in sorted(pairs, key=lambda p: p[1].index):
        entries: list[PanelChange] = []
        if n.index in moved:
            entries.append(PanelChange("moved", o.ref, n.ref))
        elif n.index in shifted_idx:
            shifted.append((o.ref, n.ref))
        fields = diff_values(o.content, n.content)
        if fields:
            entries.append(PanelChange("changed", o.ref, n.ref, tuple(fields)))
        by_new_index[n.index] = entries
    for n in added:
        by_new_index[n.index] = [PanelChange("added", None, n.ref)]
    out: list[PanelChange] = []
    for index in sorted(by_new_index):
        out.extend(by_new_index[index])
    out.extend(PanelChange("removed", o.ref, None) for o in sorted(removed, key=lambda s: s.index))
    return out, shifted


# ---------------------------------------------------------------------------------------------
# Dashboards
# ---------------------------------------------------------------------------------------------

_DASHBOARD_STRUCTURE_KEYS = ("panels", "rows", "uid")


def _dashboard_level(dash: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dash.items() if k not in _DASHBOARD_STRUCTURE_KEYS}


def diff_dashboard(uid: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> DashboardDiff:
    """Differences between two versions of one dashboard (both are normalised here).

    Either side may be legacy `rows` or Kubernetes-shaped JSON (read by grafana_sync.shapes).
    """
    old = classic(old, uid, strict=False)
    new = classic(new, uid, strict=False)
    old_n = normalise_for_compare(old)
    new_n = normalise_for_compare(new)
    changes = diff_values(_dashboard_level(old_n), _dashboard_level(new_n))
    panels, shifted = diff_panels(old_n, new_n)
    title = str(new.get("title") or old.get("title") or uid)
    return DashboardDiff(uid=uid, title=title, status="changed", changes=tuple(changes),
                         panels=tuple(panels), shifted=tuple(shifted))


def _count_panels(dash: Mapping[str, Any]) -> int:
    return sum(1 for ref in walk_panels(classic(dash, strict=False)) if not ref.is_row)


def diff_dashboards(old: Mapping[str, dict[str, Any]], new: Mapping[str, dict[str, Any]], *,
                    old_label: str = "old", new_label: str = "new") -> DiffResult:
    """Compare two sets of dashboards keyed by uid: old = reference/remote, new = local."""
    dashboards: list[DashboardDiff] = []
    unchanged: list[str] = []
    for uid in sorted(set(old) | set(new)):
        if uid not in old:
            dash = new[uid]
            dashboards.append(DashboardDiff(uid, str(dash.get("title") or uid), "added",
                                            panel_count=_count_panels(dash)))
        elif uid not in new:
            dash = old[uid]
            dashboards.append(DashboardDiff(uid, str(dash.get("title") or uid), "removed",
                                            panel_count=_count_panels(dash)))
        else:
            result = diff_dashboard(uid, old[uid], new[uid])
            if result.changes or result.panels or result.shifted:
                dashboards.append(result)
            else:
                unchanged.append(uid)
    return DiffResult(tuple(dashboards), tuple(unchanged), old_label, new_label)

"""Move detection, field paths and row membership in the panel diff (issue #19).

The property test generates random packed layouts, half of them with row panels (seeded: every
run checks the same 400 layouts, and a failure names its seed), moves one panel to free space,
and checks that the diff names exactly that panel, as moved, and nothing else.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from grafana_sync.diff import diff_dashboards


def _panel(pid: int, title: str, x: int, y: int, w: int, h: int = 8) -> dict[str, Any]:
    return {"id": pid, "type": "timeseries", "title": title,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "targets": [{"refId": "A", "expr": f"up{{panel=\"{title}\"}}"}]}


def _dash(panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {"uid": "d", "title": "D", "panels": panels}


def _diff(old: dict[str, Any], new: dict[str, Any]):
    result = diff_dashboards({"d": old}, {"d": new})
    assert len(result.dashboards) == 1, "expected a difference"
    return result.dashboards[0]


def test_issue_case_b_moved_below_c_names_b_never_c() -> None:
    old = _dash([_panel(1, "A", 0, 0, 12), _panel(2, "B", 12, 0, 12), _panel(3, "C", 0, 8, 24)])
    new = copy.deepcopy(old)
    new["panels"][1]["gridPos"]["y"] = 16
    dash = _diff(old, new)
    assert [(c.kind, c.ref.title) for c in dash.panels] == [("moved", "B")]
    moved = dash.panels[0]
    assert moved.old.grid_pos == {"x": 12, "y": 0, "w": 12, "h": 8}
    assert moved.new.grid_pos == {"x": 12, "y": 16, "w": 12, "h": 8}
    assert dash.shifted == ()


def test_panel_whose_position_did_not_change_is_never_moved() -> None:
    """Same shape as the issue case, but with the list order changed too: C still stays put."""
    old = _dash([_panel(1, "A", 0, 0, 12), _panel(2, "B", 12, 0, 12), _panel(3, "C", 0, 8, 24)])
    new = copy.deepcopy(old)
    new["panels"][1]["gridPos"]["y"] = 16
    new["panels"] = [new["panels"][0], new["panels"][2], new["panels"][1]]
    dash = _diff(old, new)
    assert [(c.kind, c.ref.title) for c in dash.panels] == [("moved", "B")]


def test_sideways_move_keeping_reading_order_is_a_move_not_a_shift() -> None:
    """Grafana's layout flows vertically only: a new x is never the layout flowing."""
    old = _dash([_panel(1, "A", 0, 0, 12), _panel(2, "B", 0, 8, 12)])
    new = copy.deepcopy(old)
    new["panels"][1]["gridPos"]["x"] = 12
    dash = _diff(old, new)
    assert [(c.kind, c.ref.title) for c in dash.panels] == [("moved", "B")]
    assert dash.shifted == ()


def _random_layout(rng: random.Random) -> list[dict[str, Any]]:
    """Bands of panels filling the 24 columns, 2..12 panels, random widths and heights; in
    half the layouts, some bands start with a row panel (1 high, full width)."""
    panels: list[dict[str, Any]] = []
    y = 0
    with_rows = rng.random() < 0.5
    while len([p for p in panels if p["type"] != "row"]) < rng.randint(2, 12):
        if with_rows and rng.random() < 0.4:
            panels.append({"id": len(panels) + 1, "type": "row", "title": f"R{len(panels) + 1}",
                           "collapsed": False, "panels": [],
                           "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}})
            y += 1
        x, h = 0, rng.choice([4, 6, 8])
        while x < 24:
            w = rng.choice([w for w in (6, 8, 12, 24) if x + w <= 24] or [24 - x])
            panels.append(_panel(len(panels) + 1, f"P{len(panels) + 1}", x, y, w, h))
            x += w
        y += h
    return panels


def _free_spot(rng: random.Random, panels: list[dict[str, Any]], moving: dict[str, Any]
               ) -> tuple[int, int]:
    """A new (x, y) for `moving` overlapping no other panel and differing from its own."""
    gp = moving["gridPos"]
    others = [p["gridPos"] for p in panels if p is not moving]
    bottom = max(o["y"] + o["h"] for o in others)

    def free(x: int, y: int) -> bool:
        return all(x + gp["w"] <= o["x"] or o["x"] + o["w"] <= x
                   or y + gp["h"] <= o["y"] or o["y"] + o["h"] <= y for o in others)

    spots = [(x, y) for y in range(0, bottom + gp["h"] + 2) for x in range(0, 25 - gp["w"])
             if (x, y) != (gp["x"], gp["y"]) and free(x, y)]
    return rng.choice(spots)


@pytest.mark.parametrize("seed", range(400))
def test_property_moving_one_panel_names_exactly_that_panel(seed: int) -> None:
    rng = random.Random(seed)
    old_panels = _random_layout(rng)
    new_panels = copy.deepcopy(old_panels)
    moving = rng.choice([p for p in new_panels if p["type"] != "row"])
    x, y = _free_spot(rng, new_panels, moving)
    moving["gridPos"]["x"], moving["gridPos"]["y"] = x, y
    if rng.random() < 0.5:  # list order follows the layout, as Grafana saves it ... or not
        new_panels.sort(key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"]))
    dash = _diff(_dash(old_panels), _dash(new_panels))
    assert [(c.kind, c.ref.title) for c in dash.panels] == [("moved", moving["title"])], (
        f"seed {seed}")
    assert dash.shifted == (), f"seed {seed}"
    assert dash.panels[0].new.grid_pos == moving["gridPos"]


def test_insert_above_shifts_the_panels_below_and_moves_none() -> None:
    """The other side of the rule: a shift with a cause above it stays a shift."""
    old = _dash([_panel(1, "A", 0, 0, 24), _panel(2, "B", 0, 8, 12), _panel(3, "C", 12, 8, 12)])
    new = copy.deepcopy(old)
    for p in new["panels"]:
        p["gridPos"]["y"] += 4
    new["panels"].insert(0, _panel(4, "New", 0, 0, 24, h=4))
    dash = _diff(old, new)
    assert [(c.kind, c.ref.title) for c in dash.panels] == [("added", "New")]
    assert sorted(n.title for _o, n in dash.shifted) == ["A", "B", "C"]


def test_shift_without_cause_above_is_a_move_even_with_a_change_below() -> None:
    old = _dash([_panel(1, "A", 0, 0, 24), _panel(2, "B", 0, 8, 24)])
    new = copy.deepcopy(old)
    new["panels"][1]["gridPos"]["y"] = 10  # B slides down into nothing
    new["panels"].append(_panel(3, "New", 0, 30, 24))  # added far below: no cause for B
    dash = _diff(old, new)
    assert sorted((c.kind, c.ref.title) for c in dash.panels) == [("added", "New"),
                                                                   ("moved", "B")]
    assert dash.shifted == ()


def test_unit_added_to_empty_field_config_is_reported_at_its_own_path() -> None:
    old = _dash([_panel(1, "A", 0, 0, 24)])
    old["panels"][0]["fieldConfig"] = {"defaults": {}, "overrides": []}
    new = copy.deepcopy(old)
    new["panels"][0]["fieldConfig"]["defaults"]["unit"] = "s"
    dash = _diff(old, new)
    assert [(c.kind, [(f.path, f.change, f.new) for f in c.fields]) for c in dash.panels] == [
        ("changed", [("fieldConfig.defaults.unit", "added", "s")])]


def test_unit_added_where_field_config_was_absent_is_reported_at_its_own_path() -> None:
    old = _dash([_panel(1, "A", 0, 0, 24)])
    new = copy.deepcopy(old)
    new["panels"][0]["fieldConfig"] = {"defaults": {"unit": "s"}}
    new["panels"][0]["options"] = {"legend": {"showLegend": False}}
    dash = _diff(old, new)
    assert [(f.path, f.change) for f in dash.panels[0].fields] == [
        ("fieldConfig.defaults.unit", "added"), ("options.legend", "added")]


def test_unit_removed_down_to_empty_field_config_is_reported_at_its_own_path() -> None:
    old = _dash([_panel(1, "A", 0, 0, 24)])
    old["panels"][0]["fieldConfig"] = {"defaults": {"unit": "s"}, "overrides": []}
    new = copy.deepcopy(old)
    new["panels"][0]["fieldConfig"] = {"defaults": {}, "overrides": []}
    dash = _diff(old, new)
    assert [(f.path, f.change, f.old) for f in dash.panels[0].fields] == [
        ("fieldConfig.defaults.unit", "removed", "s")]


def _row(pid: int, title: str, y: int) -> dict[str, Any]:
    return {"id": pid, "type": "row", "title": title, "collapsed": False,
            "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}


def test_row_of_a_panel_comes_from_grid_pos_not_list_order() -> None:
    """'Late' is listed after row 'Two' but sits under row 'One' by gridPos: its row is 'One'."""
    panels = [_row(1, "One", 0), _panel(2, "Early", 0, 1, 12), _row(3, "Two", 9),
              _panel(4, "Other", 0, 10, 24), _panel(5, "Late", 12, 1, 12)]
    new = copy.deepcopy(panels)
    new[4]["targets"][0]["expr"] = "up"
    dash = _diff(_dash(panels), _dash(new))
    assert [(c.kind, c.ref.title, c.ref.row) for c in dash.panels] == [
        ("changed", "Late", "One")]


def test_reordering_the_list_without_moving_anything_is_no_difference() -> None:
    panels = [_row(1, "One", 0), _panel(2, "Early", 0, 1, 12), _row(3, "Two", 9),
              _panel(4, "Other", 0, 10, 24), _panel(5, "Late", 12, 1, 12)]
    new = [copy.deepcopy(panels[i]) for i in (0, 1, 4, 2, 3)]
    result = diff_dashboards({"d": _dash(panels)}, {"d": _dash(new)})
    assert result.is_empty, result.dashboards


def test_panel_moved_into_another_row_by_grid_pos_is_moved() -> None:
    panels = [_row(1, "One", 0), _panel(2, "A", 0, 1, 12), _row(3, "Two", 9),
              _panel(4, "B", 0, 10, 24)]
    new = copy.deepcopy(panels)
    new[1]["gridPos"] = {"x": 0, "y": 18, "w": 12, "h": 8}  # below row Two, list order kept
    dash = _diff(_dash(panels), _dash(new))
    assert [(c.kind, c.ref.title, c.old.row, c.new.row) for c in dash.panels] == [
        ("moved", "A", "One", "Two")]


def test_move_detection_on_a_kubernetes_resource_against_classic_json() -> None:
    old = _dash([_panel(1, "A", 0, 0, 12), _panel(2, "B", 12, 0, 12), _panel(3, "C", 0, 8, 24)])
    spec = copy.deepcopy(old)
    spec["panels"][1]["gridPos"]["y"] = 16
    new = {"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
           "metadata": {"name": "d"}, "spec": spec}
    dash = _diff(old, new)
    assert [(c.kind, c.ref.title) for c in dash.panels] == [("moved", "B")]
    assert dash.changes == () and dash.shifted == ()


def test_swapping_two_legacy_row_panels_moves_both() -> None:
    """Legacy rows are laid out on the grid first (grafana_sync.shapes): a swap is two moves."""
    def legacy(titles: list[str]) -> dict[str, Any]:
        return {"uid": "d", "title": "D", "rows": [{"title": "R", "panels": [
            {"id": i + 1, "type": "timeseries", "title": t, "span": 6, "targets": []}
            for i, t in enumerate(titles)]}]}
    old, new = legacy(["A", "B"]), legacy(["B", "A"])
    for p in new["rows"][0]["panels"]:
        p["id"] = {"A": 1, "B": 2}[p["title"]]
    dash = _diff(old, new)
    assert sorted((c.kind, c.ref.title, c.old.grid_pos["x"], c.new.grid_pos["x"])
                  for c in dash.panels) == [("moved", "A", 0, 12), ("moved", "B", 12, 0)]

"""Each change kind gives exactly its entry, and nothing else, in text, markdown and JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from grafana_sync.diff import MISSING, diff_dashboards
from grafana_sync.diff_render import format_value, render_json, render_markdown, render_text
from tests.unit.test_diff_fixtures import base_dashboard, panel


@dataclass(frozen=True)
class Expect:
    """The one entry a mutation must produce. panel=None: a dashboard-level field change."""

    kind: str  # changed | added | removed | moved
    panel: str | None = None
    path: str | None = None
    old: Any = MISSING
    new: Any = MISSING

    @property
    def field_kind(self) -> str:
        """The kind of the field change ("added" when the value is new)."""
        if self.old is MISSING:
            return "added"
        return "removed" if self.new is MISSING else "changed"


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(dash: dict[str, Any]) -> None:
        target: Any = dash
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _on_panel(title: str, fn: Callable[[dict[str, Any]], None]) -> Callable[[dict], None]:
    return lambda dash: fn(panel(dash, title))


def _add_panel(dash: dict[str, Any]) -> None:
    dash["panels"][3]["panels"].append({
        "id": 6, "type": "stat", "title": "OOM kills", "description": "OOM kills; bad: any.",
        "gridPos": {"x": 0, "y": 18, "w": 12, "h": 8},
        "targets": [{"refId": "A", "expr": "sum(increase(oom_total[$__rate_interval]))"}],
        "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []}})


def _remove_panel(dash: dict[str, Any]) -> None:
    dash["panels"] = [p for p in dash["panels"] if p.get("title") != "Requests per second"]


def _move_to_other_row(dash: dict[str, Any]) -> None:
    error_ratio = dash["panels"][3]["panels"].pop()
    error_ratio["gridPos"] = {"x": 0, "y": 9, "w": 24, "h": 8}
    dash["panels"].insert(3, error_ratio)


def _append_tag(dash: dict[str, Any]) -> None:
    dash["tags"].append("gpu")


EXPR = ("histogram_quantile(0.99, sum by (le, model) "
        "(rate(ml_request_duration_seconds_bucket[$__rate_interval])))")

CASES: dict[str, tuple[Callable[[dict[str, Any]], None], Expect]] = {
    "dashboard title": (_set(["title"], "Infra v2"),
                        Expect("changed", None, "title", "Infrastructure", "Infra v2")),
    "tags": (_append_tag, Expect(
        "changed", None, "tags",  # sorted: tag order means nothing to Grafana
        ["infrastructure", "managed-by-grafana-sync", "ml-monitoring"],
        ["gpu", "infrastructure", "managed-by-grafana-sync", "ml-monitoring"])),
    "variable": (_set(["templating", "list", 1, "query"], "label_values(up, model)"),
                 Expect("changed", None, "templating.list[model].query",
                        "label_values(ml_requests_total, model)", "label_values(up, model)")),
    "time": (_set(["time", "from"], "now-24h"),
             Expect("changed", None, "time.from", "now-6h", "now-24h")),
    "refresh": (_set(["refresh"], "5m"), Expect("changed", None, "refresh", "1m", "5m")),
    "links": (_set(["links", 0, "tags"], ["overview", "fleet"]),
              Expect("changed", None, "links[Overview].tags", ["overview"], ["overview", "fleet"])),
    "annotations": (_set(["annotations", "list", 0, "iconColor"], "red"),
                    Expect("changed", None, "annotations.list[Deployments].iconColor",
                           "blue", "red")),
    "panel title": (_on_panel("Requests per second", _set(["title"], "Throughput")),
                    Expect("changed", "Throughput", "title", "Requests per second",
                           "Throughput")),
    "panel type": (_on_panel("p99 latency", _set(["type"], "stat")),
                   Expect("changed", "p99 latency", "type", "timeseries", "stat")),
    "description": (_on_panel("p99 latency", _set(["description"], "p99.")),
                    Expect("changed", "p99 latency", "description",
                           "99th percentile request latency; bad: above the 500 ms SLO.",
                           "p99.")),
    "query expr": (_on_panel("p99 latency", _set(["targets", 0, "expr"], "up")),
                   Expect("changed", "p99 latency", "targets[A].expr", EXPR, "up")),
    "legend": (_on_panel("p99 latency", _set(["targets", 0, "legendFormat"], "{{version}}")),
               Expect("changed", "p99 latency", "targets[A].legendFormat",
                      "{{model}}", "{{version}}")),
    "refId": (_on_panel("p99 latency", _set(["targets", 0, "refId"], "B")),
              Expect("changed", "p99 latency", "targets[B].refId", "A", "B")),
    "new query": (_on_panel("p99 latency", lambda p: p["targets"].append(
        {"refId": "B", "expr": "up"})),
        Expect("changed", "p99 latency", "targets[B]", MISSING, {"refId": "B", "expr": "up"})),
    "unit": (_on_panel("p99 latency", _set(["fieldConfig", "defaults", "unit"], "ms")),
             Expect("changed", "p99 latency", "fieldConfig.defaults.unit", "s", "ms")),
    "min": (_on_panel("p99 latency", _set(["fieldConfig", "defaults", "min"], 0.1)),
            Expect("changed", "p99 latency", "fieldConfig.defaults.min", 0, 0.1)),
    "max in collapsed row": (_on_panel("Error ratio",
                                       _set(["fieldConfig", "defaults", "max"], 0.5)),
                             Expect("changed", "Error ratio", "fieldConfig.defaults.max", 1, 0.5)),
    "expr in collapsed row": (_on_panel("Error ratio", _set(["targets", 0, "expr"], "vector(0)")),
                              Expect("changed", "Error ratio", "targets[A].expr",
                                     "sum(rate(ml_errors_total[$__rate_interval]))",
                                     "vector(0)")),
    "thresholds": (_on_panel("p99 latency", _set(
        ["fieldConfig", "defaults", "thresholds", "steps", 1, "value"], 0.3)),
        Expect("changed", "p99 latency", "fieldConfig.defaults.thresholds.steps[1].value",
               0.5, 0.3)),
    "overrides": (_on_panel("p99 latency", _set(
        ["fieldConfig", "overrides", 0, "properties", 0, "value", "fixedColor"], "purple")),
        Expect("changed", "p99 latency",
               "fieldConfig.overrides[byName=canary].properties[color].value.fixedColor",
               "orange", "purple")),
    "options": (_on_panel("p99 latency", _set(["options", "legend", "placement"], "right")),
                Expect("changed", "p99 latency", "options.legend.placement", "bottom", "right")),
    "row collapsed": (_on_panel("Errors", _set(["collapsed"], False)),
                      Expect("changed", "Errors", "collapsed", True, False)),
    "panel added": (_add_panel, Expect("added", "OOM kills")),
    "panel removed": (_remove_panel, Expect("removed", "Requests per second")),
    "panel moved to another row": (_move_to_other_row, Expect("moved", "Error ratio")),
}


def _diff(mutate: Callable[[dict[str, Any]], None]):
    new = base_dashboard()
    mutate(new)
    return diff_dashboards({"infra": base_dashboard()}, {"infra": new},
                           old_label="origin/main", new_label="local")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _entry_lines_text(text: str) -> list[str]:
    """Entry lines (indent 2: dashboard-level or panel, 6: panel field), each joined with its
    continuation lines (indent 8 / 12: old and new of a long value on lines of their own)."""
    entries: list[str] = []
    for line in text.splitlines():
        if _indent(line) in (2, 6):
            entries.append(line)
        elif _indent(line) in (8, 12):
            entries[-1] += "\n" + line
    return entries


def _table_rows_md(md: str) -> list[str]:
    return [line for line in md.splitlines()
            if line.startswith("| ") and not line.startswith(("| Panel |", "| Dashboard field |"))]


@pytest.mark.parametrize("name", list(CASES))
def test_change_kind_gives_exactly_its_entry_in_json(name: str) -> None:
    mutate, exp = CASES[name]
    doc = json.loads(render_json(_diff(mutate)))
    assert doc["identical"] is False
    assert [d["uid"] for d in doc["dashboards"]] == ["infra"]
    dash = doc["dashboards"][0]
    assert dash["status"] == "changed"
    if exp.panel is None:
        assert dash["panels"] == []
        assert len(dash["changes"]) == 1
        field = dash["changes"][0]
    else:
        assert dash["changes"] == []
        assert len(dash["panels"]) == 1, dash["panels"]
        entry = dash["panels"][0]
        assert entry["change"] == exp.kind
        side = entry["old"] if exp.kind == "removed" else entry["new"]
        assert side["title"] == exp.panel
        if exp.path is None:
            assert entry["fields"] == []
            return
        assert entry["change"] == "changed"
        assert len(entry["fields"]) == 1, entry["fields"]
        field = entry["fields"][0]
    assert field["path"] == exp.path and field["change"] == exp.field_kind
    assert field.get("old", MISSING) == exp.old
    assert field.get("new", MISSING) == exp.new


@pytest.mark.parametrize("name", list(CASES))
def test_change_kind_gives_exactly_its_entry_in_text(name: str) -> None:
    mutate, exp = CASES[name]
    text = render_text(_diff(mutate))
    lines = _entry_lines_text(text)
    if exp.path is None:
        assert len(lines) == 1, lines
        verb = {"added": "added at", "removed": "removed (was at", "moved": "moved:"}[exp.kind]
        sign = {"added": "+", "removed": "-", "moved": ">"}[exp.kind]
        assert lines[0].startswith(f"  {sign} ")
        assert repr(exp.panel) in lines[0] and verb in lines[0]
        return
    if exp.panel is None:
        assert len(lines) == 1, lines
    else:
        assert len(lines) == 2, lines
        assert lines[0].strip().endswith("changed:") and repr(exp.panel) in lines[0]
    entry = lines[-1]
    assert re.match(rf"^ +[~+-] {re.escape(exp.path)}:", entry), entry
    for value in (exp.old, exp.new):
        if value is not MISSING:
            assert format_value(value) in entry
    if "\n" not in entry:  # one-line form names the absent side
        assert ("(absent)" in entry) == (MISSING in (exp.old, exp.new))


@pytest.mark.parametrize("name", list(CASES))
def test_change_kind_gives_exactly_its_entry_in_markdown(name: str) -> None:
    mutate, exp = CASES[name]
    md = render_markdown(_diff(mutate))
    rows = _table_rows_md(md)
    assert len(rows) == 1, rows
    assert md.count("### ") == 1 and "(`infra`): changed" in md
    cells = [c.strip() for c in rows[0].strip("|").split(" | ")]
    if exp.panel is None:
        assert cells[0] == f"`{exp.path}`" and cells[1] == exp.field_kind
        return
    assert exp.panel in cells[0]
    if exp.path is None:
        assert cells[1] == exp.kind
    else:
        assert cells[1] == exp.field_kind and cells[2] == f"`{exp.path}`"


def test_text_output_names_values_old_to_new() -> None:
    text = render_text(_diff(CASES["unit"][0]))
    assert "      ~ fieldConfig.defaults.unit: 's' → 'ms'" in text.splitlines()


def test_text_puts_long_values_on_lines_of_their_own() -> None:
    lines = render_text(_diff(CASES["query expr"][0])).splitlines()
    start = lines.index("      ~ targets[A].expr:")
    assert lines[start + 1: start + 3] == [f"            - {EXPR!r}", "            + 'up'"]


def test_dashboard_added_and_removed() -> None:
    result = diff_dashboards({"gone": base_dashboard("gone", "Old")},
                             {"fresh": base_dashboard("fresh", "New")})
    doc = json.loads(render_json(result))
    assert [(d["uid"], d["status"], d["panel_count"], d["panels"], d["changes"])
            for d in doc["dashboards"]] == [("fresh", "added", 3, [], []),
                                            ("gone", "removed", 3, [], [])]
    assert doc["summary"]["dashboards_added"] == 1 and doc["summary"]["dashboards_removed"] == 1
    text = render_text(result)
    assert "+ dashboard 'New' (fresh) added, 3 panels" in text
    assert "- dashboard 'Old' (gone) removed, 3 panels" in text
    assert _entry_lines_text(text) == []
    md = render_markdown(result)
    assert "### New (`fresh`): added" in md and "### Old (`gone`): removed" in md
    assert _table_rows_md(md) == []


def test_identical_dashboards_give_an_empty_diff() -> None:
    result = diff_dashboards({"infra": base_dashboard()}, {"infra": base_dashboard()})
    assert result.is_empty and result.unchanged == ("infra",)
    assert json.loads(render_json(result))["dashboards"] == []
    assert render_text(result).startswith("No differences")
    assert "No dashboard changes." in render_markdown(result)


def test_inserted_panel_renumbers_ids_and_shifts_the_rest_without_remove_add() -> None:
    """The compiler numbers ids by layout, so an insert shifts every id and position below it:
    that is one added panel and a count of shifted ones, not moves or removes + adds."""
    new = base_dashboard()
    new["panels"].insert(1, {"id": 2, "type": "stat", "title": "Queue depth",
                             "gridPos": {"x": 0, "y": 1, "w": 24, "h": 4},
                             "targets": [{"refId": "A", "expr": "sum(ml_queue_depth)"}]})
    for i, p in enumerate(new["panels"], start=1):
        p["id"] = i
        if i > 2:
            p["gridPos"]["y"] += 4
    for child in new["panels"][4]["panels"]:
        child["id"] = 6
        child["gridPos"]["y"] += 4
    result = diff_dashboards({"infra": base_dashboard()}, {"infra": new})
    doc = json.loads(render_json(result))
    dash = doc["dashboards"][0]
    assert [(e["change"], e["new"]["title"]) for e in dash["panels"]] == [("added", "Queue depth")]
    assert [(s["new"]["title"], s["old"]["gridPos"]["y"], s["new"]["gridPos"]["y"])
            for s in dash["shifted"]] == [("p99 latency", 1, 5), ("Requests per second", 1, 5),
                                          ("Errors", 9, 13), ("Error ratio", 10, 14)]
    assert doc["summary"]["panels_shifted"] == 4 and doc["summary"]["panels_moved"] == 0
    text = render_text(result)
    assert "  · 4 panels only shifted with the layout" in text
    assert _entry_lines_text(text)[0].startswith("  + panel 'Queue depth' (id 2) added")
    assert "*4 panels only shifted with the layout" in render_markdown(result)


def test_swapped_side_by_side_panels_are_both_moved() -> None:
    """Swapping two side-by-side neighbours changes both columns: Grafana's layout only flows
    vertically, so neither panel "only took the freed place" — both are moves (issue #19)."""
    new = base_dashboard()
    a, b = panel(new, "p99 latency"), panel(new, "Requests per second")
    a["gridPos"], b["gridPos"] = b["gridPos"], a["gridPos"]
    doc = json.loads(render_json(diff_dashboards({"infra": base_dashboard()}, {"infra": new})))
    dash = doc["dashboards"][0]
    assert sorted((e["change"], e["new"]["title"]) for e in dash["panels"]) == [
        ("moved", "Requests per second"), ("moved", "p99 latency")]
    assert dash["shifted"] == []


def test_position_only_change_is_a_move_when_nothing_above_explains_it() -> None:
    """A panel moved down into free space keeps its reading order, but nothing above it changed,
    so the layout did not flow it there: it was moved by hand (issue #19)."""
    new = base_dashboard()
    panel(new, "Error ratio")["gridPos"]["y"] = 11
    result = diff_dashboards({"infra": base_dashboard()}, {"infra": new})
    assert not result.is_empty and result.dashboards[0].shifted == ()
    assert [(c.kind, c.ref.title, c.new.grid_pos["y"]) for c in result.dashboards[0].panels] == [
        ("moved", "Error ratio", 11)]


def test_moved_and_changed_panel_gives_two_entries() -> None:
    new = base_dashboard()
    p = panel(new, "Requests per second")
    p["gridPos"] = {"x": 0, "y": 20, "w": 24, "h": 8}
    p["fieldConfig"]["defaults"]["unit"] = "rps"
    doc = json.loads(render_json(diff_dashboards({"infra": base_dashboard()}, {"infra": new})))
    entries = doc["dashboards"][0]["panels"]
    assert [e["change"] for e in entries] == ["moved", "changed"]
    assert entries[0]["old"]["gridPos"] == {"x": 12, "y": 1, "w": 12, "h": 8}
    assert entries[0]["new"]["gridPos"] == {"x": 0, "y": 20, "w": 24, "h": 8}
    assert [f["path"] for f in entries[1]["fields"]] == ["fieldConfig.defaults.unit"]


def test_swapped_titles_do_not_confuse_matching_by_id() -> None:
    """A renamed panel (same id and type, new title) is a title change, not remove + add."""
    new = base_dashboard()
    panel(new, "p99 latency")["title"] = "Latency p99"
    doc = json.loads(render_json(diff_dashboards({"infra": base_dashboard()}, {"infra": new})))
    entries = doc["dashboards"][0]["panels"]
    assert [(e["change"], [f["path"] for f in e["fields"]]) for e in entries] == [
        ("changed", ["title"])]


def test_reordered_variables_are_reported_as_an_order_change() -> None:
    new = base_dashboard()
    new["templating"]["list"].reverse()
    doc = json.loads(render_json(diff_dashboards({"infra": base_dashboard()}, {"infra": new})))
    assert doc["dashboards"][0]["changes"] == [{
        "path": "templating.list", "change": "reordered",
        "old": ["datasource", "model"], "new": ["model", "datasource"]}]


def test_acceptance_one_query_and_one_unit_give_exactly_two_changes() -> None:
    new = base_dashboard()
    panel(new, "p99 latency")["targets"][0]["expr"] = EXPR.replace("0.99", "0.95")
    panel(new, "Requests per second")["fieldConfig"]["defaults"]["unit"] = "rps"
    result = diff_dashboards({"infra": base_dashboard()}, {"infra": new})
    doc = json.loads(render_json(result))
    fields = [(e["new"]["title"], f["path"], f["old"], f["new"])
              for e in doc["dashboards"][0]["panels"] for f in e["fields"]]
    assert fields == [("p99 latency", "targets[A].expr", EXPR, EXPR.replace("0.99", "0.95")),
                      ("Requests per second", "fieldConfig.defaults.unit", "reqps", "rps")]
    assert doc["dashboards"][0]["changes"] == []


def test_markdown_code_spans_escape_pipes_and_backticks() -> None:
    new = base_dashboard()
    panel(new, "p99 latency")["targets"][0]["expr"] = 'sum(x{a=~"b|c"}) `d`'
    md = render_markdown(diff_dashboards({"infra": base_dashboard()}, {"infra": new}))
    (row,) = _table_rows_md(md)
    assert '`` sum(x{a=~"b\\|c"}) `d` ``' in row
    # The row still has exactly five cells once escaped pipes are discounted.
    assert row.replace("\\|", "").count("|") == 6


def test_text_colour_only_when_asked() -> None:
    result = _diff(CASES["unit"][0])
    assert "\x1b[" not in render_text(result)
    coloured = render_text(result, color=True)
    assert "\x1b[33m" in coloured  # yellow for changed

"""grafana_sync.shapes: legacy rows and Kubernetes-shaped dashboards read as classic JSON."""

from __future__ import annotations

import copy

import pytest

from grafana_sync.diff import diff_dashboards
from grafana_sync.errors import ConfigError
from grafana_sync.model import GRID_WIDTH, walk_panels
from grafana_sync.shapes import classic

LEGACY = {
    "uid": "old", "title": "Old", "schemaVersion": 14,
    "rows": [
        {"title": "Traffic", "showTitle": True, "height": "250px", "panels": [
            {"id": 1, "type": "graph", "title": "rps", "span": 6},
            {"id": 2, "type": "singlestat", "title": "errors", "span": 6},
            {"id": 3, "type": "graph", "title": "latency", "span": 12, "height": 380},
        ]},
        {"title": "Hidden", "collapse": True, "panels": [
            {"id": 4, "type": "table", "title": "pods"},
        ]},
    ],
}


def test_legacy_rows_become_rows_with_grid_positions() -> None:
    dash = classic(LEGACY, "old.json")
    assert "rows" not in dash and "rows" in LEGACY  # input untouched
    refs = walk_panels(dash)
    assert [(r.type, r.title, r.row) for r in refs] == [
        ("row", "Traffic", None), ("graph", "rps", "Traffic"), ("singlestat", "errors", "Traffic"),
        ("graph", "latency", "Traffic"), ("row", "Hidden", None), ("table", "pods", "Hidden"),
    ]
    pos = {r.title: r.grid_pos for r in refs}
    assert pos["Traffic"] == {"h": 1, "w": 24, "x": 0, "y": 0}
    assert pos["rps"] == {"h": 7, "w": 12, "x": 0, "y": 1}  # 250px / 38px per cell -> 7
    assert pos["errors"] == {"h": 7, "w": 12, "x": 12, "y": 1}
    assert pos["latency"] == {"h": 10, "w": 24, "x": 0, "y": 8}
    assert pos["Hidden"]["y"] == 18 and refs[4].raw["collapsed"] is True
    assert pos["pods"]["w"] == 8  # default span 4 of 12
    assert refs[5].parent_row == 4
    assert all("span" not in r.raw for r in refs)
    assert len({r.id for r in refs}) == 6  # row panels get fresh ids


V1 = {
    "apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
    "metadata": {"name": "k8s-uid", "namespace": "default"},
    "spec": {"title": "K", "schemaVersion": 41, "panels": [
        {"id": 1, "type": "stat", "title": "s", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}}]},
}

V2 = {
    "apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard",
    "metadata": {"name": "v2-uid"},
    "spec": {
        "title": "V2", "cursorSync": "Crosshair", "tags": ["a"],
        "timeSettings": {"from": "now-1h", "to": "now", "timezone": "utc", "autoRefresh": "1m"},
        "variables": [
            {"kind": "DatasourceVariable", "spec": {"name": "ds", "pluginId": "prometheus",
                                                     "refresh": "onDashboardLoad", "hide": "dontHide"}},
            {"kind": "QueryVariable", "spec": {
                "name": "job", "refresh": "onTimeRangeChanged", "sort": "alphabeticalAsc",
                "query": {"kind": "DataQuery", "group": "prometheus", "version": "v0",
                          "datasource": {"name": "${ds}"},
                          "spec": {"query": "label_values(up, job)"}}}},
        ],
        "elements": {
            "panel-1": {"kind": "Panel", "spec": {
                "id": 1, "title": "Requests", "description": "rps",
                "data": {"kind": "QueryGroup", "spec": {
                    "queries": [{"kind": "PanelQuery", "spec": {
                        "refId": "A",
                        "query": {"kind": "DataQuery", "group": "prometheus", "version": "v0",
                                  "datasource": {"name": "${ds}"},
                                  "spec": {"expr": "sum(rate(x_total[$__rate_interval]))"}}}}],
                    "transformations": [], "queryOptions": {"maxDataPoints": 500}}},
                "vizConfig": {"kind": "VizConfig", "group": "timeseries", "version": "12.3.0",
                              "spec": {"options": {"legend": {"showLegend": True}},
                                       "fieldConfig": {"defaults": {"unit": "reqps"},
                                                       "overrides": []}}}}},
            "panel-2": {"kind": "Panel", "spec": {
                "title": "Logs", "data": {"kind": "QueryGroup", "spec": {"queries": [
                    {"kind": "PanelQuery", "spec": {"refId": "A", "query": {
                        "kind": "DataQuery", "group": "loki", "spec": {"expr": "{a=\"b\"}"}}}}]}},
                "vizConfig": {"kind": "logs", "spec": {"options": {}}}}},
            "lib": {"kind": "LibraryPanel", "spec": {"id": 9, "title": "Shared",
                                                     "libraryPanel": {"uid": "l1", "name": "Shared"}}},
        },
        "layout": {"kind": "RowsLayout", "spec": {"rows": [
            {"kind": "RowsLayoutRow", "spec": {"title": "First", "layout": {
                "kind": "GridLayout", "spec": {"items": [
                    {"kind": "GridLayoutItem", "spec": {"x": 0, "y": 0, "width": 12, "height": 8,
                                                        "element": {"kind": "ElementReference",
                                                                    "name": "panel-1"}}},
                    {"kind": "GridLayoutItem", "spec": {"x": 12, "y": 0, "width": 12, "height": 8,
                                                        "element": {"kind": "ElementReference",
                                                                    "name": "panel-2"}}}]}}}},
            {"kind": "RowsLayoutRow", "spec": {"title": "Second", "collapse": True, "layout": {
                "kind": "AutoGridLayout", "spec": {"maxColumnCount": 2, "items": [
                    {"kind": "AutoGridLayoutItem", "spec": {"element": {"kind": "ElementReference",
                                                                        "name": "lib"}}}]}}}},
        ]}},
    },
}


def test_kubernetes_v1_is_its_spec_with_the_metadata_name_as_uid() -> None:
    dash = classic(V1, "k.json")
    assert dash["uid"] == "k8s-uid" and dash["title"] == "K"
    assert [r.title for r in walk_panels(dash)] == ["s"]


def test_kubernetes_v2_derives_a_panel_list_from_elements_and_layout() -> None:
    dash = classic(V2, "v2.json")
    assert dash["uid"] == "v2-uid" and dash["graphTooltip"] == 1 and dash["refresh"] == "1m"
    assert dash["time"] == {"from": "now-1h", "to": "now"} and dash["timezone"] == "utc"
    refs = walk_panels(dash)
    assert [(r.type, r.title, r.row) for r in refs] == [
        ("row", "First", None), ("timeseries", "Requests", "First"), ("logs", "Logs", "First"),
        ("row", "Second", None), ("", "Shared", "Second"),
    ]
    req = refs[1].raw
    assert req["gridPos"] == {"h": 8, "w": 12, "x": 0, "y": 1}
    assert req["targets"] == [{"expr": "sum(rate(x_total[$__rate_interval]))", "refId": "A",
                               "datasource": {"type": "prometheus", "uid": "${ds}"}}]
    assert req["fieldConfig"]["defaults"]["unit"] == "reqps" and req["maxDataPoints"] == 500
    assert refs[2].raw["targets"][0]["datasource"] == {"type": "loki"}
    assert refs[4].is_library and refs[4].library_uid == "l1" and refs[4].parent_row == 3
    assert refs[4].grid_pos == {"h": 8, "w": 12, "x": 0, "y": 10}
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["ds"] == {"type": "datasource", "name": "ds", "query": "prometheus",
                               "refresh": 1, "hide": 0}
    assert variables["job"]["query"] == "label_values(up, job)"
    assert variables["job"]["refresh"] == 2 and variables["job"]["sort"] == 1
    assert len({r.id for r in refs}) == len(refs)
    assert all(r.grid_pos["x"] + r.grid_pos["w"] <= GRID_WIDTH for r in refs)


def test_diff_reads_kubernetes_and_legacy_shapes() -> None:
    changed = copy.deepcopy(V2)
    changed["spec"]["elements"]["panel-1"]["spec"]["data"]["spec"]["queries"][0]["spec"]["query"][
        "spec"]["expr"] = "sum(rate(y_total[$__rate_interval]))"
    result = diff_dashboards({"v2-uid": V2}, {"v2-uid": changed})
    (dash,) = result.dashboards
    (entry,) = dash.panels
    assert entry.kind == "changed" and entry.ref.title == "Requests"
    assert [f.path for f in entry.fields] == ["targets[A].expr"]
    assert diff_dashboards({"old": LEGACY}, {"old": copy.deepcopy(LEGACY)}).is_empty


@pytest.mark.parametrize("data, message", [
    ([1], "not a Grafana dashboard"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "spec": {}}, "'ConfigMap' resource, not a Dashboard"),
    ({"apiVersion": 1, "providers": []}, "not a Grafana dashboard"),
    ({"uid": "x", "rows": {"a": 1}}, "`rows` is a dict"),
    ({"apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard", "metadata": {"name": "x"},
      "spec": {"elements": {}, "layout": {"kind": "GridLayout", "spec": {"items": [
          {"kind": "GridLayoutItem", "spec": {"element": {"name": "nope"}}}]}}}},
     "references element 'nope'"),
])
def test_what_is_not_a_dashboard_is_one_line_naming_the_file(data, message) -> None:
    with pytest.raises(ConfigError) as err:
        classic(data, "f.json")
    text = str(err.value)
    assert text.startswith("f.json: ") and message in text and "\n" not in text


def _run(cwd, *args: str):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("GRAFANA_URL", None)
    return subprocess.run([sys.executable, "-m", "grafana_sync", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_lint_and_diff_cli_accept_kubernetes_and_legacy_files(tmp_path) -> None:
    import json

    legacy = copy.deepcopy(LEGACY)
    (tmp_path / "legacy.json").write_text(json.dumps(legacy))
    (tmp_path / "v2.json").write_text(json.dumps(V2))
    (tmp_path / "v1.json").write_text(json.dumps(V1))
    lint = _run(tmp_path, "lint", "--format", "json", "legacy.json", "v2.json", "v1.json")
    assert lint.returncode in (0, 1), lint.stderr  # findings, not "not a Grafana dashboard" (2)
    findings = json.loads(lint.stdout)
    by_file = {f["file"] for f in findings}
    assert "legacy.json" in by_file  # Angular graph/singlestat panels of the legacy rows
    assert any(f["rule"] == "panel-no-angular-rule" and f["panel_title"] == "rps"
               for f in findings)
    assert {f["dashboard_uid"] for f in findings} <= {"old", "v2-uid", "k8s-uid"}

    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "v2.json").write_text(json.dumps(V2))
        (folder / "legacy.json").write_text(json.dumps(legacy))
    legacy["rows"][0]["panels"][0]["title"] = "requests per second"
    (new / "legacy.json").write_text(json.dumps(legacy))
    diff = _run(tmp_path, "diff", "--against", str(old), "--output-dir", str(new),
                "--exit-code", "--format", "json")
    assert diff.returncode == 1, diff.stderr
    (dash,) = json.loads(diff.stdout)["dashboards"]
    assert dash["uid"] == "old"
    (panel,) = dash["panels"]  # a rename in place, matched by id within its row
    assert panel["change"] == "changed" and panel["new"]["row"] == "Traffic"
    assert panel["fields"] == [{"path": "title", "change": "changed", "old": "rps",
                                "new": "requests per second"}]

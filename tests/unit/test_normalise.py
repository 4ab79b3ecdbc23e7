"""Each normalisation rule, on grafanalib's real output (not hand-made dicts where avoidable)."""

from __future__ import annotations

import json

import pytest
from grafanalib._gen import DashboardEncoder
from grafanalib.core import (
    BarGauge,
    Dashboard,
    GaugePanel,
    GridPos,
    Heatmap,
    RowPanel,
    Stat,
    Table,
    Target,
    Template,
    Templating,
    TimeSeries,
)

from grafana_sync.errors import ConfigError
from grafana_sync.layout import iter_panels, layout
from grafana_sync.normalise import normalise_dashboard

LEGACY_DASHBOARD_KEYS = {"rows", "style", "hideControls", "sharedCrosshair", "__inputs", "id", "version"}
LEGACY_PANEL_KEYS = {"span", "height", "minSpan", "editable", "error"}
LEGACY_TARGET_KEYS = {"step", "intervalFactor", "query", "target", "metric"}


def raw(dashboard: Dashboard) -> dict:
    return json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))


def compiled(*panels, **kwargs) -> dict:
    dash = normalise_dashboard(raw(Dashboard(title="T", uid="t", panels=list(panels), **kwargs)))
    layout(dash, "test")
    return dash


def nulls(value, path="") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls(v, f"{path}/{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls(v, f"{path}/{i}")]
    return []


def ts(title="A", expr="up", **kw):
    return TimeSeries(title=title, targets=[Target(expr=expr)], **kw)


def test_raw_grafanalib_has_the_legacy_shapes_we_fix():
    r = raw(Dashboard(title="T", uid="t", panels=[ts(gridPos=GridPos(h=8, w=12, x=0, y=0))]))
    assert r["schemaVersion"] < 39 and "rows" in r and r["panels"][0]["maxDataPoints"] == 100
    assert r["panels"][0]["targets"][0]["refId"] == ""


def test_schema_version_and_legacy_dashboard_keys():
    dash = compiled(ts(gridPos=GridPos(h=8, w=12, x=0, y=0)))
    assert dash["schemaVersion"] >= 39
    assert not LEGACY_DASHBOARD_KEYS & dash.keys()


def test_no_nulls_except_base_threshold():
    dash = compiled(ts(gridPos=GridPos(h=8, w=12, x=0, y=0)),
                    Stat(title="S", targets=[Target(expr="up")], gridPos=GridPos(h=8, w=12, x=12, y=0)))
    found = nulls(dash)
    assert found and all(p.endswith("/thresholds/steps/0/value") for p in found), found


def test_datasource_refs_on_panels_targets_and_variables():
    dash = compiled(
        ts(dataSource="${datasource}", gridPos=GridPos(h=8, w=12, x=0, y=0)),
        ts(title="B", gridPos=GridPos(h=8, w=12, x=12, y=0)),
        templating=Templating(list=[
            Template(name="datasource", type="datasource", query="prometheus"),
            Template(name="job", query="label_values(up, job)", dataSource="${datasource}"),
        ]),
    )
    ref = {"type": "prometheus", "uid": "${datasource}"}
    for panel in dash["panels"]:
        assert panel["datasource"] == ref
        assert all(t["datasource"] == ref for t in panel["targets"])
    ds_var, job_var = dash["templating"]["list"]
    assert "datasource" not in ds_var
    assert job_var["datasource"] == ref
    assert not {"tagsQuery", "useTags", "tagValuesQuery"} & job_var.keys()


def test_ref_ids_assigned_and_legacy_target_keys_dropped():
    panel = TimeSeries(title="A", targets=[Target(expr="a"), Target(expr="b", refId="A"), Target(expr="c")],
                       gridPos=GridPos(h=8, w=12, x=0, y=0))
    targets = compiled(panel)["panels"][0]["targets"]
    assert [t["refId"] for t in targets] == ["B", "A", "C"]
    for target in targets:
        assert not LEGACY_TARGET_KEYS & target.keys()


def test_legacy_panel_keys_and_default_max_data_points_dropped():
    panel = compiled(ts(gridPos=GridPos(h=8, w=12, x=0, y=0)))["panels"][0]
    assert not LEGACY_PANEL_KEYS & panel.keys()
    assert "maxDataPoints" not in panel
    explicit = compiled(ts(maxDataPoints=500, gridPos=GridPos(h=8, w=12, x=0, y=0)))["panels"][0]
    assert explicit["maxDataPoints"] == 500


def test_stat_empty_threshold_steps_bug_fixed():
    stat = Stat(title="S", targets=[Target(expr="up")], gridPos=GridPos(h=8, w=12, x=0, y=0))
    r = raw(Dashboard(title="T", uid="t", panels=[stat]))
    r["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"] = ""  # grafanalib's bug shape
    dash = normalise_dashboard(r)
    steps = dash["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "green", "value": None}]


def test_legacy_threshold_steps_cleaned():
    from grafanalib.core import Threshold

    stat = Stat(title="S", targets=[Target(expr="up")], thresholdType="absolute",
                thresholds=[Threshold("green", 0, 0.0), Threshold("red", 1, 0.5)],
                gridPos=GridPos(h=8, w=12, x=0, y=0))
    steps = compiled(stat)["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "green", "value": None}, {"color": "red", "value": 0.5}]


def test_gauge_and_bargauge_legacy_options_moved():
    gauge = GaugePanel(title="G", targets=[Target(expr="up")], calc="max",
                       gridPos=GridPos(h=8, w=12, x=0, y=0))
    bar = BarGauge(title="B", targets=[Target(expr="up")], calc="min", gridPos=GridPos(h=8, w=12, x=12, y=0))
    g, b = compiled(gauge, bar)["panels"]
    assert g["options"]["reduceOptions"]["calcs"] == ["max"]
    assert not {"calcs", "limit", "override", "title", "values"} & g["fieldConfig"]["defaults"].keys()
    assert "showThresholdLabels" not in g["fieldConfig"]
    assert b["options"]["reduceOptions"]["calcs"] == ["min"]
    assert "fieldOptions" not in b["options"]


def test_table_and_heatmap_modernised():
    table = Table(title="T", targets=[Target(expr="up")], gridPos=GridPos(h=8, w=12, x=0, y=0))
    heat = Heatmap(title="H", targets=[Target(expr="sum by (le) (rate(x_bucket[$__rate_interval]))")],
                   gridPos=GridPos(h=8, w=12, x=12, y=0))
    t, h = compiled(table, heat)["panels"]
    assert "styles" not in t and "columns" not in t and "fontSize" not in t
    assert t["fieldConfig"]["defaults"]["custom"]["inspect"] is False
    assert isinstance(h["options"], dict) and h["options"]["calculate"] is False
    assert not {"cards", "dataFormat", "xAxis", "yBucketBound"} & h.keys()
    assert h["targets"][0]["format"] == "heatmap"


def test_angular_types_replaced():
    r = raw(Dashboard(title="T", uid="t", panels=[ts(gridPos=GridPos(h=8, w=12, x=0, y=0))]))
    r["panels"][0]["type"] = "graph"
    assert normalise_dashboard(r)["panels"][0]["type"] == "timeseries"


def test_auto_layout_and_deterministic_ids():
    dash = compiled(RowPanel(title="R"), ts("A"), ts("B"), ts("C"))
    pos = [p["gridPos"] for p in dash["panels"]]
    assert pos[0] == {"h": 1, "w": 24, "x": 0, "y": 0}
    assert pos[1] == {"h": 8, "w": 12, "x": 0, "y": 1}
    assert pos[2] == {"h": 8, "w": 12, "x": 12, "y": 1}
    assert pos[3] == {"h": 8, "w": 12, "x": 0, "y": 9}
    assert [p["id"] for p in iter_panels(dash["panels"])] == [1, 2, 3, 4]


def test_explicit_unique_ids_kept():
    dash = compiled(ts("A", id=7, gridPos=GridPos(h=8, w=12, x=0, y=0)),
                    ts("B", gridPos=GridPos(h=8, w=12, x=12, y=0)))
    assert [p["id"] for p in dash["panels"]] == [7, 1]


def test_panel_wider_than_grid_rejected():
    with pytest.raises(ConfigError, match="wider than the grid"):
        compiled(ts(gridPos=GridPos(h=8, w=12, x=20, y=0)))

"""Every lint rule works on the shapes lint reads converted (grafana_sync.shapes): Kubernetes
v1 resources, Kubernetes v2 resources and legacy `rows` dashboards.

The v2 case is dashboard-linter's own (lint/v2_test.go at commit
4d0844b40d49cbfd442916fc6c0c3c6fc81084e3): each rule that passes there only passes if the
conversion maps its field, and flipping the variable's refresh makes the reload rule fire.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.lint import LintOptions, run_lint
from tests.unit.test_lint_rules import ALL_RULES, _mutations, clean, with_job_instance


def lint_file(tmp_path: Path, data: dict[str, Any], **options: Any):
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    options.setdefault("enable", ALL_RULES)
    return run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "out", paths=[path],
                                **options))


def as_kubernetes_v1(dash: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
            "metadata": {"name": dash.get("uid", "x")}, "spec": dash}


def _findings(result) -> list[tuple[str, int | None, int | None, str]]:
    return [(f.rule, f.panel_id, f.target_index, f.severity) for f in result.findings]


MUTATIONS = [m for m in _mutations() if m[0] != "dashboard-uid-rule"]  # v1: uid is metadata.name


@pytest.mark.parametrize(("rule", "mutate"), MUTATIONS,
                         ids=[f"{r}-{i}" for i, (r, _) in enumerate(MUTATIONS)])
def test_kubernetes_v1_resource_gives_the_same_findings(tmp_path: Path, rule: str,
                                                        mutate) -> None:
    dash = clean()
    if rule not in ("template-job-rule", "template-instance-rule"):
        with_job_instance(dash)
    mutate(dash)
    classic = _findings(lint_file(tmp_path, copy.deepcopy(dash)))
    assert [r for r, *_ in classic] == [rule]
    assert _findings(lint_file(tmp_path, as_kubernetes_v1(dash))) == classic


def test_legacy_rows_dashboard_gets_every_panel_rule(tmp_path: Path) -> None:
    """Grafana <= 4 layout: panels in rows with spans; every panel rule sees every panel."""
    dash = clean()
    with_job_instance(dash)
    panels = [p for p in dash.pop("panels") if p["type"] != "row"]
    for p in panels:
        p.pop("gridPos", None)
        p["span"] = 6
    panels[0]["fieldConfig"]["defaults"].pop("unit")  # panel-units-rule
    panels[1]["targets"][0]["expr"] = "rate(demo_requests_total[5m])"  # rate-interval
    panels[1]["description"] = ""  # title-description
    dash["rows"] = [{"title": "Traffic", "showTitle": True, "panels": panels}]
    result = lint_file(tmp_path, dash, disable=["metric-contract-rule"])
    got = sorted((f.rule, f.panel_title) for f in result.findings)
    assert got == sorted([
        ("panel-units-rule", panels[0]["title"]),
        ("target-rate-interval-rule", panels[1]["title"]),
        ("panel-title-description-rule", panels[1]["title"]),
    ])


V2_DASHBOARD = {
    "apiVersion": "dashboard.grafana.app/v2",
    "kind": "Dashboard",
    "spec": {
        "title": "V2 Test",
        "editable": True,
        "variables": [
            {"kind": "DatasourceVariable",
             "spec": {"name": "datasource", "label": "Data source", "pluginId": "prometheus"}},
            {"kind": "QueryVariable",
             "spec": {"name": "cluster", "label": "cluster", "multi": True,
                      "refresh": "onTimeRangeChanged", "allValue": "all-clusters",
                      "query": {"kind": "DataQuery", "group": "prometheus", "version": "v0",
                                "datasource": {"name": "${datasource}"},
                                "spec": {"query": "label_values(up, cluster)"}}}},
        ],
        "annotations": [
            {"kind": "AnnotationQuery", "spec": {
                "name": "Annotations & Alerts",
                "query": {"kind": "DataQuery", "group": "grafana", "version": "v0",
                          "datasource": {"name": "-- Grafana --"}, "spec": {}}}},
        ],
        # Not in upstream's fixture (its adapter reads `elements` without a layout); Grafana's v2
        # schema requires one, and grafana_sync.shapes places panels by it.
        "layout": {"kind": "GridLayout", "spec": {"items": [
            {"kind": "GridLayoutItem", "spec": {
                "x": 0, "y": 0, "width": 12, "height": 8,
                "element": {"kind": "ElementReference", "name": "panel-1"}}}]}},
        "elements": {
            "panel-1": {
                "kind": "Panel",
                "spec": {
                    "id": 1, "title": "CPU", "description": "cpu usage",
                    "data": {"kind": "QueryGroup", "spec": {"queries": [
                        {"kind": "PanelQuery", "spec": {
                            "refId": "A", "hidden": False,
                            "query": {"kind": "DataQuery", "group": "prometheus",
                                      "version": "v0", "datasource": {"name": "$datasource"},
                                      "spec": {"expr": "sum(rate(node_cpu_seconds_total"
                                                       "{cluster=\"$cluster\"}[5m]))"}}}},
                    ]}},
                    "vizConfig": {"kind": "VizConfig", "group": "timeseries", "version": "1.0",
                                  "spec": {"options": {}, "fieldConfig": {
                                      "defaults": {"unit": "percent"}, "overrides": []}}},
                },
            },
        },
    },
}

V2_MUST_PASS = ["template-on-time-change-reload-rule", "template-datasource-rule",
                "panel-datasource-rule", "panel-units-rule", "panel-title-description-rule",
                "panel-no-targets-rule", "target-promql-rule"]


def test_upstream_v2_dashboard_adapter_mappings_give_no_false_positives(tmp_path: Path) -> None:
    result = lint_file(tmp_path, copy.deepcopy(V2_DASHBOARD), disable=["metric-contract-rule"])
    errors = {f.rule for f in result.findings if f.severity == "error"}
    assert errors.isdisjoint(V2_MUST_PASS), [(f.rule, f.message) for f in result.findings]
    # and the findings the v2 dashboard does deserve are there: [5m], editable, no uid
    rules = {f.rule for f in result.findings}
    assert {"target-rate-interval-rule", "uneditable-dashboard", "dashboard-uid-rule"} <= rules


def test_upstream_v2_mapped_refresh_is_consumed_by_the_reload_rule(tmp_path: Path) -> None:
    dash = copy.deepcopy(V2_DASHBOARD)
    dash["spec"]["variables"][1]["spec"]["refresh"] = "onDashboardLoad"
    result = lint_file(tmp_path, dash, disable=["metric-contract-rule"])
    assert [(f.rule, f.severity) for f in result.findings
            if f.rule == "template-on-time-change-reload-rule"] == [
        ("template-on-time-change-reload-rule", "error")]

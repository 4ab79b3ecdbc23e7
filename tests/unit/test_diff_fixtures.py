"""A small hand-written dashboard in the compiled (Grafana 11) shape, shared by the diff tests.

Layout: a "Latency" row (expanded) with two panels, then a collapsed "Errors" row holding one
panel in its own `panels` list.
"""

from __future__ import annotations

import copy
from typing import Any

DS = {"type": "prometheus", "uid": "${datasource}"}


def base_dashboard(uid: str = "infra", title: str = "Infrastructure") -> dict[str, Any]:
    return copy.deepcopy({
        "uid": uid,
        "title": title,
        "tags": ["ml-monitoring", "managed-by-grafana-sync", "infrastructure"],
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "links": [{"title": "Overview", "type": "dashboards", "tags": ["overview"]}],
        "annotations": {"list": [{
            "name": "Deployments", "datasource": DS, "enable": True, "iconColor": "blue",
            "expr": "changes(ml_model_deployed_timestamp_seconds[$__rate_interval]) > 0",
        }]},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus"},
            {"name": "model", "type": "query", "datasource": DS, "multi": True,
             "includeAll": True, "refresh": 2, "query": "label_values(ml_requests_total, model)"},
        ]},
        "panels": [
            {"id": 1, "type": "row", "title": "Latency", "collapsed": False,
             "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": []},
            {"id": 2, "type": "timeseries", "title": "p99 latency", "datasource": DS,
             "description": "99th percentile request latency; bad: above the 500 ms SLO.",
             "gridPos": {"x": 0, "y": 1, "w": 12, "h": 8},
             "targets": [{
                 "refId": "A", "datasource": DS, "legendFormat": "{{model}}",
                 "expr": "histogram_quantile(0.99, sum by (le, model) "
                         "(rate(ml_request_duration_seconds_bucket[$__rate_interval])))",
             }],
             "fieldConfig": {
                 "defaults": {
                     "unit": "s", "min": 0,
                     "thresholds": {"mode": "absolute", "steps": [
                         {"color": "green", "value": None}, {"color": "red", "value": 0.5}]},
                 },
                 "overrides": [{"matcher": {"id": "byName", "options": "canary"},
                                "properties": [{"id": "color", "value": {
                                    "mode": "fixed", "fixedColor": "orange"}}]}],
             },
             "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                         "tooltip": {"mode": "multi"}}},
            {"id": 3, "type": "stat", "title": "Requests per second", "datasource": DS,
             "description": "Request rate; bad: drops to zero.",
             "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
             "targets": [{"refId": "A", "datasource": DS, "legendFormat": "{{model}}",
                          "expr": "sum by (model) (rate(ml_requests_total[$__rate_interval]))"}],
             "fieldConfig": {"defaults": {"unit": "reqps"}, "overrides": []},
             "options": {"colorMode": "value"}},
            {"id": 4, "type": "row", "title": "Errors", "collapsed": True,
             "gridPos": {"x": 0, "y": 9, "w": 24, "h": 1},
             "panels": [
                 {"id": 5, "type": "timeseries", "title": "Error ratio", "datasource": DS,
                  "description": "Share of failed requests; bad: above 1%.",
                  "gridPos": {"x": 0, "y": 10, "w": 24, "h": 8},
                  "targets": [{"refId": "A", "datasource": DS, "legendFormat": "{{model}}",
                               "expr": "sum(rate(ml_errors_total[$__rate_interval]))"}],
                  "fieldConfig": {"defaults": {"unit": "percentunit", "max": 1},
                                  "overrides": []},
                  "options": {}},
             ]},
        ],
    })


def panel(dash: dict[str, Any], title: str) -> dict[str, Any]:
    """The panel with this title, also inside collapsed rows."""
    for p in dash["panels"]:
        if p.get("title") == title:
            return p
        for child in p.get("panels", []):
            if child.get("title") == title:
                return child
    raise KeyError(title)


def test_fixture_is_identical_to_itself_and_normalising_does_not_mutate() -> None:
    from grafana_sync.diff import diff_dashboards, normalise_for_compare

    dash = base_dashboard()
    before = copy.deepcopy(dash)
    normalise_for_compare(dash)
    assert dash == before
    assert diff_dashboards({"infra": dash}, {"infra": base_dashboard()}).is_empty

"""`grafana-sync check` on a real Prometheus scraping the demo (session stack, tests/promharness.py).

1. Every compiled dashboard: exit 0, every panel with data (week-over-week targets may wait
   for history; they must be reported apart, never as failures).
2. A deliberately broken dashboard: exactly the broken panels are named, each with the right
   reason, and the check exits 1.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from grafana_sync.check import DATA, EMPTY, ERROR, NO_HISTORY, Checker, CheckOptions, PrometheusAPI
from tests.promharness import REPO_ROOT

pytestmark = pytest.mark.integration

WARM_UP_SIM_SECONDS = 20 * 60


@pytest.fixture(scope="module")
def warm(prometheus_demo):
    prometheus_demo.wait_for_sim_time(WARM_UP_SIM_SECONDS, timeout=120)
    return prometheus_demo


def test_every_compiled_panel_has_data(warm):
    proc = subprocess.run(
        [sys.executable, "-m", "grafana_sync", "check", "--prometheus", warm.prometheus_url,
         "--range", "15m", "--scrape-interval", "1s", "--format", "json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    panels = [p for d in report["dashboards"] for p in d["panels"]]
    assert len(panels) > 50
    assert {p["status"] for p in panels} <= {DATA, NO_HISTORY}
    assert report["summary"]["ok"] is True
    for d in report["dashboards"]:
        assert all(v["status"] == DATA for v in d["variables"]), d["variables"]
        for p in d["panels"]:
            for t in p["targets"]:
                # a target without data must be an offset query waiting for history
                assert t["status"] == DATA or (t["status"] == NO_HISTORY and "offset" in t["query"])


def _broken_dashboard() -> dict:
    def panel(pid, title, expr):
        return {"id": pid, "title": title, "type": "timeseries", "gridPos": {"w": 12, "h": 8},
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "targets": [{"refId": "A", "expr": expr,
                             "datasource": {"type": "prometheus", "uid": "${datasource}"}}]}

    rate = 'sum by (model) (rate(ml_inference_requests_total{model=~"$model"}[$__rate_interval]))'
    return {
        "uid": "broken", "title": "Broken on purpose", "time": {"from": "now-15m", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus"},
            {"name": "model", "type": "query", "query": "label_values(ml_model_info, model)",
             "includeAll": True, "multi": True, "allValue": ".*",
             "current": {"value": ["$__all"]},
             "datasource": {"type": "prometheus", "uid": "${datasource}"}},
        ]},
        "annotations": {"list": [{"name": "deploys", "enable": True,
                                  "datasource": {"type": "prometheus", "uid": "${datasource}"},
                                  "expr": "changes(ml_model_deployed_timestamp_seconds[5m]) > 0"}]},
        "panels": [
            panel(1, "healthy rate", rate),
            panel(2, "renamed metric", rate.replace("ml_inference_requests_total",
                                                    "ml_inference_request_total")),
            panel(3, "missing label", 'sum(ml_inference_in_progress_requests{region="eu"})'),
            panel(4, "wrong value", 'sum(ml_inference_requests_total{status="timeout"})'),
            panel(5, "syntax error", "sum(rate(ml_inference_requests_total[5m])"),
            panel(6, "healthy gauge", 'max by (model) (ml_model_info{model=~"$model"})'),
            panel(7, "last month", 'sum(ml_inference_requests_total offset 30d)'),
            panel(8, "join drops all", 'ml_model_info * on(model) group_left() max by (model) (up)'),
        ],
    }


def test_broken_dashboard_names_exactly_the_broken_panels(warm, tmp_path):
    api = PrometheusAPI(warm.prometheus_url)
    report = Checker(api, CheckOptions(scrape_interval=1.0)).run([("broken.json", _broken_dashboard())])
    panels = {p.title: p for p in report.dashboards[0].panels}
    assert {t for t, p in panels.items() if p.status in (EMPTY, ERROR)} == {
        "renamed metric", "missing label", "wrong value", "syntax error", "join drops all"}
    assert panels["healthy rate"].status == DATA and panels["healthy gauge"].status == DATA
    assert panels["last month"].status == NO_HISTORY
    assert panels["renamed metric"].reason == "A: metric absent: ml_inference_request_total"
    assert panels["missing label"].reason == ("A: label missing: no "
                                              "ml_inference_in_progress_requests series has the "
                                              "label 'region'")
    assert panels["wrong value"].reason.startswith(
        'A: selector matches nothing: ml_inference_requests_total{status="timeout"}; status has ')
    assert "error" in panels["wrong value"].reason and "success" in panels["wrong value"].reason
    assert panels["syntax error"].status == ERROR
    assert panels["syntax error"].reason.startswith("A: query error: ")
    assert panels["join drops all"].reason.startswith("A: every selector matches series")
    assert report.dashboards[0].annotations[0].status in (DATA, EMPTY)
    assert sorted(report.failures()) == sorted(
        f"broken: panel {t!r}: {panels[t].status}" for t in
        ("renamed metric", "missing label", "wrong value", "syntax error", "join drops all"))

    path = tmp_path / "broken.json"
    path.write_text(json.dumps(_broken_dashboard()))
    proc = subprocess.run(
        [sys.executable, "-m", "grafana_sync", "check", "--prometheus", warm.prometheus_url,
         "--scrape-interval", "1s", str(path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    named = [line for line in proc.stdout.splitlines() if line.startswith("  panel ")]
    assert len(named) == 6  # five broken + the offset one, reported apart
    assert any("'last month': NO-HISTORY" in line for line in named)
    assert proc.stdout.rstrip().endswith("FAILED: 5 panel(s) without data")

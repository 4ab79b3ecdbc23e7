"""Time-scaled rules (grafana_sync.timescale) pass `promtool check rules`, and `make demo`'s
renderer loads them instead of the committed real-time ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grafana_sync.rules import render_time_scaled
from grafana_sync.timescale import TimeScale
from tests.promharness import require_binary

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

sys.path.insert(0, str(REPO / "scripts"))
import render_demo_config  # noqa: E402


@pytest.mark.parametrize("scale", [TimeScale(10, resolution=2), TimeScale(20), TimeScale(60),
                                   TimeScale(3600)])
def test_promtool_accepts_scaled_rules(tmp_path, scale):
    promtool = require_binary("promtool")
    files = render_time_scaled(REPO / "rules", tmp_path, scale)
    assert files
    run = subprocess.run([promtool, "check", "rules", *map(str, files)], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("SUCCESS") == len(files)


def test_demo_config_loads_rules_scaled_to_the_speed(tmp_path):
    promtool = require_binary("promtool")
    argv = [str(tmp_path), "--prometheus-port", "1", "--alertmanager-port", "2",
            "--pushgateway-port", "3", "--node-exporter-port", "4", "--demo-port", "5",
            "--webhook-port", "6", "--speed", "10"]
    assert render_demo_config.main(argv) == 0
    prom = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    # 15 demo-seconds at speed 10: 1.5 s, whole seconds half up
    assert prom["global"]["scrape_interval"] == prom["global"]["evaluation_interval"] == "2s"
    assert prom["rule_files"] == [str(tmp_path / "rules" / "*.yml")]
    alerts = yaml.safe_load((tmp_path / "rules" / "alerts.yml").read_text())
    fors = {r["alert"]: r["for"] for g in alerts["groups"] for r in g["rules"] if "alert" in r}
    assert fors["MLCostOverBudget"] == "30s" and fors["MLModelQualityBelowBaseline"] == "1m30s"
    run = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    # Alertmanager's timings follow the demo clock too: 30s, 5m, 4h, 10s, 1h / 10
    am = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    route = am["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == \
        ("3s", "30s", "24m")
    assert {(r.get("group_wait"), r.get("repeat_interval")) for r in route["routes"]} >= {("1s", "6m")}
    assert am["global"]["resolve_timeout"] == "30s"
    # without --speed: the committed real-time rules, as before
    plain = tmp_path / "plain"
    assert render_demo_config.main([str(plain), *argv[1:-2]]) == 0
    assert yaml.safe_load((plain / "prometheus.yml").read_text())["rule_files"] == [
        str(REPO / "prometheus" / "rules" / "*.yml")]

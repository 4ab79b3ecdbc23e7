"""scripts/render_demo_config.py: the loopback configs of `make demo` (scripts/demo-stack.sh)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import render_demo_config as rdc  # noqa: E402

PORTS = {
    "prometheus_port": 1,
    "demo_port": 2,
    "pushgateway_port": 3,
    "node_exporter_port": 4,
    "alertmanager_port": 5,
}
PROMETHEUS = yaml.safe_load(rdc.PROMETHEUS_YML.read_text())
ALERTMANAGER = yaml.safe_load(rdc.ALERTMANAGER_YML.read_text())


def test_every_target_goes_to_its_loopback_port():
    out = rdc.render_prometheus(PROMETHEUS, PORTS, Path("/rules"))
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in out["scrape_configs"]}
    assert jobs == {
        "prometheus": ["127.0.0.1:1"],
        "ml-model": ["127.0.0.1:2"],
        "pushgateway": ["127.0.0.1:3"],
        "node": ["127.0.0.1:4"],
        "alertmanager": ["127.0.0.1:5"],
    }
    assert out["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:5"]
    assert out["rule_files"] == ["/rules/*.yml"]
    # honor_labels survives for the Pushgateway; the original config is untouched
    assert [j for j in out["scrape_configs"] if j["job_name"] == "pushgateway"][0]["honor_labels"]
    assert PROMETHEUS["scrape_configs"][1]["static_configs"][0]["targets"] == ["demo:8000"]


def test_unknown_target_is_an_error_naming_it():
    config = yaml.safe_load(rdc.PROMETHEUS_YML.read_text())
    config["scrape_configs"].append(
        {"job_name": "extra", "static_configs": [{"targets": ["triton:8002"]}]}
    )
    with pytest.raises(rdc.RenderError, match="triton:8002"):
        rdc.render_prometheus(config, PORTS, Path("/rules"))


def test_service_discovery_jobs_are_refused():
    config = yaml.safe_load(rdc.PROMETHEUS_YML.read_text())
    config["scrape_configs"].append({"job_name": "sd", "file_sd_configs": [{"files": ["x"]}]})
    with pytest.raises(rdc.RenderError, match="file_sd_configs"):
        rdc.render_prometheus(config, PORTS, Path("/rules"))


def test_alertmanager_secret_and_template_paths_move_to_local_dirs(tmp_path):
    out = rdc.render_alertmanager(ALERTMANAGER, tmp_path / "s", tmp_path / "t")
    assert out["templates"] == [f"{tmp_path}/t/*.tmpl"]
    files = rdc.secret_files(out)
    assert files == sorted({f"{tmp_path}/s/pagerduty_routing_key", f"{tmp_path}/s/slack_api_url"})
    assert rdc.secret_files(ALERTMANAGER)[0].startswith("/etc/alertmanager/secrets/")


def test_main_writes_configs_whose_receivers_notify_only_the_local_sink(tmp_path):
    argv = [str(tmp_path), "--webhook-port", "19095"] + [
        x for k, v in PORTS.items() for x in ("--" + k.replace("_", "-"), str(v))
    ]
    assert rdc.main(argv) == 0
    assert (tmp_path / "prometheus.yml").is_file()
    am = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())
    shipped = {r["name"] for r in ALERTMANAGER["receivers"]}
    assert {r["name"] for r in am["receivers"]} == shipped  # routes still resolve
    for receiver in am["receivers"]:
        assert set(receiver) == {"name", "webhook_configs"}, receiver
        (hook,) = receiver["webhook_configs"]
        assert hook["url"] == f"http://127.0.0.1:19095/{receiver['name']}"
    assert am["route"] == ALERTMANAGER["route"] and am["inhibit_rules"] == ALERTMANAGER["inhibit_rules"]
    text = (tmp_path / "alertmanager.yml").read_text()
    assert "pagerduty" not in text.replace("pagerduty-critical", "") and "slack_api" not in text
    assert rdc.secret_files(am) == []  # nothing to fill in, nothing that could reach out


def test_a_non_loopback_webhook_is_refused(tmp_path):
    with pytest.raises(rdc.RenderError, match="not on loopback"):
        rdc.render_alertmanager(ALERTMANAGER, tmp_path, tmp_path, webhook_url="http://10.0.0.1:80")


def test_webhook_sink_prints_one_line_per_alert():
    sys.path.insert(0, str(REPO / "scripts"))
    import webhook_sink

    lines = webhook_sink.format_notification("slack-warnings", {"status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "MLFeatureDrift", "severity": "warning",
                                        "model": "m", "feature": "age"},
         "annotations": {"summary": "m: age drifted"}},
        {"status": "resolved", "labels": {"alertname": "MLNoPredictions", "model": "m"}}]})
    assert lines[0].endswith("slack-warnings FIRING   MLFeatureDrift severity=warning model=m "
                             "feature=age: m: age drifted")
    assert lines[1].endswith("slack-warnings RESOLVED MLNoPredictions model=m")
    with pytest.raises(ValueError, match="alerts"):
        webhook_sink.format_notification("x", ["not", "a", "payload"])

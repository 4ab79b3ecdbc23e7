"""prometheus/alertmanager.yml in a real Alertmanager: it loads, and inhibition works.

The shipped config (secret and template paths moved to a temp dir exactly as `make demo` does)
runs in `prometheus-alertmanager` on a free loopback port. Alerts posted through its API show
that a critical alert inhibits the warnings of the same model and of no other model.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytestmark = pytest.mark.integration

sys.path.insert(0, str(REPO / "scripts"))
import render_demo_config  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def alertmanager(tmp_path):
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        message = "prometheus-alertmanager not found (apt-get install prometheus-alertmanager)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    ports = {name: _free_port() for name in ("prometheus", "alertmanager")}
    argv = [str(tmp_path), "--prometheus-port", str(ports["prometheus"]),
            "--alertmanager-port", str(ports["alertmanager"]), "--pushgateway-port", "1",
            "--node-exporter-port", "2", "--demo-port", "3"]
    assert render_demo_config.main(argv) == 0
    url = f"http://127.0.0.1:{ports['alertmanager']}"
    log = open(tmp_path / "alertmanager.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{ports['alertmanager']}",
         "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"alertmanager exited: {(tmp_path / 'alertmanager.log').read_text()}")
            try:
                if requests.get(f"{url}/-/ready", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("alertmanager not ready after 20 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _alert(name: str, severity: str, **labels: str) -> dict:
    return {
        "labels": {"alertname": name, "severity": severity, **labels},
        "annotations": {"summary": name, "runbook_url": "https://example.invalid/#x"},
    }


def test_loaded_config_is_the_shipped_route_tree(alertmanager):
    status = requests.get(f"{alertmanager}/api/v2/status", timeout=5).json()
    original = status["config"]["original"]
    assert "pagerduty-critical" in original and "slack-warnings" in original
    assert "routing_key_file" in original and "api_url_file" in original


def test_critical_inhibits_warnings_of_the_same_model_only(alertmanager):
    posted = [
        _alert("MLErrorRatioHigh", "critical", model="churn", version="v1"),
        _alert("MLLatencySLOBreach", "warning", model="churn", version="v1"),
        _alert("MLLatencySLOBreach", "warning", model="fraud", version="v1"),
    ]
    requests.post(f"{alertmanager}/api/v2/alerts", json=posted, timeout=5).raise_for_status()
    deadline = time.monotonic() + 15
    while True:
        alerts = requests.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
        state = {
            (a["labels"]["alertname"], a["labels"]["model"]): a["status"] for a in alerts
        }
        churn_warning = state.get(("MLLatencySLOBreach", "churn"), {})
        if churn_warning.get("inhibitedBy") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(state) == 3, state
    assert churn_warning["state"] == "suppressed" and churn_warning["inhibitedBy"], state
    assert state[("MLLatencySLOBreach", "fraud")]["inhibitedBy"] == []
    assert state[("MLErrorRatioHigh", "churn")]["inhibitedBy"] == []

"""prometheus/alertmanager.yml in a real Alertmanager: it loads, inhibition works, and the
`make demo` rendering notifies only the local webhook sink.

The shipped config (paths moved to a temp dir and every receiver pointed at
scripts/webhook_sink.py, exactly as `make demo` does) runs in `prometheus-alertmanager` on a free
loopback port. Alerts posted through its API show that a critical alert inhibits the warnings of
the same model and of no other model, and that a notification reaches the sink and is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

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
def webhook_sink(tmp_path):
    """scripts/webhook_sink.py on a free port: (port, path of its output)."""
    port = _free_port()
    out = tmp_path / "sink.log"
    with open(out, "wb") as fh:
        proc = subprocess.Popen([sys.executable, str(REPO / "scripts" / "webhook_sink.py"),
                                 "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while "listening" not in out.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"webhook sink did not start: {out.read_text()}")
            time.sleep(0.1)
        yield port, out
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
def alertmanager(tmp_path, webhook_sink):
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        message = "prometheus-alertmanager not found (apt-get install prometheus-alertmanager)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    ports = {name: _free_port() for name in ("prometheus", "alertmanager")}
    argv = [str(tmp_path), "--prometheus-port", str(ports["prometheus"]),
            "--alertmanager-port", str(ports["alertmanager"]), "--pushgateway-port", "1",
            "--node-exporter-port", "2", "--demo-port", "3", "--webhook-port", str(webhook_sink[0])]
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
    # `make demo` rendering: the receivers keep their names (the route tree is the shipped one)
    # but read no secret and notify only the local webhook sink
    assert "routing_key_file" not in original and "api_url_file" not in original


def _states(url: str, posted: list[dict], suppressed: int) -> dict:
    """Post alerts; wait until `suppressed` of them are inhibited; {(alertname, labels...): status}."""
    requests.post(f"{url}/api/v2/alerts", json=posted, timeout=5).raise_for_status()
    deadline = time.monotonic() + 15
    while True:
        alerts = requests.get(f"{url}/api/v2/alerts", timeout=5).json()
        state = {tuple(sorted(a["labels"].items())): a["status"] for a in alerts}
        done = sum(1 for s in state.values() if s["inhibitedBy"]) >= suppressed
        if (done and len(state) == len(posted)) or time.monotonic() > deadline:
            time.sleep(1)  # a late, wrong inhibition would show now
            alerts = requests.get(f"{url}/api/v2/alerts", timeout=5).json()
            return {tuple(sorted(a["labels"].items())): a["status"] for a in alerts}
        time.sleep(0.5)


def _key(alert: dict) -> tuple:
    return tuple(sorted(alert["labels"].items()))


def test_critical_inhibits_only_the_warning_of_the_same_alert(alertmanager):
    source = _alert("MLErrorRatioHigh", "critical", model="churn", version="v1", cluster="eu")
    same = _alert("MLErrorRatioHigh", "warning", model="churn", version="v1", cluster="eu")
    unrelated = [
        _alert("MLErrorRatioHigh", "warning", model="churn", version="v2", cluster="eu"),
        _alert("MLErrorRatioHigh", "warning", model="churn", version="v1", cluster="us"),
        _alert("MLLatencySLOBreach", "warning", model="churn", version="v1", cluster="eu"),
        _alert("MLFeatureDrift", "warning", model="churn", feature="age", cluster="eu"),
        _alert("MLCostOverBudget", "warning", model="churn", cluster="eu"),
        _alert("MLErrorRatioHigh", "warning", model="fraud", version="v1", cluster="eu"),
    ]
    state = _states(alertmanager, [source, same, *unrelated], suppressed=1)
    assert len(state) == 8, state
    assert state[_key(same)]["state"] == "suppressed" and state[_key(same)]["inhibitedBy"], state
    for alert in [source, *unrelated]:
        assert state[_key(alert)]["inhibitedBy"] == [], (alert["labels"], state[_key(alert)])


def test_target_down_inhibits_the_serving_alerts_of_its_model_only(alertmanager):
    down = _alert("MLModelTargetDown", "critical", model="fraud", instance="demo:8000",
                  job="ml-model", cluster="eu")
    explained = [
        _alert("MLErrorRatioHigh", "warning", model="fraud", version="v1", cluster="eu"),
        _alert("MLNoPredictions", "warning", model="fraud", cluster="eu"),
        _alert("MLModelStoppedReporting", "warning", model="fraud", job="ml-model", cluster="eu"),
    ]
    unrelated = [
        _alert("MLFeatureDrift", "warning", model="fraud", feature="age", cluster="eu"),
        _alert("MLCostOverBudget", "warning", model="fraud", cluster="eu"),
        _alert("MLErrorRatioHigh", "warning", model="fraud", version="v1", cluster="us"),
        _alert("MLErrorRatioHigh", "warning", model="churn", version="v1", cluster="eu"),
    ]
    state = _states(alertmanager, [down, *explained, *unrelated], suppressed=len(explained))
    assert len(state) == 8, state
    for alert in explained:
        assert state[_key(alert)]["state"] == "suppressed", (alert["labels"], state[_key(alert)])
    for alert in [down, *unrelated]:
        assert state[_key(alert)]["inhibitedBy"] == [], (alert["labels"], state[_key(alert)])


def test_demo_notifications_reach_the_local_sink_and_nothing_else(alertmanager, webhook_sink):
    original = requests.get(f"{alertmanager}/api/v2/status", timeout=5).json()["config"]["original"]
    receivers = yaml.safe_load(original)["receivers"]
    assert len(receivers) >= 4
    for receiver in receivers:  # Alertmanager's loaded view: defaults filled in, nothing else
        integrations = {k for k, v in receiver.items() if k.endswith("_configs") and v}
        assert integrations <= {"webhook_configs"}, receiver
        for hook in receiver.get("webhook_configs", []):
            assert hook["url"].startswith(f"http://127.0.0.1:{webhook_sink[0]}/"), hook
    requests.post(f"{alertmanager}/api/v2/alerts", timeout=5, json=[
        _alert("MLErrorRatioHigh", "critical", model="cancer-screening", version="v2")])
    _, out = webhook_sink
    deadline = time.monotonic() + 60  # critical route: group_wait 10s

    def receivers() -> set[str]:
        return {x.split()[1] for x in out.read_text().splitlines() if "MLErrorRatioHigh" in x}

    while receivers() != {"pagerduty-critical", "slack-critical"}:  # the route's `continue`
        assert time.monotonic() < deadline, f"notifications printed: {out.read_text()}"
        time.sleep(0.5)
    line = next(x for x in out.read_text().splitlines() if "pagerduty-critical" in x)
    assert "FIRING" in line and "model=cancer-screening version=v2" in line, line


def _amtool(url: str, *args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("amtool")
    if binary is None:
        message = "amtool not found (apt-get install prometheus-alertmanager)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run([binary, f"--alertmanager.url={url}", "--no-version-check", *args],
                          capture_output=True, text=True, timeout=30, check=True)


def _amtool_states(url: str, wanted: int, inhibited: int) -> dict[tuple, list]:
    """{labels: inhibitedBy} of every alert amtool lists (active and inhibited), once `wanted`
    alerts are listed and `inhibited` of them are inhibited (or after 15 s)."""

    def listed() -> dict[tuple, list]:
        out = json.loads(_amtool(url, "alert", "query", "--active", "--inhibited",
                                 "-o", "json").stdout)
        return {tuple(sorted(a["labels"].items())): a["status"]["inhibitedBy"] for a in out}

    deadline = time.monotonic() + 15
    while True:
        state = listed()
        done = len(state) >= wanted and sum(1 for v in state.values() if v) >= inhibited
        if done or time.monotonic() > deadline:
            time.sleep(1)  # a late, wrong inhibition would show now
            return listed()
        time.sleep(0.5)


def test_target_down_inhibits_the_llm_serving_alerts_of_its_model_only(alertmanager):
    """With amtool (`alert add`, `alert query --inhibited`): a dead target serving an LLM model
    silences that model's serving alerts (their series came from the target), not its evaluation
    score (the batch job's, through the Pushgateway), and nothing of another model or cluster."""
    base = {"model": "chat-assistant", "cluster": "eu"}
    down = {"alertname": "MLModelTargetDown", "severity": "critical", "job": "ml-model",
            "instance": "demo:8000", **base}
    explained = [
        {"alertname": "LLMTTFTErrorBudgetBurn", "severity": "warning", "version": "v1", **base},
        {"alertname": "LLMKVCacheSaturated", "severity": "warning", "version": "v1", **base},
        {"alertname": "LLMQueueGrowing", "severity": "warning", "version": "v1", **base},
        {"alertname": "LLMErrorFinishRatioHigh", "severity": "critical", "version": "v1", **base},
        {"alertname": "LLMPreemptionBurst", "severity": "warning", "version": "v1", **base},
    ]
    unrelated = [
        {"alertname": "LLMEvaluationScoreLow", "severity": "warning", "version": "v2",
         "metric": "faithfulness", "job": "ml_evaluation", **base},
        {"alertname": "LLMKVCacheSaturated", "severity": "warning", "version": "v1",
         "model": "code-assistant", "cluster": "eu"},
        {"alertname": "LLMKVCacheSaturated", "severity": "warning", "version": "v1",
         "model": "chat-assistant", "cluster": "us"},
    ]
    for labels in [down, *explained, *unrelated]:
        _amtool(alertmanager, "alert", "add", *(f"{k}={v}" for k, v in labels.items()),
                "--annotation=summary=test")
    state = _amtool_states(alertmanager, 1 + len(explained) + len(unrelated), len(explained))
    assert len(state) == 1 + len(explained) + len(unrelated), state
    for labels in explained:
        assert state[tuple(sorted(labels.items()))], f"not inhibited: {labels}"
    for labels in [down, *unrelated]:
        assert state[tuple(sorted(labels.items()))] == [], f"inhibited: {labels}"

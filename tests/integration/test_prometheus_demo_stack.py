"""`make demo` for real: scripts/demo-stack.sh brings the stack up on loopback, Ctrl-C stops it.

Runs the script with free ports, a 60x demo and a 1 s scrape interval; checks every endpoint
answers, every scrape target is up, the demo's evaluation job reaches Prometheus through the
Pushgateway with its own `job` label (honor_labels), the rules loaded; then sends SIGINT (what
Ctrl-C does) and checks every process is gone and the temp dir removed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BINARIES = ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-pushgateway",
            "prometheus-node-exporter")

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen, output: Path):
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"demo-stack.sh exited ({proc.returncode}) before {what}:\n"
                        f"{output.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{output.read_text()[-2000:]}")
        time.sleep(0.5)


def _query(prom: str, expr: str) -> list[dict]:
    return requests.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=5).json()[
        "data"]["result"]


def test_demo_stack_comes_up_on_loopback_and_ctrl_c_stops_everything(tmp_path):
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        message = f"not found: {missing} (apt-get install {' '.join(BINARIES[:1] + BINARIES[2:])})"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    python = REPO / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip(".venv missing (make venv)")
    ports = {var: _free_port() for var in
             ("PROMETHEUS_PORT", "ALERTMANAGER_PORT", "PUSHGATEWAY_PORT", "NODE_EXPORTER_PORT",
              "DEMO_PORT", "WEBHOOK_PORT")}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()},
           "DEMO_SPEED": "60", "SCRAPE_INTERVAL": "1s", "TMPDIR": str(tmp_path)}
    output = tmp_path / "out.log"
    with open(output, "wb") as out:
        proc = subprocess.Popen(["bash", str(REPO / "scripts" / "demo-stack.sh")], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        _wait(lambda: "demo stack is up" in output.read_text(), 90, "the stack", proc, output)
        text = output.read_text()
        prom = f"http://127.0.0.1:{ports['PROMETHEUS_PORT']}"
        for var in ("PROMETHEUS_PORT", "ALERTMANAGER_PORT"):
            assert f"http://127.0.0.1:{ports[var]}" in text  # the URLs are printed
        workdir = Path(re.search(r"logs and data in (\S+)\)", text).group(1))
        assert workdir.is_dir() and workdir.parent == tmp_path

        def all_up() -> bool:
            up = {r["metric"]["job"]: r["value"][1] for r in _query(prom, "up")}
            return set(up) == {"prometheus", "ml-model", "pushgateway", "node",
                               "alertmanager"} and set(up.values()) == {"1"}

        _wait(all_up, 30, "every target up", proc, output)
        expr = 'ml_evaluation_last_success_timestamp_seconds{job="ml_evaluation"}'
        _wait(lambda: _query(prom, expr), 45, "pushed evaluation metrics", proc, output)
        assert not _query(prom, "{exported_job!=''}")  # honor_labels kept the pushed job
        groups = requests.get(f"{prom}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {"ml-serving.rules", "ml-serving.alerts"} <= {g["name"] for g in groups}
        assert requests.get(f"http://127.0.0.1:{ports['ALERTMANAGER_PORT']}/-/ready",
                            timeout=5).ok
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)  # Ctrl-C
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
                pytest.fail("demo-stack.sh did not stop on SIGINT")
    assert "stopping the demo stack" in output.read_text()
    time.sleep(0.5)
    still = [var for var, port in ports.items() if _listening(port)]
    assert not still, f"still listening after Ctrl-C: {still}"
    assert not workdir.exists(), "temp dir not removed"

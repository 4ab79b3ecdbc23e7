"""`make demo` fails fast and stops cleanly (issue #12 item 15), with the real Debian binaries.

- a bad DEMO_SPEED is refused (one line, exit 2) before anything starts: the rules are scaled to it;
- a component that dies at start (`--scenario nope`) is reported at once with its own error line,
  exit 1, everything else stopped and the temp dir removed;
- Ctrl-C delivered to the whole process group (what a terminal does) is a clean stop: exit 130,
  no component's death reported as an error, nothing left listening, temp dir removed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.test_prometheus_demo_stack import (
    BINARIES,
    IN_CI,
    REPO,
    _free_port,
    _listening,
    _wait,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    import shutil

    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        if IN_CI:
            pytest.fail(f"not found: {missing}")
        pytest.skip(f"not found: {missing}")
    if not (REPO / ".venv" / "bin" / "python").exists():
        pytest.skip(".venv missing (make venv)")
    ports = {var: str(_free_port()) for var in
             ("PROMETHEUS_PORT", "ALERTMANAGER_PORT", "PUSHGATEWAY_PORT", "NODE_EXPORTER_PORT",
              "DEMO_PORT", "WEBHOOK_PORT")}
    return {**os.environ, **ports, "DEMO_SPEED": "60", "SCRAPE_INTERVAL": "1s",
            "TMPDIR": str(tmp_path)}


def _start(env: dict[str, str], output: Path) -> subprocess.Popen:
    with open(output, "wb") as out:
        return subprocess.Popen(["bash", str(REPO / "scripts" / "demo-stack.sh")], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _ports(env: dict[str, str]) -> list[int]:
    return [int(env[v]) for v in ("PROMETHEUS_PORT", "ALERTMANAGER_PORT", "PUSHGATEWAY_PORT",
                                  "NODE_EXPORTER_PORT", "DEMO_PORT", "WEBHOOK_PORT")]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_a_bad_speed_is_refused_before_anything_starts(stack_env, tmp_path):
    stack_env["DEMO_SPEED"] = "abc"  # the rules are time-scaled to it: checked first
    output = tmp_path / "out.log"
    proc = _start(stack_env, output)
    try:
        code = proc.wait(timeout=60)
    finally:
        _stop(proc)
    text = output.read_text()
    assert code == 2, text
    assert "error: argument --speed: invalid speed 'abc': not a number" in text
    assert "Traceback" not in text and "usage:" not in text
    assert not list(tmp_path.glob("ml-demo-stack.*")), "temp dir not removed"


def test_a_component_dying_at_start_is_reported_at_once(stack_env, tmp_path):
    stack_env["DEMO_ARGS"] = "--scenario nope"
    output = tmp_path / "out.log"
    proc = _start(stack_env, output)
    try:
        code = proc.wait(timeout=90)  # the old script waited 60 s for the dead demo
    finally:
        _stop(proc)
    text = output.read_text()
    assert code == 1, text
    assert "error: demo exited at start" in text
    assert "error: unknown scenario 'nope'" in text  # the component's own error line
    assert "demo stack is up" not in text
    time.sleep(0.5)
    assert not [p for p in _ports(stack_env) if _listening(p)], text
    assert not list(tmp_path.glob("ml-demo-stack.*")), "temp dir not removed"


def test_ctrl_c_to_the_process_group_is_a_clean_stop(stack_env, tmp_path):
    output = tmp_path / "out.log"
    proc = _start(stack_env, output)
    try:
        _wait(lambda: "demo stack is up" in output.read_text(), 120, "the stack", proc, output)
        workdir = Path(re.search(r"logs and data in (\S+)\)", output.read_text()).group(1))
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = proc.wait(timeout=30)
    finally:
        _stop(proc)
    text = output.read_text()
    assert code == 130, text
    assert "stopping the demo stack" in text
    assert "error:" not in text, text  # the components' deaths are not failures
    time.sleep(0.5)
    assert not [p for p in _ports(stack_env) if _listening(p)], text
    assert not workdir.exists(), "temp dir not removed"

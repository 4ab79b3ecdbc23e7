"""`python -m demo` bad input: one `error:` line, exit 2, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def run_demo(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "demo", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_scenario():
    assert_one_line_error(run_demo("--port", "1", "--scenario", "nope"),
                          "unknown scenario 'nope'", "default", "ci")


@pytest.mark.parametrize("speed", ["0", "-3", "abc", "inf", "nan", "100000"])
def test_invalid_speed(speed):
    assert_one_line_error(run_demo("--speed", speed), f"invalid --speed '{speed}'")


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_invalid_port(port):
    assert_one_line_error(run_demo("--port", port), "--port")


def test_bad_pushgateway_url():
    assert_one_line_error(run_demo("--pushgateway", "localhost:9091"), "--pushgateway")


def test_unknown_option():
    assert_one_line_error(run_demo("--sped", "3"), "unrecognized arguments")


def test_port_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run_demo("--port", str(port))
    assert_one_line_error(proc, f"port {port} on 127.0.0.1 is already in use")


def test_help_explains_scenarios_and_speed():
    proc = run_demo("--help")
    assert proc.returncode == 0
    for text in ("--speed", "--scenario", "--seed", "--pushgateway", "feature_drift",
                 "SIMULATED", "ci:", "default:"):
        assert text in proc.stdout


def test_list_scenarios():
    proc = run_demo("--list-scenarios")
    assert proc.returncode == 0
    assert "accuracy_drop" in proc.stdout and "wine-cultivar" in proc.stdout

"""The demo refuses seeds it cannot use and never serves an empty exposition (issue #12 item 14)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import REPO_ROOT
from tests.unit.test_demo_cli import assert_one_line_error, run_demo


@pytest.mark.parametrize("seed", ["-1", str(2**32), "99999999999999999999"])
def test_out_of_range_seed_is_a_usage_error(seed):
    assert_one_line_error(run_demo("--seed", seed), f"invalid --seed {int(seed)}", "0-4294967295")


def test_largest_seed_is_accepted():
    from demo.cli import parse_args

    assert parse_args(["--seed", str(2**32 - 1)]).seed == 2**32 - 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_answer_503_until_the_first_full_exposition():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--port", str(port), "--speed", "60"],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    statuses: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    body = r.read().decode()
                    statuses.append(r.status)
                    break
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)
                assert exc.headers.get("Retry-After") == "1"
            except (ConnectionError, urllib.error.URLError):
                pass
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert statuses and statuses[-1] == 200, statuses
    assert set(statuses[:-1]) <= {503}, statuses
    assert 503 in statuses  # the port opens before the models are trained
    samples = [line for line in body.splitlines() if line and not line.startswith("#")]
    assert any(line.startswith("ml_predictions_total") for line in samples), samples[:5]
    assert len(samples) > 100  # the first 200 is a full exposition, not an empty registry

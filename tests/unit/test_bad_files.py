"""Bad files and flags give one line and an exit code, never a traceback (issue #12 items 10-12).

Run as a user would (`python -m grafana_sync` in a temporary project): non-UTF-8 files and
absurdly nested JSON for lint, diff (--against, --against-ref) and push; non-UTF-8 YAML; a title
carrying terminal escape sequences; contradictory TLS flags.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DASH = {"uid": "ok", "title": "OK", "schemaVersion": 39, "panels": []}
NOT_UTF8 = b'{"uid": "x", "title": "caf\xe9", "panels": []}\n'
DEEP = b"[" * 100_000 + b"]" * 100_000


def cli(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")}
    env.update(PYTHONDONTWRITEBYTECODE="1", PROMETHEUS_URL="http://p:9090")
    proc = subprocess.run([sys.executable, "-m", "grafana_sync", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


def one_line(proc: subprocess.CompletedProcess[str], code: int, *expected: str) -> str:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    out = tmp_path / "provisioning" / "dashboards"
    out.mkdir(parents=True)
    (out / "ok.json").write_text(json.dumps(DASH, indent=2, sort_keys=True) + "\n")
    return tmp_path


BAD = [("not-utf8", NOT_UTF8, "not UTF-8 text (byte 0xe9 at offset"),
       ("deep", DEEP, "nested more than 100 levels")]


@pytest.mark.parametrize(("kind", "content", "expected"), BAD, ids=[b[0] for b in BAD])
def test_lint_bad_file(project: Path, kind: str, content: bytes, expected: str) -> None:
    (project / "bad.json").write_bytes(content)
    one_line(cli(project, "lint", "bad.json"), 2, "bad.json", expected)


@pytest.mark.parametrize(("kind", "content", "expected"), BAD, ids=[b[0] for b in BAD])
def test_lint_stdin_bad_text(project: Path, kind: str, content: bytes, expected: str) -> None:
    one_line(cli(project, "lint", "--stdin", stdin=content), 2, "<stdin>", expected)


@pytest.mark.parametrize(("kind", "content", "expected"), BAD, ids=[b[0] for b in BAD])
def test_diff_against_dir_with_bad_file(project: Path, kind: str, content: bytes,
                                        expected: str) -> None:
    other = project / "other"
    other.mkdir()
    (other / "bad.json").write_bytes(content)
    one_line(cli(project, "diff", "--against", "other"), 2, "bad.json", expected)


@pytest.mark.parametrize(("kind", "content", "expected"), BAD, ids=[b[0] for b in BAD])
def test_diff_against_ref_with_bad_file(project: Path, kind: str, content: bytes,
                                        expected: str) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, timeout=60)

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (project / "provisioning" / "dashboards" / "bad.json").write_bytes(content)
    git("add", "-A")
    git("commit", "-qm", "bad")
    (project / "provisioning" / "dashboards" / "bad.json").unlink()
    one_line(cli(project, "diff", "--against-ref", "HEAD"), 2, "HEAD:provisioning/dashboards/bad.json",
             expected)


@pytest.mark.parametrize(("kind", "content", "expected"), BAD, ids=[b[0] for b in BAD])
def test_push_bad_file_before_any_request(project: Path, kind: str, content: bytes,
                                          expected: str) -> None:
    (project / "provisioning" / "dashboards" / "bad.json").write_bytes(content)
    # port 9 (discard) on loopback: push must stop before connecting anywhere
    one_line(cli(project, "push", "--url", "http://127.0.0.1:9", "--token", "t0ken-x",
                 "--skip-datasource"), 2, "bad.json", expected)


def test_non_utf8_provisioning_yaml(project: Path) -> None:
    (project / "provisioning" / "dashboards" / "providers.yaml").write_bytes(
        b"apiVersion: 1\nproviders:\n  - name: caf\xe9\n")
    one_line(cli(project, "push", "--url", "http://127.0.0.1:9", "--token", "t0ken-x"), 2,
             "providers.yaml", "not UTF-8 text")


def test_deeply_nested_yaml(project: Path) -> None:
    (project / "provisioning" / "dashboards" / "providers.yaml").write_bytes(b"[" * 20_000)
    proc = cli(project, "push", "--url", "http://127.0.0.1:9", "--token", "t0ken-x")
    one_line(proc, 2, "providers.yaml")


# -- item 11: terminal escapes -----------------------------------------------------------------
def test_lint_escapes_terminal_sequences_in_titles(project: Path) -> None:
    evil = {"uid": "evil", "title": "Evil\x1b[2J\x1b]0;pwned\x07",
            "panels": [{"id": 1, "type": "timeseries", "title": "P\x1b[31mred\r",
                        "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}]}
    (project / "evil.json").write_text(json.dumps(evil))
    proc = cli(project, "lint", "evil.json")
    assert proc.returncode == 1
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout
    assert "\r" not in proc.stdout
    assert "P\\x1b[31mred\\x0d" in proc.stdout


# -- item 12: contradictory flags --------------------------------------------------------------
@pytest.mark.parametrize("command", ["push", "diff"])
def test_insecure_with_ca_cert_is_refused(project: Path, command: str) -> None:
    ca = project / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    proc = cli(project, command, "--url", "https://127.0.0.1:9", "--token", "t0ken-x",
               "--insecure", "--ca-cert", str(ca))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--insecure" in proc.stderr and "--ca-cert" in proc.stderr and "not both" in proc.stderr

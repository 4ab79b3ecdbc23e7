"""CLI truth: whole subcommand summaries in --help, exit codes as they are, one-line usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grafana_sync.cli import cli


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "grafana_sync", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_help_lists_every_command_with_its_whole_summary(tmp_path: Path) -> None:
    proc = run(tmp_path, "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    commands = proc.stdout.split("Commands:")[1].replace("PATH...", "PATH")
    assert "..." not in commands  # click cuts summaries at 45 characters with "..."
    for name, command in cli.commands.items():
        first = " ".join(command.get_short_help_str(limit=10_000).split())
        assert f"{name} {first}" in text, name
    assert "differences (diff, only with --exit-code)" in text
    assert "-C DIR" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (("build", "--bogus"), "error: No such option '--bogus'. (see 'grafana-sync build --help')"),
    (("nope",), "error: No such command 'nope'. (see 'grafana-sync --help')"),
    (("diff", "--format", "xml"), "error: Invalid value for '--format': 'xml' is not one of"),
])
def test_usage_errors_are_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    proc = run(tmp_path, *args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(message), proc.stderr
    assert proc.stdout == ""


def test_diff_exits_0_on_differences_without_exit_code(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, title in ((old, "A"), (new, "B")):
        folder.mkdir()
        (folder / "d.json").write_text(json.dumps({"uid": "d", "title": title, "panels": []}))
    plain = run(tmp_path, "diff", "--against", str(old), "--output-dir", str(new))
    assert plain.returncode == 0 and "title: 'A' → 'B'" in plain.stdout
    strict = run(tmp_path, "diff", "--against", str(old), "--output-dir", str(new), "--exit-code")
    assert strict.returncode == 1

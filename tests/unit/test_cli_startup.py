"""Start-up: each subcommand imports only what it uses (grafana_sync/cli.py loads commands lazily).

Checked in a fresh interpreter, by the modules loaded after the command ran — not by time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from grafana_sync.cli import cli

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from grafana_sync.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

NETWORK_AND_IMPORTER = ("requests", "urllib3", "grafana_sync.client", "grafana_sync.importer",
                        "grafana_sync.sync", "grafana_sync.pull")


def _run(*argv: str) -> tuple[int, set[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                         timeout=300, cwd=REPO)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    return last["code"], set(last["modules"])


def test_lint_imports_neither_the_http_client_nor_grafanalib() -> None:
    code, modules = _run("-C", str(REPO), "lint")
    assert code == 0
    assert "grafana_sync.lint.runner" in modules  # the probe really ran lint
    for name in (*NETWORK_AND_IMPORTER, "grafanalib.core"):
        assert name not in modules, name


def test_build_check_does_not_import_the_http_client_or_the_importer() -> None:
    code, modules = _run("-C", str(REPO), "build", "--check")
    assert code == 0
    assert "grafana_sync.compile" in modules
    for name in NETWORK_AND_IMPORTER:
        assert name not in modules, name


def test_version_imports_no_command() -> None:
    code, modules = _run("--version")
    assert code == 0
    assert not [m for m in modules if m.startswith("grafana_sync.commands.")]


def test_every_command_is_still_registered_and_resolves() -> None:
    names = ["build", "check", "diff", "import", "lint", "pull", "push"]
    assert sorted(cli.commands) == names
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == names
    for name in names:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name
        assert cli.commands[name] is command and cli.commands.get(name) is command
    assert cli.get_command(ctx, "nope") is None and cli.commands.get("nope") is None
    assert sorted(c.name for c in cli.commands.values()) == names


def test_push_does_not_import_the_diff_engine_until_a_conflict_needs_it() -> None:
    code, modules = _run("push", "--help")
    assert code == 0
    assert "grafana_sync.sync" in modules  # the probe really loaded push
    for name in ("grafana_sync.diff", "grafana_sync.diff_render", "grafanalib.core",
                 "grafana_sync.importer"):
        assert name not in modules, name

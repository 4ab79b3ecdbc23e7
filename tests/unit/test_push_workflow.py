"""The GitHub Actions push example is a valid workflow that runs the real commands."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import yaml

from grafana_sync.cli import cli

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "push.yml"


def load() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def steps() -> list[dict]:
    return load()["jobs"]["push"]["steps"]


def test_runs_on_merge_to_main():
    data = load()
    assert data["on"]["push"]["branches"] == ["main"]
    assert data["concurrency"]["cancel-in-progress"] is False  # never two pushes at once


def test_steps_run_real_cli_commands_that_parse():
    runs = [s["run"] for s in steps() if "run" in s]
    cli_runs = [r for r in runs if r.startswith("grafana-sync ")]
    assert cli_runs[0] == "grafana-sync build --check"  # DESIGN.md contract (build's own issue)
    args = shlex.split(cli_runs[1])[1:]
    assert args[0] == "push"
    with click.Context(cli) as parent:  # push's options must exist and parse
        ctx = cli.commands["push"].make_context("push", args[1:], parent=parent)
    assert ctx.params["prune"] is True and ctx.params["dry_run"] is False
    assert any("pip install ." in r for r in runs)


def test_token_comes_from_a_secret_through_the_environment_only():
    push = next(s for s in steps() if s.get("run", "").startswith("grafana-sync push"))
    assert push["env"]["GRAFANA_TOKEN"] == "${{ secrets.GRAFANA_TOKEN }}"
    assert push["env"]["GRAFANA_URL"].startswith("${{ ")
    for step in steps():  # never on a command line, where logs and `ps` would show it
        assert "secrets." not in step.get("run", "")
        assert "--token" not in step.get("run", "")

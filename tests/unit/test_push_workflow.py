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
    # $FORCE / $DRY_RUN are empty on a merge to main (workflow_dispatch inputs, see below)
    args = shlex.split(cli_runs[1].replace("$FORCE", "").replace("$DRY_RUN", ""))[1:]
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


def test_a_manual_run_can_force_and_dry_run():
    """docs/push.md tells users to re-run the workflow with --force: the workflow must offer it."""
    inputs = load()["on"]["workflow_dispatch"]["inputs"]
    assert inputs["force"]["type"] == "boolean" and inputs["force"]["default"] is False
    assert inputs["dry_run"]["type"] == "boolean" and inputs["dry_run"]["default"] is False
    push = next(s for s in steps() if s.get("run", "").startswith("grafana-sync push"))
    assert push["env"]["FORCE"] == "${{ inputs.force && '--force' || '' }}"
    assert push["env"]["DRY_RUN"] == "${{ inputs.dry_run && '--dry-run' || '' }}"
    for force, dry_run in (("", ""), ("--force", ""), ("--force", "--dry-run")):
        line = push["run"].replace("$FORCE", force).replace("$DRY_RUN", dry_run)
        args = shlex.split(line)[2:]
        with click.Context(cli) as parent:
            ctx = cli.commands["push"].make_context("push", args, parent=parent)
        assert ctx.params["force"] is bool(force) and ctx.params["dry_run"] is bool(dry_run)
        assert ctx.params["prune"] is True

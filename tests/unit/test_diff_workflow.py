""".github/workflows/dashboards-diff.yml is a valid workflow whose steps run real commands."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import yaml

from grafana_sync.cli import cli

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "dashboards-diff.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _commands(step: dict[str, Any]) -> list[list[str]]:
    """Each shell command line of a run step, split like a shell would (no redirections)."""
    out = []
    for line in step.get("run", "").splitlines():
        line = line.split(" > ")[0].split(" >> ")[0].strip()
        if line and not line.startswith("#"):
            out.append(shlex.split(line))
    return out


def test_workflow_shape(workflow: dict[str, Any]) -> None:
    assert isinstance(workflow.get("name"), str)
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"]["pull-requests"] == "write"
    assert workflow["jobs"]
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("runs-on"), str), name
        assert isinstance(job.get("steps"), list) and job["steps"], name
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_checkout_fetches_full_history(workflow: dict[str, Any]) -> None:
    checkout = [s for s in _steps(workflow) if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkout) == 1 and checkout[0]["with"]["fetch-depth"] == 0
    assert any(s.get("uses", "").startswith("actions/setup-python@") for s in _steps(workflow))


def _check_grafana_sync(argv: list[str]) -> str:
    """Assert argv is a real grafana-sync subcommand with real options; return the subcommand."""
    assert argv[0].endswith("grafana-sync"), argv
    command = cli.commands.get(argv[1])
    assert isinstance(command, click.Command), f"no subcommand {argv[1]!r}"
    options = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    args = iter(argv[2:])
    for arg in args:
        if arg.startswith("-"):
            assert arg in options, f"{argv[1]} has no option {arg}"
            param = next(p for p in command.params if arg in p.opts or arg in p.secondary_opts)
            if not getattr(param, "is_flag", False):
                value = next(args)
                if isinstance(param.type, click.Choice):
                    assert value in param.type.choices, (arg, value)
    return argv[1]


def test_run_steps_call_real_commands(workflow: dict[str, Any]) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    sequence: list[str] = []
    for step in _steps(workflow):
        for argv in _commands(step):
            if argv[0] == "make":
                for target in argv[1:]:
                    assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target
                    sequence.append(f"make {target}")
            elif argv[0].endswith("grafana-sync"):
                sequence.append(_check_grafana_sync(argv) + (" --check" if "--check" in argv
                                                             else ""))
    # build --check runs on the committed JSON, before `make dashboards` rewrites it.
    assert sequence.index("build --check") < sequence.index("make dashboards")
    assert sequence.index("make dashboards") < sequence.index("diff")


def test_diff_step_writes_markdown_against_the_base_branch(workflow: dict[str, Any]) -> None:
    diff_steps = [s for s in _steps(workflow) if "grafana-sync diff" in s.get("run", "")]
    assert len(diff_steps) == 1
    run = diff_steps[0]["run"]
    argv = next(a for a in _commands(diff_steps[0]) if a[0].endswith("grafana-sync"))
    assert argv[argv.index("--against-ref") + 1].startswith("origin/")
    assert argv[argv.index("--format") + 1] == "markdown"
    assert "> diff.md" in run


def test_comment_step_posts_diff_md(workflow: dict[str, Any]) -> None:
    posting = [s for s in _steps(workflow)
               if s.get("uses", "").startswith("actions/github-script@")]
    assert len(posting) == 1
    script = posting[0]["with"]["script"]
    assert "readFileSync('diff.md'" in script
    assert "createComment" in script and "updateComment" in script
    assert "<!-- grafana-sync-diff -->" in script  # the marker render_markdown writes first
    from grafana_sync.diff_render import MARKDOWN_MARKER

    assert MARKDOWN_MARKER in script


def test_stale_json_fails_the_job(workflow: dict[str, Any]) -> None:
    steps = _steps(workflow)
    check = next(s for s in steps if "build --check" in s.get("run", ""))
    assert check.get("continue-on-error") is True and check.get("id")
    final = steps[-1]
    assert final["if"] == f"steps.{check['id']}.outcome == 'failure'"
    assert "exit 1" in final["run"]


def test_workflow_validates_against_schemastore_schema(workflow: dict[str, Any]) -> None:
    """SchemaStore's github-workflow schema, as vendored by check-jsonschema.

    check-jsonschema is an optional extra check on top of the shape tests above (it is not a dev
    dependency yet), so its absence skips this test, in CI too.
    """
    spec = importlib.util.find_spec("check_jsonschema")  # locate only: no import, no deps
    if spec is None or not spec.origin:
        pytest.skip("check-jsonschema not installed (it vendors SchemaStore's workflow schema)")
    schema_file = Path(spec.origin).parent / "builtin_schemas" / "vendor" / "github-workflows.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    raw = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    raw["on"] = raw.pop(True)
    jsonschema.validate(raw, schema)

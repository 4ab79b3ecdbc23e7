"""grafana_sync.project: the root is found as git finds its repository; config in pyproject.toml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grafana_sync.errors import ConfigError
from grafana_sync.project import Project, find_project, find_root

REPO = Path(__file__).resolve().parents[2]

MODULE = """
from grafanalib.core import Dashboard, GridPos, Target, TimeSeries
dashboard = Dashboard(title="Svc", uid="svc", panels=[
    TimeSeries(title="Up", description="bad: 0", unit="short", targets=[Target(expr="up")],
               gridPos=GridPos(h=8, w=12, x=0, y=0)),
])
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("GRAFANA_URL", None)
    return subprocess.run([sys.executable, "-m", "grafana_sync", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "dashboards" / "_lib").mkdir(parents=True)
    (tmp_path / "dashboards" / "svc.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "docs" / "deep").mkdir(parents=True)
    return tmp_path


def test_root_is_the_nearest_marked_directory(project: Path) -> None:
    assert find_root(project / "docs" / "deep") == project
    assert find_root(project / "dashboards" / "_lib") == project
    nested = project / "docs" / "deep" / "sub"
    (nested / "provisioning" / "dashboards").mkdir(parents=True)
    assert find_root(nested) == nested  # nearest wins, as with nested git repositories
    (project / "pyproject.toml").write_text("[tool.other]\nx = 1\n")
    assert find_root(project / "docs") == project  # a pyproject without the table is no marker


def test_configuration_names_the_folders_and_lint_inputs(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.grafana-sync]
        dashboards-dir = "src/dash"
        output-dir = "build/json"

        [tool.grafana-sync.lint]
        metrics-contract = "METRICS.md"
        rules = ["rules/*.yml"]
    """))
    (tmp_path / "sub").mkdir()
    proj = find_project(tmp_path / "sub")
    assert proj.root == tmp_path.resolve() and proj.config_file == tmp_path / "pyproject.toml"
    assert proj.dashboards_dir == tmp_path / "src" / "dash"
    assert proj.output_dir == tmp_path / "build" / "json"
    assert proj.datasources_dir == tmp_path / "provisioning" / "datasources"
    assert proj.lint.metrics_contract == tmp_path / "METRICS.md"
    assert proj.lint.rules == (str(tmp_path / "rules/*.yml"),)
    assert Project.from_root(tmp_path, output_dir="elsewhere").output_dir == Path.cwd() / "elsewhere"


def test_without_configuration_lint_has_no_contract(project: Path) -> None:
    proj = find_project(project)
    assert proj.lint.metrics_contract is None and proj.lint.rules == () and proj.config_file is None


@pytest.mark.parametrize("text, message", [
    ("[tool.grafana-sync]\noutputdir = 'x'\n", "unknown key 'outputdir'"),
    ("[tool.grafana-sync.lint]\nrules = 'x'\n", "rules must be a list"),
    ("[tool.grafana-sync]\noutput-dir = 3\n", "output-dir must be a non-empty path string"),
    ("[tool.grafana-sync\n", "malformed TOML"),
])
def test_bad_configuration_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        find_project(tmp_path)
    assert message in str(err.value) and "pyproject.toml" in str(err.value)
    assert "\n" not in str(err.value)


def test_outside_a_project_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not inside a grafana-sync project"):
        find_project(tmp_path)
    assert find_project(tmp_path, required=False).root == tmp_path.resolve()


def test_every_command_works_from_a_subdirectory(project: Path, tmp_path_factory) -> None:
    sub = project / "dashboards" / "_lib"
    built = run(sub, "build")
    assert built.returncode == 0, built.stderr
    out = project / "provisioning" / "dashboards" / "svc.json"
    assert out.is_file() and not (sub / "provisioning").exists()
    assert "created provisioning/dashboards/svc.json" in built.stdout
    assert run(sub, "build", "--check").returncode == 0
    lint = run(project / "docs" / "deep", "lint", "--format", "json")
    assert lint.returncode in (0, 1) and {f["dashboard_uid"] for f in json.loads(lint.stdout)} <= {"svc"}
    snapshot = tmp_path_factory.mktemp("snap")
    (snapshot / "svc.json").write_text(out.read_text())
    diff = run(project / "docs", "diff", "--against", str(snapshot), "--exit-code")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    push = run(project / "docs", "push", "--dry-run")
    assert push.returncode == 2 and "no Grafana URL" in push.stderr  # got past project discovery
    assert run(project.parent, "-C", str(sub), "build", "--check").returncode == 0


def test_push_output_dir_option(project: Path, tmp_path_factory) -> None:
    empty = tmp_path_factory.mktemp("empty")
    proc = run(project, "push", "--output-dir", str(empty), "--url", "http://127.0.0.1:9",
               "--skip-datasource")
    assert proc.returncode == 2 and f"no compiled dashboards in {empty}" in proc.stderr


def test_this_repository_is_configured(monkeypatch) -> None:
    monkeypatch.chdir(REPO / "dashboards" / "_lib")
    proj = find_project()
    assert proj.root == REPO and proj.config_file == REPO / "pyproject.toml"
    assert proj.lint.metrics_contract == REPO / "docs" / "metrics.md"

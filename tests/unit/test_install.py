"""Install hygiene: the distribution installs only `grafana_sync` and `ml_monitoring`, building
needs no model stack, and the demo still runs as `python -m demo` from the repository root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import setuptools

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_only_the_engine_and_the_instrumentation_library_are_packages() -> None:
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = setuptools.find_packages(where=str(REPO), include=include)
    top = {p.split(".")[0] for p in packages}
    assert top == {"grafana_sync", "ml_monitoring"}, packages
    assert "grafana_sync.lint" in packages and "grafana_sync.commands" in packages


def test_building_needs_no_model_stack() -> None:
    names = {re.split(r"[<>=!;\[ ]", dep, maxsplit=1)[0].lower()
             for dep in PYPROJECT["project"]["dependencies"]}
    assert not names & {"scikit-learn", "scipy", "numpy", "pytest", "prometheus-client"}, names
    demo = {re.split(r"[<>=!;\[ ]", d, maxsplit=1)[0].lower()
            for d in PYPROJECT["project"]["optional-dependencies"]["demo"]}
    assert {"scikit-learn", "scipy", "numpy"} <= demo


def test_make_dashboards_installs_the_base_package_and_make_test_the_extras() -> None:
    plan = subprocess.run(["make", "-n", "-B", "dashboards"], cwd=REPO, capture_output=True,
                          text=True, timeout=60).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line and "-e" in line]
    assert installs and all(line.rstrip().endswith("-e .") for line in installs), plan
    plan = subprocess.run(["make", "-n", "-B", "test"], cwd=REPO, capture_output=True,
                          text=True, timeout=60).stdout
    assert any("-e '.[dev,demo]'" in line for line in plan.splitlines()), plan


def test_demo_is_not_importable_outside_the_repository(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", "import demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    if proc.returncode == 0 and not os.environ.get("CI"):
        pytest.skip("this venv predates the packaging change: re-run `make venv`")
    assert proc.returncode != 0 and "No module named 'demo'" in proc.stderr


def test_python_m_demo_runs_from_the_repository_root() -> None:
    proc = subprocess.run([sys.executable, "-m", "demo", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--port" in proc.stdout

"""The README's "Adding a dashboard" recipe, followed literally: it builds, lints clean, and the
convention tests of tests/unit/test_dashboards.py pass on it (they run on every compiled
dashboard, so a team's own dashboard is held to the same rules)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[2]


def recipe() -> tuple[str, str]:
    """(file name, Python source) of the module the README tells the reader to create."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Adding a dashboard"):]
    section = section[: section.index("\n## ", 5)]
    name = re.search(r"Create `dashboards/(\w+\.py)`", section).group(1)
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = "\n".join(line[3:] if line.startswith("   ") else line for line in block.splitlines())
    return name, code + "\n"


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})


def test_readme_recipe_builds_lints_and_is_tested(tmp_path: Path) -> None:
    name, code = recipe()
    shutil.copytree(REPO / "dashboards", tmp_path / "dashboards",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "dashboards" / name).write_text(code)
    # The repository's lint settings that are not paths (the label map and the target labels
    # such as the cluster label): the reader follows the recipe inside this repository.
    lint_table = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["grafana-sync"]["lint"]
    settings = {k: v for k, v in lint_table.items() if k in ("label-map", "target-labels")}
    (tmp_path / "pyproject.toml").write_text("[tool.grafana-sync.lint]\n" + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    built = run(sys.executable, "-m", "grafana_sync", "build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    compiled = tmp_path / "provisioning" / "dashboards" / "ml-monitoring" / "ml-payments.json"
    assert f"created {compiled.relative_to(tmp_path)}" in built.stdout

    lint = run(sys.executable, "-m", "grafana_sync", "lint", str(compiled),
               "--metrics-contract", str(REPO / "docs" / "metrics.md"),
               "--rules", str(REPO / "prometheus" / "rules"), cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "0 errors" in lint.stdout

    env = {"ML_DASHBOARDS_DIR": str(tmp_path / "dashboards"),
           "ML_OUTPUT_DIR": str(tmp_path / "provisioning" / "dashboards")}
    collected = run(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                    "tests/unit/test_dashboards.py", cwd=REPO, env=env)
    assert len([line for line in collected.stdout.splitlines() if "ml-payments" in line]) >= 10
    tested = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                 "tests/unit/test_dashboards.py", cwd=REPO, env=env)
    assert tested.returncode == 0, tested.stdout[-3000:]

"""The repository's own compiled dashboards lint clean (CI runs `make test`, so findings fail CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grafana_sync.jsonio import compiled_files
from grafana_sync.lint import LintOptions, run_lint
from grafana_sync.project import Project
from tests.conftest import IN_CI


def test_repository_dashboards_have_no_lint_errors(repo_root: Path) -> None:
    paths = Project.from_root(repo_root)
    if not compiled_files(paths.output_dir):
        if IN_CI:
            pytest.fail(f"no compiled dashboards under {paths.output_dir}")
        pytest.skip("no compiled dashboards in this checkout yet")
    result = run_lint(LintOptions(root=paths.root, output_dir=paths.output_dir))
    problems = [f"{f.file}: {f.rule}: {f.panel_title}: {f.message}" for f in result.findings
                if f.severity == "error"]
    assert problems == []
    assert not any("metric-contract-rule skipped" in n for n in result.notes), result.notes

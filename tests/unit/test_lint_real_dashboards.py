"""Lint on real dashboards published by other projects: no crash, no PromQL false positive.

Every dashboard here is valid for the Grafana it was written for (they are published and in use),
so a `target-promql-rule` or `template-label-promql-rule` finding on one would be this linter
failing to read what Grafana reads: a variable substituted wrongly, a panel that runs no query.
Sources: tests/fixtures/lint/real/SOURCES.md and tests/fixtures/import/SOURCES.md.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from grafana_sync.cli import main
from grafana_sync.lint import RULES, LintOptions, run_lint

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = sorted((FIXTURES / "lint" / "real").glob("*.json"))
CORPUS = REAL + sorted((FIXTURES / "import").glob("*.json"))
PROMQL_RULES = {"target-promql-rule", "template-label-promql-rule"}
ALL = [r.name for r in RULES]


def test_the_corpus_is_there() -> None:
    assert len(REAL) == 2
    assert all(path.stat().st_size > 10_000 for path in REAL)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_real_dashboard_lints_without_crash_or_promql_false_positive(tmp_path: Path,
                                                                     path: Path) -> None:
    result = run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "out", paths=[path],
                                  enable=ALL, disable=["metric-contract-rule"],
                                  config_files=[]))
    assert result.dashboards == 1
    wrong = [(f.panel_title, f.message) for f in result.findings if f.rule in PROMQL_RULES]
    assert wrong == []
    for finding in result.findings:
        assert "\n" not in finding.message and finding.message


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_real_dashboard_fix_through_stdin_leaves_nothing_fixable(
        tmp_path: Path, path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = path.read_text(encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    with pytest.raises(SystemExit):
        main(["lint", "--stdin", "--fix", "--format", "json"])
    fixed, err = capsys.readouterr()
    report = "\n".join(line for line in err.splitlines() if not line.startswith("note: "))
    after = json.loads(fixed)
    monkeypatch.setattr("sys.stdin", io.StringIO(fixed))
    with pytest.raises(SystemExit):
        main(["lint", "--stdin", "--format", "json"])
    left = json.loads(capsys.readouterr().out)
    if after == json.loads(text) and any(f["fixable"] for f in json.loads(report)):
        return  # a converted shape (legacy rows, Kubernetes): reported, deliberately not fixed
    assert [f for f in left if f["fixable"]] == []


def test_kubernetes_mixin_lint_file_applies_to_its_dashboards(tmp_path: Path) -> None:
    """kubernetes-mixin's real .lint (bare rule names, one with a reason) silences what it
    lists, next to the dashboards it was written for."""
    real = FIXTURES / "lint" / "real"
    path = tmp_path / "k8s-resources-cluster.json"  # away from the .lint next to the fixture
    path.write_text((real / "kubernetes-mixin-k8s-resources-cluster.json").read_text("utf-8"))
    bare = run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "out", paths=[path],
                                enable=ALL, disable=["metric-contract-rule"]))
    listed = {"template-job-rule", "template-instance-rule", "target-job-rule",
              "target-instance-rule", "panel-title-description-rule", "panel-units-rule",
              "panel-datasource-rule"}
    silenced = [f for f in bare.findings if f.rule in listed]
    assert any(f.rule == "panel-units-rule" and f.panel_title == "CPU Usage" for f in silenced)
    with_lint = run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "out", paths=[path],
                                     enable=ALL, disable=["metric-contract-rule"],
                                     config_files=[real / ".lint"]))
    assert [f for f in with_lint.findings if f.rule in listed] == []
    assert with_lint.excluded == len(silenced)
    assert [f.rule for f in with_lint.findings] == [
        f.rule for f in bare.findings if f.rule not in listed]

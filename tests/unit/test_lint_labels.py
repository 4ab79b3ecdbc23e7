"""target-label-propagation-rule: filters and groupings use labels the series carry (moved here
from the dashboard tests), following the monitoring config's label names through `label-map`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import promql_parser
import pytest

from grafana_sync.lint.contract import load_record_exprs, parse_contract_labels
from grafana_sync.lint.rules_labels import Labels
from tests.unit.test_renamed_config import RENAMED, build_with

REPO = Path(__file__).resolve().parents[2]


def labels(label_map: dict[str, str] | None = None) -> Labels:
    records: dict[str, str] = {}
    for path in sorted((REPO / "prometheus" / "rules").glob("*.yml")):
        records.update(load_record_exprs(path, path.name))
    contract = parse_contract_labels((REPO / "docs" / "metrics.md").read_text())
    return Labels(contract, records, label_map or {})


def problems(expr: str, label_map: dict[str, str] | None = None) -> list[str]:
    return list(labels(label_map).problems(promql_parser.parse(expr)))


@pytest.mark.parametrize("expr, fragment", [
    ('ml_feature_drift_score{model=~"m", version=~"v"}', "ml_feature_drift_score has no label version"),
    ("sum by (model, version) (ml_outliers_total)", "version is not on the series"),
    ("sum by (model, version) (model:ml_predictions:rate5m)", "version is not on the series"),
    ("model:ml_predictions:rate5m / on (model, version) model_version:ml_predictions:rate5m",
     "version is not on the left-hand side"),
    ("ml_predictions_total * on (model) group_left (stage) ml_cost_budget_usd_per_hour",
     "group_left (stage): stage is not on the one side"),
    ("sum by (version) (topk(3, ml_feature_drift_score))", "version is not on the series"),
])
def test_label_mismatches_are_found(expr: str, fragment: str) -> None:
    assert any(fragment in p for p in problems(expr)), problems(expr)


@pytest.mark.parametrize("expr", [
    "sum by (model, version) (model_version:ml_predictions:rate5m)",
    'histogram_quantile(0.95, sum by (le, model) (rate(ml_inference_duration_seconds_bucket[5m])))',
    "ml_predictions_total * on (model, version) group_left (stage) ml_model_info",
    "sum by (job, instance) (up)",  # not in the contract: metric-contract-rule's business
    # topk/bottomk select input series: their labels are kept whatever the `by` grouping
    "ml_feature_drift_score and on (model, feature) topk by (model) (3, ml_feature_drift_score)",
    "sum by (model) (bottomk(2, ml_feature_drift_pvalue))",
])
def test_labels_the_series_carry_pass(expr: str) -> None:
    assert problems(expr) == []


def test_label_map_renames_the_contract() -> None:
    renamed = {"model": "model_name"}
    assert problems('ml_predictions_total{model_name="a"}', renamed) == []
    assert problems('ml_predictions_total{model="a"}', renamed) == [
        "ml_predictions_total has no label model"]


def lint(*paths: str, config: Path | None = None, rules: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("MONITORING_CONFIG", None)
    if config is not None:
        env["MONITORING_CONFIG"] = str(config)
    args = [sys.executable, "-m", "grafana_sync", "lint", "--format", "json", *paths]
    if rules is not None:
        args += ["--metrics-contract", str(REPO / "docs" / "metrics.md"), "--rules", str(rules)]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def findings(proc: subprocess.CompletedProcess) -> list[dict]:
    data = json.loads(proc.stdout)
    items = data["findings"] if isinstance(data, dict) else data
    return [f for f in items if f["rule"] == "target-label-propagation-rule"]


def test_repository_dashboards_have_no_label_mismatch() -> None:
    proc = lint()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert findings(proc) == []


def test_renamed_setup_lints_clean_and_a_forgotten_place_is_an_error(tmp_path: Path) -> None:
    built = build_with(RENAMED, tmp_path)
    config = built / "monitoring.yaml"
    compiled = sorted(str(p) for p in (built / "dashboards").rglob("*.json"))
    proc = lint(*compiled, config=config, rules=built / "rules")
    assert findings(proc) == [], proc.stdout[-2000:]
    # the same renamed config, but dashboards built with the old names: every filter on `model`
    # is reported, not left to be an empty panel
    old = sorted(str(p) for p in (REPO / "provisioning" / "dashboards").rglob("*.json"))
    proc = lint(*old, config=config, rules=built / "rules")
    found = findings(proc)
    assert proc.returncode == 1 and found
    assert any("has no label model" in f["message"] for f in found)


def test_target_labels_are_on_every_series_and_follow_the_label_map() -> None:
    """`target-labels` (pyproject: ["cluster"]) adds an external label to every contract series."""
    records: dict[str, str] = {}
    for path in sorted((REPO / "prometheus" / "rules").glob("*.yml")):
        records.update(load_record_exprs(path, path.name))
    contract = parse_contract_labels((REPO / "docs" / "metrics.md").read_text())
    expr = promql_parser.parse('sum by (cluster, model) (ml_outliers_total{cluster=~"eu"})')
    without = list(Labels(contract, records, {}).problems(expr))
    assert any("no label cluster" in p for p in without), without
    assert list(Labels(contract, records, {}, ("cluster",)).problems(expr)) == []
    renamed = Labels(contract, records, {"cluster": "region"}, ("cluster",))
    assert list(renamed.problems(promql_parser.parse("sum by (region) (ml_outliers_total)"))) == []
    assert list(renamed.problems(expr)), "the old name is a finding once renamed"


def test_target_labels_setting_is_validated(tmp_path: Path) -> None:
    from grafana_sync.errors import ConfigError
    from grafana_sync.project import Project

    (tmp_path / "pyproject.toml").write_text('[tool.grafana-sync.lint]\ntarget-labels = "cluster"\n')
    with pytest.raises(ConfigError, match="lint.target-labels must be a list of label names"):
        Project.from_root(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.grafana-sync.lint]\ntarget-labels = ["region"]\n')
    assert Project.from_root(tmp_path).lint.target_labels == ("region",)

"""metric-contract-rule: known metrics from a markdown contract and recording rules from rule files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from grafana_sync.errors import ConfigError
from grafana_sync.lint import LintOptions, run_lint
from grafana_sync.lint.contract import MetricContract, parse_contract_markdown

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
CLEAN = json.loads((FIXTURES / "clean-dashboard.json").read_text(encoding="utf-8"))

CONTRACT = """# Metrics

Intro text with `not_a_table_metric` in it.

| Metric | Type | Labels |
|---|---|---|
| `demo_requests_total` | counter | `model` |
| `demo_latency_seconds` | histogram | `model`, `le` |
| `demo_deployed_timestamp_seconds` | gauge | `model` |
| `node_cpu_seconds_total`, `node_memory_MemAvailable_bytes` | gauge | `instance` |
| `python_gc_*` | various | |
| `DCGM_FI_DEV_(UN)CORRECTABLE_REMAPPED_ROWS` | counter | |

| label | values |
|---|---|
| `model` | `a`, `b` |
"""
RULES = """groups:
  - name: demo
    rules:
      - record: model:demo_requests:rate5m
        expr: sum by (model) (rate(demo_requests_total[5m]))
      - alert: Whatever
        expr: up == 0
"""


def test_parse_contract_markdown() -> None:
    names, patterns = parse_contract_markdown(CONTRACT)
    assert names == {"demo_requests_total", "demo_latency_seconds", "node_cpu_seconds_total",
                     "demo_deployed_timestamp_seconds",
                     "node_memory_MemAvailable_bytes"}
    assert patterns == ["python_gc_*"]


def test_without_metric_headers_every_table_counts() -> None:
    assert parse_contract_markdown("| `a_b` | x |\n| `c` | y |\n") == ({"a_b", "c"}, [])


def test_contract_knows_histogram_series_patterns_records_and_prometheus_series() -> None:
    contract = MetricContract(source="m.md", names={"demo_latency_seconds"},
                              patterns=["python_gc_*"], records={"a:b:c"})
    for name in ("demo_latency_seconds_bucket", "demo_latency_seconds_count",
                 "demo_latency_seconds_sum", "python_gc_objects_collected_total", "a:b:c", "up"):
        assert contract.knows(name), name
    for name in ("demo_latency_bucket", "demo_latency_seconds_total", "x:y:z", "python_gcx"):
        assert not contract.knows(name), name


def project(tmp_path: Path, contract: str | None = CONTRACT, rules: str | None = RULES) -> Path:
    """A project whose configuration (grafana_sync.project) names its contract and rules."""
    config = ["[tool.grafana-sync.lint]"]
    if contract is not None:
        config.append('metrics-contract = "docs/metrics.md"')
    if rules is not None:
        config.append('rules = ["prometheus/rules"]')
    (tmp_path / "pyproject.toml").write_text("\n".join(config) + "\n")
    if contract is not None:
        (tmp_path / "docs").mkdir()
        (tmp_path / "docs" / "metrics.md").write_text(contract)
    if rules is not None:
        (tmp_path / "prometheus" / "rules").mkdir(parents=True)
        (tmp_path / "prometheus" / "rules" / "demo.yml").write_text(rules)
    return tmp_path


def lint_file(tmp_path: Path, dash: dict, where: str = "provisioning/dashboards", **options):
    folder = tmp_path / where
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "d.json"
    path.write_text(json.dumps(dash))
    return run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "provisioning/dashboards",
                                paths=[path], **options))


def with_expr(expr: str) -> dict:
    dash = copy.deepcopy(CLEAN)
    dash["panels"][1]["targets"][0]["expr"] = expr
    return dash


def test_clean_dashboard_matches_the_contract(tmp_path: Path) -> None:
    result = lint_file(project(tmp_path), CLEAN)
    assert result.findings == []


def test_unknown_metric_in_project_dashboard_is_an_error(tmp_path: Path) -> None:
    result = lint_file(project(tmp_path), with_expr(
        "sum(rate(demo_request_total[$__rate_interval]))"))
    assert [(f.rule, f.severity, f.ref_id) for f in result.findings] == [
        ("metric-contract-rule", "error", "A")]
    assert "'demo_request_total' is not in the metrics contract" in result.findings[0].message


def test_annotation_queries_are_checked_too(tmp_path: Path) -> None:
    dash = copy.deepcopy(CLEAN)
    dash["annotations"]["list"][1]["expr"] = "ml_deployed_timestamp_seconds > 0"
    [finding] = lint_file(project(tmp_path), dash).findings
    assert (finding.rule, finding.panel_title) == ("metric-contract-rule", None)
    assert finding.message.startswith("annotation 'Deployments': metric 'ml_deployed_timestamp")


def test_undefined_recording_rule_is_an_error(tmp_path: Path) -> None:
    result = lint_file(project(tmp_path), with_expr("model:demo_errors:rate5m"))
    [finding] = result.findings
    assert finding.rule == "metric-contract-rule"
    assert "recording rule 'model:demo_errors:rate5m' is not defined" in finding.message


def test_default_contract_skips_files_outside_the_output_dir(tmp_path: Path) -> None:
    """`grafana-sync lint some.json` in a project: the project's contract is not some.json's."""
    result = lint_file(project(tmp_path), with_expr("rate(x[$__rate_interval])"), where="elsewhere")
    assert result.findings == []
    assert any("checks only dashboards under" in n for n in result.notes)


def test_explicit_contract_applies_everywhere(tmp_path: Path) -> None:
    project(tmp_path, contract=None)
    contract = tmp_path / "contract.md"
    contract.write_text(CONTRACT)
    result = lint_file(tmp_path, with_expr("rate(x[$__rate_interval])"), where="elsewhere",
                       metrics_contract=contract)
    assert [f.rule for f in result.findings] == ["metric-contract-rule"]


def test_explicit_rules_option(tmp_path: Path) -> None:
    project(tmp_path, rules=None)
    rules = tmp_path / "my-rules.yaml"
    rules.write_text(RULES)
    assert lint_file(tmp_path, CLEAN, rule_specs=[str(rules)]).findings == []
    [finding] = lint_file(tmp_path, CLEAN).findings  # no rule files: the record is unknown
    assert "no rule files found" in finding.message


def test_no_contract_skips_the_rule_with_a_note(tmp_path: Path) -> None:
    result = lint_file(tmp_path, with_expr("sum(rate(anything_total[$__rate_interval]))"))
    assert result.findings == []
    assert any("metric-contract-rule skipped" in n for n in result.notes)


@pytest.mark.parametrize(("setup", "message"), [
    (lambda t: {"metrics_contract": t / "nope.md"}, "metrics contract not found"),
    (lambda t: (t / "empty.md").write_text("# nothing\n") and {"metrics_contract": t / "empty.md"},
     "no metric names found"),
    (lambda t: {"rule_specs": ["nope.yml"]}, "no such rule file"),
    (lambda t: (t / "bad.yml").write_text("groups: [\n") and {"rule_specs": ["bad.yml"]},
     "malformed rule file"),
    (lambda t: (t / "bad.yml").write_text("rules: []\n") and {"rule_specs": ["bad.yml"]},
     "not a Prometheus rule file"),
])
def test_bad_contract_configuration_is_a_config_error(tmp_path: Path, setup, message) -> None:
    project(tmp_path, rules=None)
    options = setup(tmp_path)
    with pytest.raises(ConfigError, match=message):
        lint_file(tmp_path, CLEAN, **options)

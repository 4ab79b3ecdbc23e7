"""docs/metrics.md: well-formed, covers every area, follows Prometheus naming."""

from __future__ import annotations

import re

import pytest

from demo.contract import (
    NOT_IN_DEMO_SECTION,
    SIMULATED_SECTION,
    ContractError,
    load_contract,
    parse_contract,
)

HEADER = "| metric | type | labels | unit | emitted by | description |\n|---|---|---|---|---|---|\n"


@pytest.fixture(scope="module")
def contract():
    return load_contract()


def test_contract_has_every_area(repo_root):
    text = (repo_root / "docs" / "metrics.md").read_text()
    headings = re.findall(r"^#{2,3} (.+)$", text, flags=re.M)
    for area in ("Infrastructure", "Model performance", "Data drift", "Concept drift",
                 "Prediction distribution", "Errors and anomalies", "Cost", "Model versions",
                 "Fairness", "User feedback", "Batch evaluation", "NVIDIA DCGM", "cAdvisor",
                 "kube-state-metrics", "OpenCost", SIMULATED_SECTION, NOT_IN_DEMO_SECTION):
        assert any(h.startswith(area) for h in headings), area


def test_every_area_lists_metrics(repo_root, contract):
    names = set(contract)
    for expected in ("ml_inference_duration_seconds", "ml_model_quality_ratio",
                     "ml_model_baseline_quality_ratio", "ml_feature_drift_score",
                     "ml_feature_drift_threshold", "ml_concept_drift_score",
                     "ml_prediction_score", "ml_prediction_errors_total",
                     "ml_input_validation_failures_total", "ml_outliers_total",
                     "ml_model_info", "ml_model_deployed_timestamp_seconds",
                     "ml_model_traffic_share_ratio", "ml_group_predictions_total",
                     "ml_fairness_parity_difference", "ml_feedback_total",
                     "ml_prediction_overrides_total", "ml_evaluation_last_success_timestamp_seconds",
                     "DCGM_FI_DEV_GPU_UTIL", "node_gpu_hourly_cost", "container_gpu_allocation",
                     "container_cpu_usage_seconds_total", "node_cpu_seconds_total"):
        assert expected in names


def test_prometheus_naming(contract):
    for name, spec in contract.items():
        if spec.type == "counter":
            assert name.endswith("_total"), name
        else:
            assert not name.endswith("_total"), name
        if spec.type == "histogram":
            assert not re.search(r"_(bucket|sum|count)$", name), name
        if name.endswith("_timestamp_seconds"):
            assert spec.type == "gauge" and "Unix" in spec.unit, name
        if name.endswith("_ratio"):
            assert spec.type == "gauge" and "ratio" in spec.unit, name
        assert "le" not in spec.labels and "job" not in spec.labels, name


def test_ml_metrics_carry_model_label(contract):
    for name, spec in contract.items():
        if name.startswith("ml_"):
            assert "model" in spec.labels, name
            assert spec.emitted_by_demo


def test_app_prefix_outside_exporter_sections(contract):
    for name, spec in contract.items():
        if spec.section.startswith(("Metrics emitted by the model service", "Batch evaluation")):
            assert name.startswith("ml_"), name


def test_simulated_exporters_say_so(contract):
    simulated = [s for s in contract.values() if s.simulated]
    assert len(simulated) >= 15
    for spec in simulated:
        assert spec.emitted_by.endswith("(simulated in demo)"), spec.name
        assert not spec.name.startswith("ml_")


def test_batch_metrics_come_from_the_pushgateway(contract):
    batch = [s for s in contract.values() if s.section == "Batch evaluation metrics"]
    assert batch
    assert all("Pushgateway" in s.emitted_by for s in batch)


@pytest.mark.parametrize("row, message", [
    ("| `x_total` | countr | `a` | u | e | d |", "type 'countr'"),
    ("| x_total | counter | `a` | u | e | d |", "backticked name"),
    ("| `x_total` | counter | a, b | u | e | d |", "labels must be backticked"),
    ("| `x_total` | counter | `a` | u | e |", "expected 6 columns"),
    ("| `x_total` | counter | `a-b` | u | e | d |", "bad label name"),
])
def test_malformed_rows_are_rejected_with_line(row, message):
    with pytest.raises(ContractError, match=message) as err:
        parse_contract("## S\n\n" + HEADER + row + "\n")
    assert ":5:" in str(err.value)


def test_duplicate_metric_is_rejected():
    row = "| `x` | gauge | — | u | e | d |\n"
    with pytest.raises(ContractError, match="listed twice"):
        parse_contract("## S\n\n" + HEADER + row + row)


def test_tables_with_other_headers_are_ignored():
    text = "## S\n\n| label | values |\n|---|---|\n| `model` | a |\n\n" + HEADER + \
        "| `x` | gauge | `model`, `version` | u | e | d |\n"
    specs = parse_contract(text)
    assert list(specs) == ["x"] and specs["x"].labels == ("model", "version")

"""ml_monitoring.config: defaults, monitoring.yaml overrides, the shipped JSON Schema, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ml_monitoring import config as mc

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(mc.ENV_VAR, raising=False)
    mc.clear_cache()
    yield
    mc.clear_cache()


def write(tmp_path: Path, text: str, name: str = "monitoring.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_no_file_means_the_defaults(tmp_path):
    cfg = mc.load_config(root=tmp_path)
    assert cfg.source == "built-in defaults"
    assert (cfg.labels.model, cfg.labels.version, cfg.labels.feature, cfg.labels.cluster) == (
        "model", "version", "feature", "cluster")
    assert cfg.stacks == ("contract",)
    assert cfg.threshold("error_ratio_crit") == 0.05
    assert cfg.folder == "ml-monitoring"
    assert cfg.alert("MLErrorRatioHigh").for_ == "5m"


def test_file_at_root_overrides_only_what_it_sets(tmp_path):
    write(tmp_path, "labels:\n  model: model_name\nthresholds:\n  error_ratio_crit: 0.1\n"
                    "selectors:\n  serving: 'job=\"model-serving\"'\nstacks: [contract, triton]\n"
                    "alerts:\n  MLCostOverBudget: {for: 1h, severity: critical}\n"
                    "  MLAuditLogGap: {enabled: false}\nareas: {fairness: false}\n")
    cfg = mc.load_config(root=tmp_path)
    assert cfg.labels.model == "model_name" and cfg.labels.version == "version"
    assert cfg.threshold("error_ratio_crit") == 0.1 and cfg.threshold("error_ratio_warn") == 0.01
    assert cfg.selectors.serving == 'job="model-serving"' and cfg.selectors.gpu == ""
    assert cfg.stacks == ("contract", "triton") and cfg.stack_on("triton")
    cost = cfg.alert("MLCostOverBudget")
    assert (cost.for_, cost.severities, cost.enabled) == ("1h", ("critical",), True)
    assert cfg.alert("MLAuditLogGap").enabled is False
    assert not cfg.area_on("fairness") and cfg.area_on("drift") and cfg.area_on("payments")


def test_env_var_names_another_file(tmp_path, monkeypatch):
    write(tmp_path, "labels: {model: ignored_model}\n")
    other = write(tmp_path, "labels: {model: prod_model}\n", "prod.yaml")
    monkeypatch.setenv(mc.ENV_VAR, str(other))
    assert mc.load_config(root=tmp_path).labels.model == "prod_model"


def test_env_var_pointing_at_a_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(mc.ENV_VAR, str(tmp_path / "nope.yaml"))
    with pytest.raises(mc.MonitoringConfigError, match=r"nope.yaml: monitoring config not found"):
        mc.load_config(root=tmp_path)


def test_empty_file_is_the_defaults(tmp_path):
    write(tmp_path, "# nothing yet\n")
    assert mc.load_config(root=tmp_path).labels == mc.Labels()


@pytest.mark.parametrize("text, message", [
    ("labels:\n  modle: x\n", r"labels\.modle: unknown key 'modle' \(did you mean 'model'\?\)"),
    ("labels:\n  model: model-name\n", r"labels\.model: 'model-name' is not a Prometheus label name"),
    ("labels:\n  model: __name__\n", r"labels\.model: '__name__' is reserved"),
    ("labels:\n  version: model\n", r"labels\.(model|version): 'model' is also used"),
    ("thresholds:\n  error_ratio_wrn: 0.1\n", r"thresholds\.error_ratio_wrn: unknown key"),
    ("thresholds:\n  error_ratio_warn: high\n", r"thresholds\.error_ratio_warn: expected number"),
    ("thresholds:\n  error_ratio_warn: .nan\n", r"thresholds\.error_ratio_warn: expected a finite number"),
    ("thresholds:\n  error_ratio_warn: 0.2\n", r"thresholds\.error_ratio_warn \(0\.2\) must be below"),
    ("selectors:\n  serving: job=serving\n", r"selectors\.serving: 'job=serving' is not a PromQL matcher"),
    ("selectors:\n  serving: '{job=\"a\"}'\n", r"selectors\.serving: .*without braces"),
    ("selectors:\n  database: ''\n", r"selectors\.database: unknown key"),
    ("stacks: [triton, trition]\n", r"stacks\.1: 'trition' is not one of contract, triton"),
    ("stacks: contract\n", r"stacks: expected array"),
    ("alerts:\n  MLNope: {for: 5m}\n", r"alerts\.MLNope: unknown key"),
    ("alerts:\n  MLCostOverBudget: {for: 5 minutes}\n",
     r"alerts\.MLCostOverBudget\.for: '5 minutes' is not a Prometheus duration"),
    ("alerts:\n  MLErrorRatioHigh: {severity: info}\n", r"alerts\.MLErrorRatioHigh\.severity: unknown key"),
    ("alerts:\n  MLCostOverBudget: {severity: page}\n",
     r"alerts\.MLCostOverBudget\.severity: 'page' is not one"),
    ("areas: {Fairness: false}\n", r"areas: 'Fairness' is not lower-case"),
    ("areas: {fairness: no-thanks}\n", r"areas\.fairness: expected boolean"),
    ("folder: 'a b'\n", r"folder: 'a b' is not"),
    ("colour: red\n", r"colour: unknown key"),
    ("- a\n", r"\(top level\): expected object or null"),
    ("labels: [\n", r"monitoring.yaml:\d+:\d+: malformed YAML"),
])
def test_bad_key_or_value_is_one_line_naming_it(tmp_path, text, message):
    write(tmp_path, text)
    with pytest.raises(mc.MonitoringConfigError) as err:
        mc.load_config(root=tmp_path)
    line = str(err.value)
    assert "\n" not in line
    assert line.startswith(str(tmp_path / "monitoring.yaml"))
    assert __import__("re").search(message, line), line


def test_unknown_threshold_asked_by_code_names_it():
    with pytest.raises(mc.MonitoringConfigError, match=r"unknown threshold 'error_ratio_crt' \(did you mean"):
        mc.MonitoringConfig().threshold("error_ratio_crt")


def test_grouping_helper_uses_configured_labels(tmp_path):
    write(tmp_path, "labels: {model: model_name, version: model_version, cluster: region}\n")
    cfg = mc.load_config(root=tmp_path)
    # the cluster label first: every aggregation keeps it (docs/scale-out.md)
    assert cfg.by("job", version=True) == "region, job, model_name, model_version"
    assert cfg.by("le") == "region, le, model_name"
    assert cfg.keep(model=False) == ("region",)
    # group_left / ignoring lists must not name a matching label
    assert cfg.by("job", version=True, cluster=False) == "job, model_name, model_version"
    assert cfg.keep(model=False, cluster=False) == ()


def test_shipped_schema_is_generated_from_the_defaults():
    """One fact, one place: the committed schema is what `python -m ml_monitoring.config schema` prints."""
    shipped = json.loads(mc.SCHEMA_FILE.read_text())
    regenerate = "python -m ml_monitoring.config schema > ml_monitoring/monitoring.schema.json"
    assert shipped == mc.json_schema(), f"run: {regenerate}"
    assert set(shipped["properties"]["thresholds"]["properties"]) == set(mc.THRESHOLDS)
    assert set(shipped["properties"]["alerts"]["properties"]) == set(mc.ALERTS)


def test_schema_validates_with_check_jsonschema_style_validator():
    import jsonschema

    schema = json.loads(mc.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(yaml.safe_load("labels: {model: m}\nstacks: [kserve]\n")))
    assert list(validator.iter_errors({"labels": {"model": "m-1"}}))


def test_schema_ships_as_package_data():
    text = (REPO / "pyproject.toml").read_text()
    assert 'ml_monitoring = ["*.schema.json"]' in text
    assert '"ml_monitoring*"' in text


def test_cli_check_is_one_line_and_exit_2(tmp_path):
    path = write(tmp_path, "thresholds: {nope: 1}\n")
    proc = subprocess.run([sys.executable, "-m", "ml_monitoring.config", "check", str(path)],
                          capture_output=True, text=True, cwd=REPO,
                          env={k: v for k, v in os.environ.items() if k != mc.ENV_VAR})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "thresholds.nope: unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_docs_config_explains_every_key():
    doc = (REPO / "docs" / "config.md").read_text()
    keys = (set(mc.json_schema()["properties"]) | set(mc.LABELS) | set(mc.SELECTORS)
            | set(mc.THRESHOLDS) | set(mc.ALERTS) | {"pod"})
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert missing == []
    for stack in mc.STACKS:
        assert f"`{stack}`" in doc


def test_repository_monitoring_yaml_is_valid_and_the_defaults():
    cfg = mc.load_config(REPO / "monitoring.yaml")
    assert cfg.labels == mc.Labels() and dict(cfg.thresholds) == dict(mc.MonitoringConfig().thresholds)


def test_metrics_contract_uses_the_default_names_config_renames(tmp_path):
    """docs/metrics.md names labels as the contract does; every configurable one is used there,
    and `python -m ml_monitoring.config labels` shows what a monitoring.yaml renames them to."""
    from grafana_sync.lint.contract import parse_contract_labels

    used = set().union(*parse_contract_labels((REPO / "docs" / "metrics.md").read_text()).values())
    assert {"model", "version", "feature", "attribute", "group", "namespace", "pod"} <= used
    assert "monitoring.yaml" in (REPO / "docs" / "metrics.md").read_text()
    config = write(tmp_path, "labels: {model: model_name, pod: [k8s_namespace, k8s_pod]}\n")
    proc = subprocess.run([sys.executable, "-m", "ml_monitoring.config", "labels"], capture_output=True,
                          text=True, cwd=REPO, env={**os.environ, mc.ENV_VAR: str(config)})
    assert proc.returncode == 0
    assert "| `model` | `model_name` |" in proc.stdout and "| `pod` | `k8s_pod` |" in proc.stdout
    assert mc.contract_label_map.__name__ and "| `version` | `version` |" in proc.stdout


def test_a_stack_without_its_adapter_module_is_one_line(tmp_path):
    import shutil

    project = tmp_path / "project"
    (project / "dashboards").mkdir(parents=True)
    shutil.copytree(REPO / "rules", project / "rules", ignore=shutil.ignore_patterns(
        "stack_tgi.py", "__pycache__"))
    config = write(tmp_path, "stacks: [contract, tgi]\n")
    proc = subprocess.run([sys.executable, "-m", "grafana_sync", "build", "--check"], cwd=project,
                          capture_output=True, text=True, env={**os.environ, mc.ENV_VAR: str(config)})
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: {config}: stacks: no adapter module for tgi (expected rules/stack_tgi.py)",
        "build failed: 1 error(s); nothing written"]

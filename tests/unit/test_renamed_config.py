"""A renamed monitoring.yaml drives dashboards AND rules: no old label name survives compilation.

The "Done when" setup of issue #13 (model -> model_name, version -> model_version, feature ->
input_name, the serving selector job="model-serving", two thresholds changed), built into a temp
folder from this repository's modules, then every compiled query and rule expression is parsed and
walked: no `by`/`on`/`ignoring`/`group_left` clause and no matcher uses an old name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from grafana_sync.macros import substitute_macros

REPO = Path(__file__).resolve().parents[2]

RENAMED = """
labels:
  model: model_name
  version: model_version
  feature: input_name
selectors:
  serving: 'job="model-serving"'
thresholds:
  error_ratio_crit: 0.08
  latency_p95_warn_seconds: 0.3
"""
OLD = {"model", "version", "feature"}


def build_with(config_text: str, tmp: Path) -> Path:
    """Compile this repository's dashboards and rules with `config_text` into `tmp`."""
    (tmp / "monitoring.yaml").write_text(config_text)
    env = {**os.environ, "MONITORING_CONFIG": str(tmp / "monitoring.yaml"), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "grafana_sync", "build", "--output-dir", str(tmp / "dashboards"),
         "--rules-output-dir", str(tmp / "rules"), "--rules-tests-dir", str(tmp / "tests")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return tmp


def label_uses(expr: str) -> set[str]:
    """Every label name a PromQL expression groups, matches or filters on."""
    used: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            used.update(m.name for m in node.matchers.matchers)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            used.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            matching = node.modifier.matching
            if matching is not None:
                used.update(matching.labels)
            used.update(node.modifier.group_labels or [])

    promql_parser.walk(promql_parser.parse(expr), visit)
    return used - {"__name__"}


def rule_exprs(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                key = rule.get("record") or f"{rule['alert']}/{rule['labels']['severity']}"
                out[key] = rule["expr"]
    return out


def dashboard_exprs(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*.json")):
        dash = json.loads(path.read_text())
        panels = [p for top in dash["panels"] for p in (top, *top.get("panels", []))]
        for panel in panels:
            for target in panel.get("targets", []):
                out[f"{dash['uid']}/{panel['title']}/{target['refId']}"] = target["expr"]
        for var in dash["templating"]["list"]:
            if var["type"] == "query":
                query = var["query"] if isinstance(var["query"], str) else var["query"]["query"]
                out[f"{dash['uid']}/${var['name']}"] = query
    return out


@pytest.fixture(scope="module")
def renamed(tmp_path_factory) -> Path:
    return build_with(RENAMED, tmp_path_factory.mktemp("renamed"))


def test_no_compiled_rule_uses_an_old_label_name(renamed: Path) -> None:
    exprs = rule_exprs(renamed / "rules")
    assert len(exprs) > 40
    bad = {name: sorted(label_uses(e) & OLD) for name, e in exprs.items() if label_uses(e) & OLD}
    assert bad == {}
    assert any("model_name" in label_uses(e) for e in exprs.values())


def test_no_compiled_query_uses_an_old_label_name(renamed: Path) -> None:
    exprs = dashboard_exprs(renamed / "dashboards")
    assert len(exprs) > 100
    bad = {}
    for where, expr in exprs.items():
        if expr.startswith("label_values("):
            label = expr.rsplit(",", 1)[-1].strip(" )")
            if label in OLD:
                bad[where] = label
            continue
        used = label_uses(substitute_macros(expr, {}, rate_interval="1m", range_="1h")) & OLD
        if used:
            bad[where] = sorted(used)
    assert bad == {}


def test_annotations_template_the_renamed_labels(renamed: Path) -> None:
    text = "".join(p.read_text() for p in (renamed / "rules").glob("*.yml"))
    assert "{{ $labels.model_name }}" in text
    assert "$labels.model }}" not in text and "$labels.version }}" not in text
    assert "$labels.feature }}" not in text


def test_selector_and_thresholds_reach_the_rules(renamed: Path) -> None:
    exprs = rule_exprs(renamed / "rules")
    requests = exprs["model_version:ml_inference_requests:rate5m"]
    assert 'ml_inference_requests_total{job="model-serving"}' in requests
    assert exprs["MLErrorRatioHigh/critical"].split("\n")[0].endswith("> 0.08")  # 5m window
    assert "\n  > 0.08 + 3 * sqrt(" in exprs["MLErrorRatioHigh/critical"]  # 1h window, noise margin
    assert exprs["MLLatencySLOBreach/warning"].rstrip().endswith("> 0.3")
    down = exprs["MLModelTargetDown/critical"]
    assert down.count('(up{job="model-serving"} == 0)') == 2  # with the model joined, and without
    info = 'max by (cluster, job, instance, model_name) (last_over_time(ml_model_info{job="model-serving"}'
    assert info in down


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool not found")
        pytest.skip("promtool not found (apt-get install prometheus)")
    return path


@pytest.mark.integration
def test_promtool_accepts_the_renamed_rules(renamed: Path) -> None:
    files = sorted(str(p) for p in (renamed / "rules").glob("*.yml"))
    proc = subprocess.run([promtool(), "check", "rules", *files], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.integration
def test_promtool_tests_follow_the_renamed_config(renamed: Path) -> None:
    """The generated unit tests use the new names and thresholds, and pass against the new rules."""
    tests = sorted(p.name for p in (renamed / "tests").glob("*_test.yml"))
    assert tests == ["alerts_test.yml", "llm_test.yml", "recording_test.yml"]
    text = (renamed / "tests" / "alerts_test.yml").read_text()
    assert 'model_name="churn"' in text and 'job="model-serving"' in text
    assert 'model="churn"' not in text and 'job="ml-model"' not in text
    assert "critical above 8%" in text and "SLO: p95 at most 300ms" in text
    proc = subprocess.run([promtool(), "test", "rules", *tests], capture_output=True, text=True,
                          timeout=120, cwd=renamed / "tests")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == 3


@pytest.mark.integration
@pytest.mark.parametrize("config", [
    # other renames, other thresholds and windows, a regex selector, an alert switched off
    "labels: {model: svc, version: rev, feature: col, attribute: attr, group: grp}\n"
    "selectors: {serving: 'job=~\"serving|canary\"', evaluation: 'job=\"batch-eval\"'}\n"
    "thresholds: {error_ratio_warn: 0.002, error_ratio_crit: 0.3, latency_p95_warn_seconds: 1,\n"
    "  latency_p95_crit_seconds: 4, quality_drop_crit: 0.2, concept_drift_z: 5, drifted_share_crit: 0.6,\n"
    "  evaluation_missed_runs_crit: 3, budget_burn_crit: 2, gpu_memory_warn: 0.7, gpu_memory_crit: 0.8,\n"
    "  audit_coverage_min: 0.5,\n"
    "  spd_fair_bound: 0.3, dir_fair_lower: 0.5, dir_fair_upper: 2}\n"
    "alerts: {MLCostOverBudget: {for: 1h, severity: critical}, MLAuditLogGap: {enabled: false},\n"
    "  MLErrorRatioHigh: {for: 2m}}\n",
    # the LLM alerts' cases follow their config too: windows, severity, a level or an alert off
    "thresholds: {llm_queue_waiting_max: 20, llm_kv_cache_usage_crit: 0.97, llm_eval_score_min: 0.7}\n"
    "alerts: {LLMTTFTErrorBudgetBurn: {for: 10m}, LLMQueueGrowing: {for: 15m},\n"
    "  LLMKVCacheSaturated: {severity: critical}, LLMPreemptionBurst: {enabled: false},\n"
    "  LLMEvaluationScoreLow: {for: 1h}, MLAuditLogGap: {enabled: false}}\n",
])
def test_promtool_tests_pass_under_other_configs(tmp_path: Path, config: str) -> None:
    built = build_with(config, tmp_path)
    tests = sorted(p.name for p in (built / "tests").glob("*_test.yml"))
    proc = subprocess.run([promtool(), "test", "rules", *tests], capture_output=True, text=True,
                          timeout=120, cwd=built / "tests")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    rules = (built / "rules" / "alerts.yml").read_text()
    assert "MLAuditLogGap" not in rules and "severity: critical" in rules
    switched_off = [name for name, over in yaml.safe_load(config)["alerts"].items()
                    if over.get("enabled") is False]
    defined = "".join(p.read_text() for p in (built / "rules").glob("*.yml"))
    expected_to_fire = {check["alertname"] for p in (built / "tests").glob("*_test.yml")
                        for case in yaml.safe_load(p.read_text())["tests"]
                        for check in case.get("alert_rule_test", []) if check["exp_alerts"]}
    assert switched_off and {"LLMQueueGrowing", "MLCostOverBudget"} <= expected_to_fire
    for name in switched_off:
        assert name not in defined and name not in expected_to_fire, name


def test_an_area_switched_off_is_not_built(tmp_path: Path) -> None:
    built = build_with("areas: {fairness: false}\n", tmp_path)
    uids = {p.stem for p in (built / "dashboards").rglob("*.json")}
    assert "ml-fairness" not in uids and {"ml-overview", "ml-drift"} <= uids

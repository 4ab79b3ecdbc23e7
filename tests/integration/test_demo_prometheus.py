"""The demo against its contract and a real Prometheus (tests/promharness.py)."""

from __future__ import annotations

import re
import time

import pytest

from demo.contract import (
    NOT_IN_DEMO_SECTION,
    compare_exposition,
    exposition_families,
    load_contract,
)
from demo.llm import LLM_MODELS
from demo.scenario import SCENARIOS
from tests import promharness as harness
from tests.promharness import DEMO_JOB, NODE_JOB, require_binary, run_stack

pytestmark = pytest.mark.integration

TARGET_LABELS = {"job", "instance", "__name__"}
PUSHGATEWAY_METRICS = {"push_time_seconds", "push_failure_time_seconds"}


def wait_for_full_exposition(stack, names: set[str], timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while True:
        seen = exposition_families(stack.demo_metrics_text())
        missing = {n for n in names if not seen.get(n, ("", []))[1]}
        if not missing:
            return seen
        if time.monotonic() > deadline:
            pytest.fail(f"demo never emitted (after {timeout:g}s): {sorted(missing)}")
        time.sleep(1.0)


def test_prometheus_scrapes_demo_and_node_exporter(prometheus_demo):
    up = {r["metric"]["job"]: r["value"][1] for r in prometheus_demo.query("up")}
    assert up[DEMO_JOB] == "1"
    assert set(up) >= set(prometheus_demo.jobs)
    assert all(v == "1" for v in up.values()), up


def test_demo_emits_the_contract_in_both_directions(prometheus_demo):
    contract = {n: s for n, s in load_contract().items() if s.emitted_by_demo}
    wait_for_full_exposition(prometheus_demo, set(contract))
    problems = compare_exposition(prometheus_demo.demo_metrics_text(), contract)
    assert not problems, "\n".join(problems)


def test_every_contract_metric_reaches_prometheus(prometheus_demo):
    contract = load_contract()
    wanted = {}
    for name, spec in contract.items():
        if name in PUSHGATEWAY_METRICS:
            continue  # only with a Pushgateway: see test_batch_evaluation_through_pushgateway
        if spec.section == NOT_IN_DEMO_SECTION and NODE_JOB not in prometheus_demo.jobs:
            continue
        wanted[name + "_bucket" if spec.type == "histogram" else name] = spec
    wait_for_full_exposition(prometheus_demo, {n for n, s in load_contract().items()
                                               if s.emitted_by_demo})
    prometheus_demo.wait_for_sim_time(prometheus_demo.sim_time() + 2 * prometheus_demo.speed)
    stored = {r["metric"]["__name__"] for r in prometheus_demo.query(
        f'count by (__name__) ({{job=~"{DEMO_JOB}|{NODE_JOB}"}})')}
    missing = sorted(set(wanted) - stored)
    assert not missing, f"not in Prometheus: {missing}"
    # real node_exporter series carry the labels the contract lists
    for name, spec in wanted.items():
        if spec.section != NOT_IN_DEMO_SECTION:
            continue
        series = prometheus_demo.query(f"{name}")
        assert series, name
        assert set(series[0]["metric"]) - TARGET_LABELS == set(spec.labels), name


def _threshold(stack, method: str) -> float:
    res = stack.query(f'max(ml_feature_drift_threshold{{method="{method}"}})')
    return float(res[0]["value"][1])


def test_drift_incident_moves_only_the_drifted_feature(prometheus_demo):
    stack = prometheus_demo
    inc = stack.wait_for_incident("feature_drift", timeout=120)
    stack.wait_for_sim_time(inc.start + 400, timeout=120)  # window refilled with drifted rows
    incident_wall = stack.sim_to_wall(inc.start)
    now = time.time()
    drifted = (inc.model, inc.params["feature"])
    step = max(1.0, (now - stack.demo_started_at) / 5000)  # stay under Prometheus' 11k points
    series = stack.query_range("ml_feature_drift_score", stack.demo_started_at, now, step=step)
    assert series
    checked_before = checked_after = 0
    for s in series:
        m = s["metric"]
        threshold = _threshold(stack, m["method"])
        values = [(float(t), float(v)) for t, v in s["values"]]
        if (m["model"], m["feature"]) == drifted:
            before = [v for t, v in values if t < incident_wall]
            assert before and max(before) < threshold, (m, before[-3:])
            assert values[-1][1] >= threshold, (m, values[-3:])
            checked_before += 1
            checked_after += 1
        else:
            assert max(v for _, v in values) < threshold, (m, max(v for _, v in values))
    assert checked_before == checked_after == 3  # psi, ks, jensenshannon
    detected = stack.query('ml_feature_drift_detected{method="psi"} == 1')
    assert {(r["metric"]["model"], r["metric"]["feature"]) for r in detected} == {drifted}


def test_accuracy_drop_shows_in_computed_accuracy(prometheus_demo):
    stack = prometheus_demo
    inc = stack.wait_for_incident("accuracy_drop", timeout=120)
    stack.wait_for_sim_time(inc.start + 900, timeout=120)  # labels arrived, window refilled
    sel = f'{{model="{inc.model}",version="v1",metric="accuracy"}}'
    baseline = float(stack.query(f"ml_model_baseline_quality_ratio{sel}")[0]["value"][1])
    now = time.time()
    series = stack.query_range(f"ml_model_quality_ratio{sel}", stack.demo_started_at, now,
                               step=max(1.0, (now - stack.demo_started_at) / 5000))
    values = [(float(t), float(v)) for t, v in series[0]["values"]]
    before = [v for t, v in values if t < stack.sim_to_wall(inc.start)]
    assert before and min(before) > baseline - 0.06
    assert values[-1][1] < baseline - 0.2, (baseline, values[-1])
    delta = stack.query(f"ml_model_quality_ratio{sel} - ml_model_baseline_quality_ratio{sel}")
    assert float(delta[0]["value"][1]) < -0.2
    concept = stack.query(f'ml_concept_drift_detected{{model="{inc.model}",version="v1"}}')
    assert concept[0]["value"][1] == "1"


def test_grafana_expressions_evaluate(prometheus_demo):
    expr = ('sum by (model) (rate(ml_predictions_total{model=~"$model",version=~"$version"}'
            '[$__rate_interval]))')
    assert "$" not in prometheus_demo.grafana_expr(expr)
    result = prometheus_demo.wait_for(prometheus_demo.grafana_expr(expr),
                                      predicate=lambda r: len(r) == 2)
    assert {r["metric"]["model"] for r in result} == {"cancer-screening", "wine-cultivar"}
    assert all(float(r["value"][1]) > 0 for r in result)
    one = prometheus_demo.grafana_query(expr, {"model": "wine-cultivar"})
    assert [r["metric"]["model"] for r in one] == ["wine-cultivar"]


def test_version_rollout_and_deploy_annotation(prometheus_demo):
    stack = prometheus_demo
    inc = stack.wait_for_incident("version_rollout", timeout=120)
    version = inc.params["version"]
    stack.wait_for_sim_time(inc.start + 600 + 60, timeout=120)
    share = stack.query(f'ml_model_traffic_share_ratio{{model="{inc.model}",version="{version}"}}')
    assert float(share[0]["value"][1]) == pytest.approx(0.5)
    deployed = stack.query(
        f'ml_model_deployed_timestamp_seconds{{model="{inc.model}",version="{version}"}}')
    assert float(deployed[0]["value"][1]) == pytest.approx(stack.sim_to_wall(inc.start), abs=3)
    info = stack.query(f'ml_model_info{{model="{inc.model}",version="{version}"}}')
    assert info[0]["metric"]["stage"] == "canary"


def test_batch_evaluation_through_pushgateway():
    """Pushed with the grouping key `model`; a failed run keeps the last good scores."""
    prom = require_binary("prometheus")
    require_binary("prometheus-pushgateway")
    stale = SCENARIOS["ci"].incident("evaluation_stale").model
    with run_stack(speed=600, scenario="ci", rule_files=[], node_exporter=False,
                   pushgateway=True, prometheus_bin=prom) as stack:
        procs = list(stack._procs)
        classic = {"cancer-screening", "wine-cultivar"}  # (the LLM models push their own)
        result = stack.wait_for(
            'ml_evaluation_last_success_timestamp_seconds{job="ml_evaluation"}',
            predicate=lambda r: classic <= {x["metric"]["model"] for x in r})
        assert classic <= {r["metric"]["model"] for r in result}
        assert stack.wait_for('push_time_seconds{job="ml_evaluation"}')
        failed = stack.wait_for(
            f'ml_evaluation_last_failure_timestamp_seconds{{model="{stale}"}}'
            f' > ml_evaluation_last_success_timestamp_seconds{{model="{stale}"}}', timeout=30)
        assert failed
        kept = stack.query(f'ml_evaluation_quality_ratio{{model="{stale}",metric="accuracy"}}')
        assert kept, "a failed run must not wipe the last good scores"
        healthy = stack.query('ml_evaluation_last_failure_timestamp_seconds'
                              f'{{model!="{stale}"}}')
        assert healthy and all(r["value"][1] == "0" for r in healthy)
        text = stack.demo_metrics_text()
        assert "ml_evaluation_" not in text  # pushed, not exposed twice
    assert all(p.popen.poll() is not None for p in procs)  # nothing left running


def test_harness_reports_a_bad_rule_file_and_leaves_nothing_running(tmp_path, monkeypatch):
    prom = require_binary("prometheus")
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - record: a:b\n        expr: sum(\n")
    started = []
    original = harness._spawn

    def spawn(*args, **kwargs):
        started.append(original(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(harness, "_spawn", spawn)
    with pytest.raises(harness.HarnessError, match="prometheus exited") as err:
        with run_stack(rule_files=[bad], node_exporter=False, prometheus_bin=prom):
            pass
    assert "bad.yml" in str(err.value)  # Prometheus's own message is passed on
    assert [p.name for p in started] == ["demo", "prometheus"]
    assert all(p.popen.poll() is not None for p in started)


def test_documented_promql_returns_data_for_every_model(prometheus_demo, repo_root):
    text = (repo_root / "docs" / "metrics.md").read_text()
    blocks = re.findall(r"```promql\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    models = {"cancer-screening", "wine-cultivar", *LLM_MODELS}  # LLM pods cost money too
    for expr in blocks:
        result = prometheus_demo.wait_for(expr, predicate=lambda r: len(r) == len(models))
        assert {r["metric"]["model"] for r in result} == models
        assert all(float(r["value"][1]) > 0 for r in result), (expr, result)

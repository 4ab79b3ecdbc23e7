"""Each lint rule: a minimal dashboard that breaks it gives exactly that finding; one that passes.

The base is tests/fixtures/lint/clean-dashboard.json, which every rule accepts (checked first).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.lint import RULES, LintOptions, run_lint
from grafana_sync.lint.registry import RULES_BY_NAME

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
CLEAN = json.loads((FIXTURES / "clean-dashboard.json").read_text(encoding="utf-8"))
# target-job-rule / target-instance-rule ask every selector for job=~"$job"/instance=~"$instance":
# the clean fixture (like this project's dashboards) does not filter on scrape topology, so they
# have their own tests (tests/unit/test_lint_upstream.py, test_target_job_instance_rules_*).
MATCHER_RULES = {"target-job-rule", "target-instance-rule"}
ALL_RULES = [r.name for r in RULES if r.name not in MATCHER_RULES]


def clean() -> dict[str, Any]:
    return copy.deepcopy(CLEAN)


def lint(tmp_path: Path, *dashboards: dict[str, Any], **options: Any):
    """Write the dashboards to tmp_path and lint them with every rule enabled."""
    paths = []
    for i, dash in enumerate(dashboards):
        path = tmp_path / f"d{i}.json"
        path.write_text(json.dumps(dash), encoding="utf-8")
        paths.append(path)
    options.setdefault("enable", ALL_RULES)
    return run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "out", paths=paths, **options))


def panel(dash: dict[str, Any], pid: int) -> dict[str, Any]:
    return next(p for p in dash["panels"] if p.get("id") == pid)


def var(dash: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in dash["templating"]["list"] if v["name"] == name)


def set_expr(expr: str, pid: int = 2, idx: int = 0) -> Callable[[dict[str, Any]], None]:
    def mutate(dash: dict[str, Any]) -> None:
        panel(dash, pid)["targets"][idx]["expr"] = expr
    return mutate


def with_job_instance(dash: dict[str, Any]) -> None:
    for name in ("job", "instance"):
        dash["templating"]["list"].append({
            "name": name, "label": name.title(), "type": "query", "multi": True, "allValue": ".+",
            "datasource": {"type": "prometheus", "uid": "$datasource"}, "refresh": 2,
            "query": f"label_values(up, {name})",
        })


def test_clean_dashboard_passes_every_rule(tmp_path: Path) -> None:
    dash = clean()
    with_job_instance(dash)
    result = lint(tmp_path, dash)
    assert result.findings == []
    assert result.dashboards == 1


def _mutations() -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    def drop_ds_var(d):
        d["templating"]["list"] = [v for v in d["templating"]["list"] if v["type"] != "datasource"]

    def rename_ds_var(d):
        var(d, "datasource")["name"] = "ds"
        for p in d["panels"]:
            if "datasource" in p:
                p["datasource"]["uid"] = "${ds}"
                for t in p["targets"]:
                    t["datasource"]["uid"] = "${ds}"

    def set_var(name, key, value):
        def mutate(d):
            if name in ("job", "instance"):
                with_job_instance(d)
            var(d, name)[key] = value
        return mutate

    def drop_var(name):
        def mutate(d):
            with_job_instance(d)
            d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != name]
        return mutate

    def set_panel(pid, key, value):
        def mutate(d):
            panel(d, pid)[key] = value
        return mutate

    def set_unit(value):
        def mutate(d):
            panel(d, 2)["fieldConfig"]["defaults"]["unit"] = value
        return mutate

    def drop_unit(d):
        del panel(d, 2)["fieldConfig"]["defaults"]["unit"]

    def target_ds(d):
        panel(d, 2)["targets"][0]["datasource"] = {"type": "prometheus", "uid": "abc123"}

    def annotation(expr):
        def mutate(d):
            d["annotations"]["list"][1]["expr"] = expr
        return mutate

    def overlap(d):
        panel(d, 3)["gridPos"] = {"h": 8, "w": 12, "x": 6, "y": 1}

    def steps(values):
        def mutate(d):
            panel(d, 2)["fieldConfig"]["defaults"]["thresholds"]["steps"] = [
                {"color": "green", "value": v} for v in values]
        return mutate

    return [
        ("template-datasource-rule", drop_ds_var),
        ("template-datasource-rule", rename_ds_var),
        ("template-datasource-rule", set_var("datasource", "label", "Prometheus server")),
        ("template-job-rule", drop_var("job")),
        ("template-job-rule", set_var("job", "allValue", ".*")),
        ("template-instance-rule", drop_var("instance")),
        ("template-instance-rule", set_var("instance", "multi", False)),
        ("template-label-promql-rule", set_var("model", "query", "label_values(up{, model)")),
        ("template-label-promql-rule", set_var("model", "query", "foo(up, model)")),
        ("template-on-time-change-reload-rule", set_var("model", "refresh", 1)),
        ("panel-datasource-rule", set_panel(2, "datasource", {"type": "prometheus", "uid": "P1"})),
        ("panel-datasource-rule", target_ds),
        ("panel-title-description-rule", set_panel(2, "description", "")),
        ("panel-title-description-rule", set_panel(3, "title", "")),
        ("panel-units-rule", drop_unit),
        ("panel-units-rule", set_unit("milliseconds")),
        ("panel-no-targets-rule", set_panel(2, "targets", [])),
        ("target-promql-rule", set_expr("sum(rate(demo_requests_total[$__rate_interval])")),
        ("target-promql-rule", set_expr("")),
        ("target-promql-rule", annotation("changes(demo_deployed_timestamp_seconds[1m] > 0")),
        ("target-promql-rule", set_panel(3, "targets", [  # reuses the query of a missing panel
            {"refId": "A", "panelId": 42,
             "datasource": {"type": "datasource", "uid": "-- Dashboard --"}}])),
        ("target-rate-interval-rule", set_expr("sum(rate(demo_requests_total[5m]))")),
        ("target-rate-interval-rule", annotation("rate(demo_requests_total[10m]) > 0")),
        ("target-rate-interval-rule", set_expr("sum(increase(demo_requests_total[1h]))")),
        ("target-counter-agg-rule", set_expr("sum(demo_requests_total)")),
        ("target-counter-agg-rule",
         set_expr("sum(delta(demo_requests_total[$__rate_interval]))")),
        # count() over a raw counter: dashboard-linter reports it too (docs/lint.md)
        ("target-counter-agg-rule", set_expr(
            "demo_load / on (instance) count by (instance) (demo_cpu_seconds_total{mode=\"idle\"})")),
        ("uneditable-dashboard", lambda d: d.update(editable=True)),
        ("dashboard-uid-rule", lambda d: d.update(uid="has spaces")),
        ("dashboard-uid-rule", lambda d: d.pop("uid")),
        ("panel-id-rule", set_panel(3, "id", 2)),
        ("panel-id-rule", lambda d: panel(d, 3).pop("id")),
        ("panel-gridpos-rule", overlap),
        ("panel-gridpos-rule", set_panel(3, "gridPos", {"h": 8, "w": 14, "x": 12, "y": 1})),
        ("panel-gridpos-rule", lambda d: panel(d, 3).pop("gridPos")),
        ("panel-no-angular-rule", set_panel(2, "type", "graph")),
        ("target-histogram-le-rule", set_expr(
            "histogram_quantile(0.99, sum by (model) (rate(demo_latency_seconds_bucket"
            "[$__rate_interval])))", pid=3)),
        ("target-histogram-le-rule", set_expr(
            "histogram_quantile(0.9, sum(rate(demo_latency_seconds_bucket[$__rate_interval])))",
            pid=3)),
        ("panel-thresholds-rule", steps([None, 200, 100])),
        ("panel-thresholds-rule", steps([None, 100, None])),
        ("panel-thresholds-rule", steps(["null", 100])),  # grafanalib's string "null"
        ("dashboard-uid-rule", lambda d: d.update(uid="abc\n")),  # `$` would match before \n
        ("json-finite-numbers-rule", set_panel(3, "maxDataPoints", float("nan"))),
        ("json-finite-numbers-rule", lambda d: d.update(weight=float("-inf"))),
        ("panel-object-rule", lambda d: d["panels"].append(None)),
        ("panel-object-rule", lambda d: d["panels"].insert(0, "x")),
    ]


@pytest.mark.parametrize(("rule", "mutate"), _mutations(),
                         ids=[f"{r}-{i}" for i, (r, _) in enumerate(_mutations())])
def test_violation_gives_exactly_that_finding(tmp_path: Path, rule: str, mutate) -> None:
    dash = clean()
    if rule not in ("template-job-rule", "template-instance-rule"):
        with_job_instance(dash)
    mutate(dash)
    result = lint(tmp_path, dash)
    assert [f.rule for f in result.findings] == [rule], [f.message for f in result.findings]
    finding = result.findings[0]
    assert finding.severity == RULES_BY_NAME[rule].severity or finding.severity == "warning"
    assert finding.file.endswith("d0.json")


def test_every_rule_has_a_violation_test() -> None:
    # the contract rules have their violation tests with a contract: tests/unit/test_lint_contract.py,
    # tests/unit/test_lint_labels.py
    assert {r for r, _ in _mutations()} == set(ALL_RULES) - {"metric-contract-rule",
                                                             "target-label-propagation-rule"}


def test_finding_carries_panel_and_target(tmp_path: Path) -> None:
    dash = clean()
    panel(dash, 3)["targets"][1]["expr"] = "rate(demo_requests_total[5m])"
    [finding] = lint(tmp_path, dash, enable=[]).findings
    assert (finding.rule, finding.panel_id, finding.panel_title, finding.ref_id,
            finding.target_index, finding.dashboard_uid) == (
        "target-rate-interval-rule", 3, "p99 latency", "B", 1, "lint-example")


def test_acceptance_rate_5m_and_no_unit_gives_exactly_two_findings(tmp_path: Path) -> None:
    dash = clean()
    p = panel(dash, 2)
    p["targets"][0]["expr"] = "rate(x[5m])"
    del p["fieldConfig"]["defaults"]["unit"]
    result = lint(tmp_path, dash, enable=[])
    assert sorted(f.rule for f in result.findings) == ["panel-units-rule",
                                                       "target-rate-interval-rule"]
    assert result.errors == 2


@pytest.mark.parametrize("mutate", [
    set_expr("sum(increase(demo_requests_total[$__range]))"),
    set_expr("sum(irate(demo_requests_total[$__rate_interval])) * 60"),
    lambda d: d["templating"]["list"].append({"name": "n", "type": "custom", "query": "5,10",
                                              "current": {"text": "5", "value": "5"}}) or
    set_expr("topk($n, demo_queue_length)")(d),
    set_expr("demo_queue_length{model=~\"${model:regex}\"} @ ${__to:date:seconds}"),
    set_expr("histogram_quantile(0.9, sum(rate(demo_native_seconds[$__rate_interval])))", pid=3),
    set_expr("histogram_quantile(0.9, sum without (pod) (rate(demo_latency_seconds_bucket"
             "[$__rate_interval])))", pid=3),
    set_expr("count(sum by (model) (rate(demo_requests_total[$__rate_interval])))"),
    set_expr("absent(demo_requests_total{model=\"a\"})"),
    set_expr("sum(resets(demo_requests_total[$__range]))"),
    set_expr("holt_winters(demo_queue_length[$__rate_interval], 0.5, 0.5)"),
    lambda d: panel(d, 2)["fieldConfig"]["defaults"].update(unit="suffix: preds"),
    lambda d: panel(d, 2)["fieldConfig"]["defaults"].update(
        unit=None, mappings=[{"type": "value", "options": {"1": {"text": "up"}}}]),
    lambda d: panel(d, 3)["options"]["reduceOptions"].update(fields="/^version$/") or
    panel(d, 3)["fieldConfig"]["defaults"].pop("unit"),
    lambda d: d["panels"].append({"id": 9, "type": "text", "title": "",
                                  "gridPos": {"h": 2, "w": 24, "x": 0, "y": 9},
                                  "options": {"content": "Read me"}}),
    lambda d: var(d, "model").update(query="query_result(topk(5, demo_requests_total))"),
    lambda d: var(d, "model").update(query="up{job=\"demo\"}"),
    lambda d: var(d, "model").update(
        query="label_values(demo_requests_total{env=~\"a,b\", version=~\"$version\"}, model)"),
    lambda d: d["templating"]["list"].append({"name": "window", "type": "interval",
                                              "current": {"value": "10m"}, "query": "1m,10m"}) or
    set_expr("sum(avg_over_time(demo_queue_length[$window]))")(d),
])
def test_valid_variants_pass(tmp_path: Path, mutate) -> None:
    dash = clean()
    mutate(dash)
    result = lint(tmp_path, dash, enable=[])
    assert result.findings == [], [(f.rule, f.message) for f in result.findings]


def test_loki_targets_are_not_checked_as_promql(tmp_path: Path) -> None:
    dash = clean()
    p = panel(dash, 2)
    p["targets"][0] = {"refId": "A", "expr": "sum(rate({app=\"x\"} |= \"err\" [5m]))",
                       "datasource": {"type": "loki", "uid": "${datasource}"}}
    dash["templating"]["list"].insert(1, {"name": "loki", "type": "datasource", "query": "loki"})
    result = lint(tmp_path, dash, enable=[],
                  disable=["template-datasource-rule", "panel-datasource-rule"])
    assert result.findings == []


def test_panels_in_collapsed_rows_are_linted(tmp_path: Path) -> None:
    dash = clean()
    inner = copy.deepcopy(panel(dash, 2))
    inner.update(id=11, gridPos={"h": 8, "w": 12, "x": 0, "y": 10})
    inner["fieldConfig"]["defaults"].pop("unit")
    dash["panels"].append({"id": 10, "type": "row", "title": "More", "collapsed": True,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": 9}, "panels": [inner]})
    result = lint(tmp_path, dash, enable=[])
    assert [(f.rule, f.panel_id) for f in result.findings] == [("panel-units-rule", 11)]


def test_duplicate_uid_across_files_reported_once(tmp_path: Path) -> None:
    result = lint(tmp_path, clean(), clean(), enable=[])
    assert [(f.rule, f.file.endswith("d1.json")) for f in result.findings] == [
        ("dashboard-uid-rule", True)]
    assert "d0.json" in result.findings[0].message


def test_off_by_default_rules_need_enable(tmp_path: Path) -> None:
    assert not RULES_BY_NAME["template-job-rule"].enabled_by_default
    assert not RULES_BY_NAME["template-instance-rule"].enabled_by_default
    assert lint(tmp_path, clean(), enable=[]).findings == []
    rules = sorted(f.rule for f in lint(tmp_path, clean(), enable=["template-job-rule"]).findings)
    assert rules == ["template-job-rule"]


def test_legacy_rows_panels_are_linted(tmp_path: Path) -> None:
    dash = clean()
    legacy = copy.deepcopy(panel(dash, 2))
    legacy.update(id=20, type="graph")
    dash["rows"] = [{"title": "old", "panels": [legacy]}]
    result = lint(tmp_path, dash, enable=[], disable=["panel-gridpos-rule"])
    assert [(f.rule, f.panel_id) for f in result.findings] == [("panel-no-angular-rule", 20)]


def test_datasource_name_and_label_both_wrong_give_both_findings(tmp_path: Path) -> None:
    dash = clean()
    var(dash, "datasource").update(name="ds", label="Prometheus server")
    for p in dash["panels"]:
        if "datasource" in p:
            p["datasource"]["uid"] = "${ds}"
            for t in p["targets"]:
                t["datasource"]["uid"] = "${ds}"
    result = lint(tmp_path, dash, enable=[])
    assert sorted((f.rule, f.severity, f.message.split(",")[0]) for f in result.findings) == [
        ("template-datasource-rule", "error", "datasource variable is named 'ds'"),
        ("template-datasource-rule", "warning",
         "datasource variable 'ds' is labelled 'Prometheus server'"),
    ]


@pytest.mark.parametrize(("legacy", "expected"), [
    ({"type": "graph", "yaxes": [{"format": "s", "show": True}, {"format": "short"}]}, []),
    ({"type": "graph", "yaxes": [{"format": "seconds"}, {"format": "short", "show": False}]},
     ["has an invalid unit 'seconds' (yaxes[0].format)"]),
    ({"type": "graph", "yaxes": [{"format": "s"}, {"format": "bogus", "show": False}]}, []),
    ({"type": "graph", "yaxes": []}, ["has no unit (fieldConfig.defaults.unit or yaxes[].format)"]),
    ({"type": "singlestat", "format": "percentunit"}, []),
    ({"type": "singlestat", "format": "pct"}, ["has an invalid unit 'pct' (format)"]),
    ({"type": "singlestat"}, ["has no unit (fieldConfig.defaults.unit or format)"]),
    ({"type": "singlestat", "valueMaps": [{"op": "=", "text": "UP", "value": "1"}],
      "mappingType": 1}, []),
])
def test_graph_and_singlestat_units_are_read_where_those_panels_keep_them(
        tmp_path: Path, legacy: dict[str, Any], expected: list[str]) -> None:
    dash = clean()
    p = panel(dash, 2)
    del p["fieldConfig"]["defaults"]["unit"]
    p.update(legacy)
    result = lint(tmp_path, dash, enable=[], disable=["panel-no-angular-rule"])
    assert [f.message for f in result.findings if f.rule == "panel-units-rule"] == expected


def test_stale_targets_of_a_text_panel_are_not_queries(tmp_path: Path) -> None:
    """Grafana keeps `targets` when a panel becomes a text panel, and never runs them."""
    dash = clean()
    dash["panels"].append({"id": 9, "type": "text", "title": "Notes",
                           "gridPos": {"h": 2, "w": 24, "x": 0, "y": 9},
                           "datasource": {"type": "prometheus", "uid": "${datasource}"},
                           "targets": [{"refId": "A", "datasource": {
                               "type": "prometheus", "uid": "${datasource}"}}],
                           "options": {"content": "Read me"}})
    assert lint(tmp_path, dash, enable=[]).findings == []


def test_target_job_and_instance_rules_when_enabled(tmp_path: Path) -> None:
    dash = clean()
    with_job_instance(dash)
    result = lint(tmp_path, dash, enable=["target-job-rule", "target-instance-rule"])
    by_rule = {}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)
    queries = sum(len(p.get("targets", [])) for p in dash["panels"]) + 1  # + the annotation
    assert len(by_rule["target-job-rule"]) == queries
    assert all("job selector not found" in f.message for f in by_rule["target-job-rule"])
    for p in dash["panels"]:
        for t in p.get("targets", []):
            t["expr"] = t["expr"].replace("{", '{job=~"$job", instance=~"$instance", ', 1) \
                if "{" in t["expr"] else t["expr"]
    dash["annotations"]["list"][1]["expr"] = dash["annotations"]["list"][1]["expr"].replace(
        "{", '{job=~"$job", instance=~"$instance", ', 1)
    result = lint(tmp_path, dash, enable=["target-job-rule", "target-instance-rule"])
    assert [(f.rule, f.message) for f in result.findings] == []

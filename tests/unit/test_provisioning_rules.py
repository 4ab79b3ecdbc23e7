"""Conventions of prometheus/rules and prometheus/alertmanager.yml that promtool does not check.

Recording rule names follow level:metric:operations and keep `job`, `model` and `version`;
every alert has a severity, a templated summary/description and a runbook_url whose anchor
exists in docs/runbooks.md; every alert has promtool unit tests that fire it and keep it
silent; the Alertmanager config routes by severity, inhibits warnings of a model under a
critical alert of the same model, and reads its secrets from files only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((REPO / "prometheus" / "rules").glob("*.yml"))
_GROUPS = [g for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"]]
# the recording rule groups (every compiled rule file: stack adapters, roll-ups, ...) and alerts
RECORDING = {"groups": [g for g in _GROUPS if all("record" in r for r in g["rules"])]}
ALERTS = {"groups": [g for g in _GROUPS if all("alert" in r for r in g["rules"])]}
# promtool test cases of every compiled test file (alerts_test.yml, llm_test.yml, ...)
ALERT_TESTS = {"tests": [case for f in sorted((REPO / "prometheus" / "tests").glob("*_test.yml"))
                         for case in yaml.safe_load(f.read_text()).get("tests", [])]}
ALERTMANAGER = yaml.safe_load((REPO / "prometheus" / "alertmanager.yml").read_text())
RUNBOOKS = (REPO / "docs" / "runbooks.md").read_text()
RUNBOOK_BASE = "https://github.com/your-org/ml-grafana-monitoring/blob/main/docs/runbooks.md"

ALERT_RULES = [r for g in ALERTS["groups"] for r in g["rules"]]
RECORD_RULES = [r for g in RECORDING["groups"] for r in g["rules"]]
# Recording rule groups that join series of several jobs (OpenCost x the model service, DCGM x
# the model service, node_exporter): `job` cannot be kept there (docs/alerts.md).
CROSS_JOB_GROUPS = {"ml-cost.rules", "ml-infra.rules"}
# Alerts whose value carries no information (always 0): their description need not show it.
VALUELESS_ALERTS = {"MLModelTargetDown", "MLNoPredictions", "MLModelJobAbsent", "MLModelStoppedReporting"}


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def runbook_anchors() -> set[str]:
    return {github_anchor(m) for m in re.findall(r"^## (.+)$", RUNBOOKS, re.M)}


# --- recording rules -----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RECORD_RULES, ids=lambda r: r["record"])
def test_recording_rule_name_is_level_metric_operations(rule):
    level, metric, operations = rule["record"].split(":")
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", level)
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]*", metric) and not metric.endswith("_total")
    assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", operations)


def test_recording_rules_keep_job_model_and_version_in_by():
    for group in RECORDING["groups"]:
        if group["name"] in CROSS_JOB_GROUPS:
            continue
        for rule in group["rules"]:
            for by in re.findall(r"\bby\s*\(([^)]*)\)", rule["expr"]):
                labels = {s.strip() for s in by.split(",")}
                assert "job" in labels, f"{rule['record']}: by ({by}) drops job"
                if rule["record"].startswith(("model:", "model_version", "model_le")):
                    assert "model" in labels, rule["record"]
                if rule["record"].startswith("model_version"):
                    assert "version" in labels, rule["record"]


def test_recording_rule_names_are_unique():
    names = [r["record"] for r in RECORD_RULES]
    assert len(names) == len(set(names))


# --- alert rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ALERT_RULES, ids=lambda r: f"{r['alert']}-{r['labels']['severity']}")
def test_alert_has_severity_templated_annotations_and_a_runbook(rule):
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    annotations = rule["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url"}
    assert "{{ $labels." in annotations["summary"]
    assert "{{ $labels." in annotations["description"]
    if rule["alert"] not in VALUELESS_ALERTS:
        assert "$value" in annotations["description"], rule["alert"]
    base, anchor = annotations["runbook_url"].split("#")
    assert base == RUNBOOK_BASE
    assert anchor == rule["alert"].lower()
    assert anchor in runbook_anchors(), f"docs/runbooks.md has no section {rule['alert']}"
    assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), f"{rule['alert']}: no `for`"


def test_every_runbook_section_belongs_to_an_alert():
    alerts = {r["alert"] for r in ALERT_RULES}
    sections = set(re.findall(r"^## (.+)$", RUNBOOKS, re.M))
    assert sections == alerts


def test_every_runbook_section_says_meaning_checks_and_dashboard():
    parts = re.split(r"^## ", RUNBOOKS, flags=re.M)[1:]
    for part in parts:
        title = part.splitlines()[0]
        for heading in ("**Meaning.**", "**First checks.**", "**Dashboard.**"):
            assert heading in part, f"runbook {title}: missing {heading}"


def test_same_alertname_differs_only_in_severity_and_threshold():
    by_name: dict[str, list[dict]] = {}
    for rule in ALERT_RULES:
        by_name.setdefault(rule["alert"], []).append(rule)
    for name, rules in by_name.items():
        severities = [r["labels"]["severity"] for r in rules]
        assert len(severities) == len(set(severities)), f"{name}: duplicate severity"


def test_every_alert_has_unit_tests_that_fire_it_and_keep_it_silent():
    fired: dict[str, set[str]] = {}
    silent_before_for: set[str] = set()
    for case in ALERT_TESTS["tests"]:
        for check in case.get("alert_rule_test", []):
            name = check["alertname"]
            if check.get("exp_alerts"):
                fired.setdefault(name, set()).update(
                    a["exp_labels"]["severity"] for a in check["exp_alerts"]
                )
            else:
                silent_before_for.add(name)
    for rule in ALERT_RULES:
        name, severity = rule["alert"], rule["labels"]["severity"]
        assert severity in fired.get(name, set()), f"no test fires {name} ({severity})"
        assert name in silent_before_for, f"no test checks {name} stays silent before `for`"


# --- Alertmanager --------------------------------------------------------------------------------


def test_alertmanager_routes_by_severity_with_grouping():
    route = ALERTMANAGER["route"]
    assert "model" in route["group_by"] and "alertname" in route["group_by"]
    by_severity = {}
    for child in route["routes"]:
        (matcher,) = child["matchers"]
        severity = re.fullmatch(r'severity="(\w+)"', matcher).group(1)
        by_severity.setdefault(severity, []).append(child["receiver"])
    assert set(by_severity) >= {"critical", "warning"}
    receivers = {r["name"]: r for r in ALERTMANAGER["receivers"]}
    assert any("pagerduty_configs" in receivers[r] for r in by_severity["critical"])
    assert any("slack_configs" in receivers[r] for r in by_severity["warning"])
    severities_used = {r["labels"]["severity"] for r in ALERT_RULES}
    assert severities_used <= set(by_severity)


def test_critical_inhibits_only_the_warning_of_the_same_alert():
    assert {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["alertname", "cluster", "model", "version"],
    } in ALERTMANAGER["inhibit_rules"]
    # no rule matching on the model alone (it hid drift/cost/fairness warnings behind a page)
    assert all(set(r["equal"]) != {"model"} for r in ALERTMANAGER["inhibit_rules"])


# LLM alerts computed from series the model-service target does not produce
LLM_NOT_FROM_THE_TARGET = {"LLMEvaluationScoreLow"}


def _target_down_rule() -> dict:
    (rule,) = [r for r in ALERTMANAGER["inhibit_rules"]
               if r["source_matchers"] == ['alertname="MLModelTargetDown"']]
    return rule


def test_target_down_inhibits_the_serving_alerts_of_its_model():
    rule = _target_down_rule()
    assert rule["equal"] == ["cluster", "model"]
    (matcher,) = rule["target_matchers"]
    targets = set(re.fullmatch(r'alertname=~"(.+)"', matcher).group(1).split("|"))
    serving = {r["alert"] for g in ALERTS["groups"] if g["name"] == "ml-serving.alerts"
               for r in g["rules"]} - {"MLModelTargetDown", "MLModelJobAbsent"}
    assert serving <= targets
    assert targets <= {r["alert"] for r in ALERT_RULES}, "inhibits an alert that does not exist"
    # the LLM models' serving alerts read the same target's series; their evaluation alert comes
    # from the batch job through the Pushgateway, which a dead serving target does not explain
    llm = {r["alert"] for g in ALERTS["groups"] if g["name"] == "ml-llm.alerts" for r in g["rules"]}
    assert llm & targets == llm - LLM_NOT_FROM_THE_TARGET
    assert LLM_NOT_FROM_THE_TARGET <= llm, "an LLM alert was renamed: update the list"
    # the source alert carries the model label it inhibits on
    (down,) = [r for r in ALERT_RULES if r["alert"] == "MLModelTargetDown"]
    assert "last_over_time(ml_model_info" in down["expr"] and "model" in down["expr"]
    # gauges from other sources are not explained by a dead serving target
    assert not targets & {"MLFeatureDrift", "MLCostOverBudget", "MLFairnessParityOutOfRange",
                          "MLEvaluationStale", "MLModelTargetDown"}


def test_receiver_secrets_are_read_from_files_never_inline():
    inline_secret_keys = {
        "api_url", "slack_api_url", "routing_key", "service_key", "auth_password",
        "bearer_token", "password", "api_key", "token",
    }

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                assert key not in inline_secret_keys, f"{where}.{key} is an inline secret"
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(ALERTMANAGER, "alertmanager.yml")
    receivers = {r["name"]: r for r in ALERTMANAGER["receivers"]}
    for receiver in receivers.values():
        for slack in receiver.get("slack_configs", []):
            assert slack["api_url_file"].startswith("/etc/alertmanager/secrets/")
        for pd in receiver.get("pagerduty_configs", []):
            assert pd["routing_key_file"].startswith("/etc/alertmanager/secrets/")

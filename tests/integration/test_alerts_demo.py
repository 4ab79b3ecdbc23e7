"""The alert rules against a real Prometheus scraping the demo through its incident schedule.

Uses the session stack of tests/promharness.py (`prometheus_demo`: the project's rule files,
1 s scrape/evaluation, `python -m demo --speed 60 --scenario ci`). In the `ci` scenario every
incident starts 10 simulated minutes (10 s) after start-up and stays; each hits one model and
the other model is the control. Alert `for` durations are real minutes, so within the test an
alert is "pending" (its condition holds) or already "firing": both count.
"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.integration

CANCER = "cancer-screening"
WINE = "wine-cultivar"
ACTIVE = {"pending", "firing"}

# incident kind -> the alerts it must raise: (alertname, severity, labels the alert must have)
EXPECTED = {
    "feature_drift": [
        ("MLFeatureDrift", "warning", {"model": CANCER, "feature": "mean_texture", "method": "psi"}),
    ],
    "latency_spike": [
        ("MLLatencySLOBreach", "critical", {"model": CANCER}),
        ("MLWorkersSaturated", "warning", {"model": CANCER}),
    ],
    "cost_jump": [("MLCostOverBudget", "warning", {"model": CANCER})],
    "fairness_gap": [
        ("MLFairnessParityOutOfRange", "warning", {"model": CANCER, "group": "65_plus"}),
        ("MLDisparateImpactOutOfRange", "warning", {"model": CANCER, "group": "65_plus"}),
    ],
    "accuracy_drop": [
        ("MLModelQualityBelowBaseline", "critical", {"model": WINE, "metric": "accuracy"}),
        ("MLConceptDrift", "warning", {"model": WINE}),
    ],
    "error_burst": [
        ("MLErrorRatioHigh", "critical", {"model": WINE}),
        ("MLAuditLogGap", "warning", {"model": WINE}),
    ],
    "evaluation_stale": [
        ("MLEvaluationStale", "warning", {"model": WINE}),
        ("MLEvaluationFailing", "warning", {"model": WINE}),
    ],
}
# Signals for which the other model is a clean control in the `ci` scenario (other incidents
# leave them alone): no such alert may be active for that model. Not every signal has one —
# feature drift lowers cancer-screening's accuracy too, and wine-cultivar's timeouts raise its
# latency.
MUST_STAY_SILENT = [
    ("MLFeatureDrift", None, WINE),
    ("MLErrorRatioHigh", "critical", CANCER),
    ("MLCostOverBudget", None, WINE),
    ("MLEvaluationStale", None, CANCER),
    ("MLEvaluationFailing", None, CANCER),
    ("MLModelTargetDown", None, None),
    ("MLNoPredictions", None, None),
]


def _matches(alert: dict, name: str, severity: str | None, labels: dict) -> bool:
    got = alert["labels"]
    return (
        alert["state"] in ACTIVE
        and got["alertname"] == name
        and (severity is None or got.get("severity") == severity)
        and all(got.get(k) == v for k, v in labels.items())
    )


def test_rules_loaded_without_errors(prometheus_demo):
    groups = prometheus_demo.rules()
    names = {g["name"] for g in groups}
    assert {"ml-serving.rules", "ml-serving.alerts", "ml-drift.alerts"} <= names
    unhealthy = [
        (r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] == "err"
    ]
    assert not unhealthy


def test_each_incident_raises_its_alerts_and_the_control_model_stays_quiet(prometheus_demo):
    stack = prometheus_demo
    for kind in EXPECTED:
        stack.wait_for_incident(kind, timeout=60)
    wanted = [(kind, *exp) for kind, exps in EXPECTED.items() for exp in exps]
    deadline = time.monotonic() + 90
    while True:
        alerts = stack.alerts()
        missing = [w for w in wanted if not any(_matches(a, *w[1:]) for a in alerts)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, "incidents without their alert (kind, alert, severity, labels): " + str(
        missing
    )
    for name, severity, model in MUST_STAY_SILENT:
        noisy = [
            a["labels"]
            for a in alerts
            if _matches(a, name, severity, {} if model is None else {"model": model})
        ]
        assert not noisy, f"{name} is active for the control: {noisy}"


def test_active_alerts_carry_rendered_annotations(prometheus_demo):
    prometheus_demo.wait_for('ALERTS{alertstate=~"pending|firing"}', timeout=90)
    alerts = [a for a in prometheus_demo.alerts() if a["state"] in ACTIVE]
    assert alerts
    for alert in alerts:
        annotations = alert["annotations"]
        assert "{{" not in annotations["summary"] + annotations["description"]
        assert annotations["runbook_url"].endswith("#" + alert["labels"]["alertname"].lower())
        assert alert["labels"]["severity"] in {"critical", "warning"}

"""One threshold, one place: every alert fires exactly where the panel showing its signal turns.

For each alert (and severity), the panels that show the same signal; the number in the compiled
alert expression must equal the panel's threshold step: the red step for "higher is bad" panels
at critical (orange at warning), the green step for "lower is bad" panels. Checked on the
committed output and on a build with other thresholds in monitoring.yaml, so both sides provably
come from the same config entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import promql_parser
import pytest
import yaml

from tests.unit.test_renamed_config import build_with

REPO = Path(__file__).resolve().parents[2]

# (alert, severity) -> [(dashboard uid, panel title, step)], step = the colour whose start value
# is the alert's threshold ("red"/"orange" for higher-is-bad, "green" for lower-is-bad panels)
SHOWN_BY = {
    # score / exported threshold (the recorded ratio both read): red at 1
    ("MLFeatureDrift", "warning"): [("ml-drift", "Drift score / threshold now", "red"),
                                    ("ml-drift", "Drift score / threshold over time", "red")],
    ("MLErrorRatioHigh", "warning"): [("ml-overview", "Error ratio", "orange"),
                                      ("ml-overview", "Worst error ratio", "orange"),
                                      ("ml-overview", "Error ratio over time", "orange"),
                                      ("ml-errors", "Error ratio", "orange"),
                                      ("ml-versions", "Error ratio by version", "orange")],
    ("MLErrorRatioHigh", "critical"): [("ml-overview", "Error ratio", "red"),
                                       ("ml-overview", "Worst error ratio", "red"),
                                       ("ml-overview", "Error ratio over time", "red"),
                                       ("ml-errors", "Error ratio", "red"),
                                       ("ml-versions", "Error ratio by version", "red")],
    ("MLLatencySLOBreach", "warning"): [("ml-overview", "p95 latency", "orange"),
                                        ("ml-overview", "Worst p95 latency", "orange"),
                                        ("ml-versions", "p95 latency by version", "orange")],
    ("MLLatencySLOBreach", "critical"): [("ml-overview", "p95 latency", "red"),
                                         ("ml-overview", "p95 latency over time", "red"),
                                         ("ml-versions", "p95 latency by version", "red")],
    ("MLWorkersSaturated", "warning"): [("ml-infrastructure", "Worker saturation", "red")],
    ("MLModelQualityBelowBaseline", "warning"): [
        ("ml-overview", "Accuracy drop vs baseline", "orange"),
        ("ml-versions", "accuracy minus baseline by version", "green")],
    ("MLModelQualityBelowBaseline", "critical"): [
        ("ml-overview", "Accuracy drop vs baseline", "red"),
        ("ml-versions", "accuracy minus baseline by version", "orange")],
    ("MLConceptDrift", "warning"): [("ml-drift", "Concept drift score", "red")],
    ("MLDataDriftWidespread", "warning"): [("ml-overview", "Drifted features", "red"),
                                           ("ml-overview", "Share of drifted features", "red"),
                                           ("ml-drift", "Share of drifted features", "red")],
    ("MLPredictionDrift", "warning"): [("ml-drift", "Prediction drift", "red"),
                                       ("ml-errors", "Prediction drift", "red")],
    ("MLEvaluationStale", "warning"): [("ml-performance", "Evaluation age in schedule intervals", "red")],
    ("MLCostOverBudget", "warning"): [("ml-overview", "Budget burn", "red"),
                                      ("ml-cost", "Budget burn", "red")],
    ("MLGPUSaturated", "warning"): [("ml-infrastructure", "GPU utilisation", "red")],
    ("MLGPUMemoryPressure", "warning"): [("ml-infrastructure", "GPU memory used", "red")],
    ("MLAuditLogGap", "warning"): [("ml-fairness", "Audit coverage", "green")],
    # red below feedback_positive_crit: the orange step starts at the alert's threshold
    ("MLFeedbackPositiveShareLow", "warning"): [("ml-feedback", "Positive feedback share now", "orange"),
                                                ("ml-feedback", "Positive feedback share over time",
                                                 "orange")],
    ("LLMTTFTErrorBudgetBurn", "critical"): [("ml-llm", "Error budget burn rate", "red")],
    ("LLMTTFTErrorBudgetBurn", "warning"): [("ml-llm", "Error budget burn rate", "orange")],
    ("LLMKVCacheSaturated", "warning"): [("ml-llm", "KV cache usage", "red"),
                                         ("ml-llm", "KV cache in use", "red"),
                                         ("ml-overview", "LLM KV cache in use", "red")],
    ("LLMQueueGrowing", "warning"): [("ml-llm", "Scheduler state", "red")],
    ("LLMErrorFinishRatioHigh", "warning"): [("ml-llm", "Error-finish ratio", "orange"),
                                             ("ml-overview", "LLM error-finish ratio", "orange")],
    ("LLMErrorFinishRatioHigh", "critical"): [("ml-llm", "Error-finish ratio", "red"),
                                              ("ml-overview", "LLM error-finish ratio", "red")],
    ("LLMPreemptionBurst", "warning"): [("ml-llm", "Preemptions per request", "red")],
    ("LLMEvaluationScoreLow", "warning"): [("ml-llm", "Evaluation scores", "orange")],
}
# Alerts judged against another series (a canary against its production version, feedback
# against its own 6h level) or an identity that vanished: no panel threshold shows them.
RELATIVE = {"MLFeedbackVolumeDrop", "MLRolloutErrorRegression", "MLRolloutLatencyRegression",
            "MLRolloutQualityRegression", "MLModelStoppedReporting"}
# fair ranges: the alert's two ends are the panel's green (low) and red (high) steps
RANGES = {
    "MLFairnessParityOutOfRange": [("ml-fairness", "Statistical parity difference"),
                                   ("ml-fairness", "Parity difference now")],
    "MLDisparateImpactOutOfRange": [("ml-fairness", "Disparate impact ratio"),
                                    ("ml-fairness", "Disparate impact now")],
}

OTHER_THRESHOLDS = """
thresholds:
  error_ratio_warn: 0.02
  error_ratio_crit: 0.12
  latency_p95_warn_seconds: 0.4
  latency_p95_crit_seconds: 1.5
  worker_saturation_warn: 0.5
  worker_saturation_crit: 0.8
  quality_drop_warn: 0.03
  quality_drop_crit: 0.09
  concept_drift_z: 5
  drifted_share_warn: 0.1
  drifted_share_crit: 0.5
  prediction_drift_warn: 0.05
  prediction_drift_crit: 0.3
  evaluation_missed_runs_warn: 2
  evaluation_missed_runs_crit: 3
  budget_burn_warn: 0.9
  budget_burn_crit: 1.2
  gpu_utilisation_warn: 0.6
  gpu_utilisation_crit: 0.75
  gpu_memory_warn: 0.7
  gpu_memory_crit: 0.9
  audit_coverage_min: 0.97
  spd_fair_bound: 0.2
  dir_fair_lower: 0.7
  dir_fair_upper: 1.4
"""


def load(folder_dashboards: Path, folder_rules: Path) -> tuple[dict, dict]:
    dashboards = {d["uid"]: d for d in (json.loads(p.read_text())
                                        for p in sorted(folder_dashboards.rglob("*.json")))}
    alerts = {}
    for path in sorted(folder_rules.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts[(rule["alert"], rule["labels"]["severity"])] = rule["expr"]
    return dashboards, alerts


def threshold(expr: str) -> float:
    """The alert's threshold: the first non-zero constant compared with (a burn-rate alert's
    long-window noise margin and minimum traffic come after it)."""
    import re

    for match in re.finditer(r"[<>]=?\s*(-?[0-9.]+)", expr):
        if float(match.group(1)) != 0:
            return abs(float(match.group(1)))
    raise AssertionError(f"no threshold in {expr!r}")


def numbers(expr: str) -> list[float]:
    """The constants an alert compares with (0 of the `> 0` division guards left out)."""
    found: list[float] = []

    def visit(node) -> None:
        if isinstance(node, promql_parser.NumberLiteral):
            found.append(abs(node.val))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return sorted({n for n in found if n != 0})


def steps(dashboards: dict, uid: str, title: str) -> list[dict]:
    panels = [p for top in dashboards[uid]["panels"] for p in (top, *top.get("panels", []))]
    (panel,) = [p for p in panels if p["title"] == title]
    return panel["fieldConfig"]["defaults"]["thresholds"]["steps"]


def step_value(dashboards: dict, uid: str, title: str, colour: str) -> float:
    values = [s["value"] for s in steps(dashboards, uid, title)
              if s["color"] == colour and s["value"] is not None]
    assert values, f"{uid} / {title}: no {colour} step"
    return abs(values[-1])


def check(dashboards: dict, alerts: dict) -> list[str]:
    problems = []
    for (alert, severity), panels in SHOWN_BY.items():
        fires_at = threshold(alerts[(alert, severity)])
        for uid, title, colour in panels:
            shown = step_value(dashboards, uid, title, colour)
            if shown != pytest.approx(fires_at):
                problems.append(f"{alert}/{severity} fires at {fires_at}, {uid} / {title} turns "
                                f"{colour} at {shown}")
    for alert, panels in RANGES.items():
        (expr,) = [e for (name, _), e in alerts.items() if name == alert]
        ends = numbers(expr)
        for uid, title in panels:
            s = steps(dashboards, uid, title)
            panel_ends = sorted({abs(x["value"]) for x in s if x["value"] is not None})
            if panel_ends != pytest.approx(ends):
                problems.append(f"{alert} fair range {ends}, {uid} / {title} shows {panel_ends}")
    return problems


def test_every_alert_is_mapped_to_the_panels_of_its_signal() -> None:
    _, alerts = load(REPO / "provisioning" / "dashboards", REPO / "prometheus" / "rules")
    thresholded = {key for key, expr in alerts.items() if numbers(expr)}
    mapped = set(SHOWN_BY) | {key for key in alerts if key[0] in set(RANGES) | RELATIVE}
    # MLNoPredictions (== 0) and MLUnapprovedVersionServing (> 0) compare with no threshold
    assert thresholded - mapped == set()


def test_committed_alerts_fire_where_their_panels_turn() -> None:
    assert check(*load(REPO / "provisioning" / "dashboards", REPO / "prometheus" / "rules")) == []


def test_other_thresholds_move_panels_and_alerts_together(tmp_path: Path) -> None:
    built = build_with(OTHER_THRESHOLDS, tmp_path)
    dashboards, alerts = load(built / "dashboards", built / "rules")
    assert threshold(alerts[("MLErrorRatioHigh", "critical")]) == 0.12
    assert check(dashboards, alerts) == []


def test_the_check_can_fail() -> None:
    dashboards, alerts = load(REPO / "provisioning" / "dashboards", REPO / "prometheus" / "rules")
    alerts[("MLGPUSaturated", "warning")] = "model_version:dcgm_gpu_utilisation:avg_ratio > 0.97"
    assert any("MLGPUSaturated" in p for p in check(dashboards, alerts))

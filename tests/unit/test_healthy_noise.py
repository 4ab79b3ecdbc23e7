"""Healthy traffic stays out of the red (issue #22): the outlier detector's calibration, the
thresholds grounded in the signal's noise, and the panel colour rule the long healthy run
(tests/integration/test_healthy_run.py) judges panels by — shown able to fail.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from scipy.stats import binom, chi2

from ml_monitoring import Monitoring, Windows
from ml_monitoring.config import load_config
from ml_monitoring.drift import OUTLIER_QUANTILE, Profile
from tests import panelreds
from tests.promharness import promtool_test

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "provisioning" / "dashboards"


def _panels() -> dict[tuple[str, str], dict]:
    out = {}
    for path in sorted(DASHBOARDS.rglob("*.json")):
        dash = json.loads(path.read_text())

        def walk(panels):
            for p in panels:
                yield p
                yield from walk(p.get("panels", []))

        for panel in walk(dash.get("panels", [])):
            out[(dash["uid"], panel.get("title", ""))] = panel
    return out


# --- the colour rule ----------------------------------------------------------------------------

HIGHER = {"fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": [
    {"color": "green", "value": None}, {"color": "orange", "value": 0.01},
    {"color": "red", "value": 0.05}]}}}}
LOWER = {"fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": [
    {"color": "red", "value": None}, {"color": "orange", "value": 0.6},
    {"color": "green", "value": 0.8}]}}}}
RANGE = {"fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": [
    {"color": "red", "value": None}, {"color": "green", "value": -0.1},
    {"color": "red", "value": 0.1}]}}}}


def test_red_regions_follow_grafanas_step_rule() -> None:
    assert panelreds.red_regions(HIGHER) == [(0.05, math.inf)]
    assert panelreds.red_regions(LOWER) == [(-math.inf, 0.6)]
    assert panelreds.red_regions(RANGE) == [(-math.inf, -0.1), (0.1, math.inf)]
    # a value at a step's value takes that step's colour
    assert panelreds.is_red(HIGHER, 0.05) and not panelreds.is_red(HIGHER, 0.0499)
    assert panelreds.is_red(LOWER, 0.5999) and not panelreds.is_red(LOWER, 0.6)
    assert panelreds.is_red(RANGE, 0.1) and panelreds.is_red(RANGE, -0.11)
    assert not panelreds.is_red(RANGE, 0.0) and not panelreds.is_red(HIGHER, math.nan)


def test_mappings_and_overrides_colour_too() -> None:
    state = {"fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": [
        {"color": "green", "value": None}]}, "mappings": [{"type": "value", "options": {
            "0": {"color": "green", "text": "OK"}, "1": {"color": "red", "text": "ALERT"}}}]}}}
    assert panelreds.is_red(state, 1.0) and not panelreds.is_red(state, 0.0)
    assert panelreds.can_turn_red(state)
    override = {"fieldConfig": {**HIGHER["fieldConfig"], "overrides": [
        {"matcher": {"id": "byRegexp", "options": "running .*"}, "properties": [
            {"id": "thresholds", "value": {"mode": "absolute", "steps": [
                {"color": "green", "value": None}]}}]}]}}
    assert panelreds.is_red(override, 12, "waiting chat v1")
    assert not panelreds.is_red(override, 12, "running chat v1")
    # thresholds a graph neither draws nor colours by are not red
    scheduler = _panels()[("ml-llm", "Scheduler state")]
    assert not panelreds.can_turn_red(scheduler) and not panelreds.is_red(scheduler, 99)
    drawn = _panels()[("ml-overview", "Error ratio over time")]
    assert panelreds.can_turn_red(drawn) and panelreds.is_red(drawn, 0.5)


def test_red_samples_name_the_series_and_the_check_can_fail() -> None:
    """The comparator the healthy run uses flags what is red and only that; a lowered
    threshold makes the same healthy values fail."""
    target = {"legendFormat": "{{model}} {{version}}"}
    result = [{"metric": {"model": "m", "version": "v1"},
               "values": [[1, "0.004"], [2, "0.03"], [3, "NaN"]]}]
    assert panelreds.red_samples(HIGHER, target, result) == []
    lowered = json.loads(json.dumps(HIGHER))
    lowered["fieldConfig"]["defaults"]["thresholds"]["steps"][2]["value"] = 0.02
    assert panelreds.red_samples(lowered, target, result) == [("m v1", 2.0, 0.03)]
    instant = [{"metric": {"model": "m"}, "value": [5, "0.5"]}]
    assert panelreds.red_samples(LOWER, {"legendFormat": "{{model}}"}, instant) == [("m", 5.0, 0.5)]


# --- thresholds grounded in noise -----------------------------------------------------------------


def test_ks_pvalue_panel_reads_its_threshold_from_the_config() -> None:
    cfg = load_config(REPO / "monitoring.yaml")
    panel = _panels()[("ml-drift", "KS test p-value")]
    assert panelreds.red_regions(panel) == [(-math.inf, cfg.threshold("drift_pvalue_crit"))]
    # a feature tested on every refresh: 0.05 is crossed by one sample in twenty on healthy
    # traffic; the threshold keeps the chance of a false red under 0.01 a day over the tests of
    # six features (Bonferroni), the budget of concept_drift_z below. At 0.05 a day (10^-5) a
    # 3.25 demo-hour healthy run of 12 features (~1,200 windows) is estimated to turn red about one run in 80.
    windows_per_day = 86400 * 3 / 400  # 3 requests/s, 400-row drift window
    assert cfg.threshold("drift_pvalue_crit") <= 0.01 / (6 * windows_per_day)


def test_concept_drift_threshold_bounds_false_alarms_per_day() -> None:
    """z is watched continuously: at 3 a version with 2.4 labels/s and a 1,000-label window
    crosses it by chance about every four days; at 4, about once a year."""
    from scipy.stats import norm

    z = load_config(REPO / "monitoring.yaml").threshold("concept_drift_z")
    windows_per_day = 86400 * 2.4 / 1000
    assert windows_per_day * norm.sf(3) > 0.25  # the old threshold
    assert windows_per_day * norm.sf(z) < 0.01
    panel = _panels()[("ml-drift", "Concept drift score")]
    assert panelreds.red_regions(panel) == [(z, math.inf)]


# --- the outlier detector -------------------------------------------------------------------------


def _skewed(rng, n: int) -> np.ndarray:
    """Right-skewed, correlated features (areas, counts): lognormal, like the breast-cancer data."""
    base = rng.normal(size=(n, 6))
    base[:, 1] += 0.6 * base[:, 0]
    return np.exp(0.6 * base)


def _outlier_share(reference: np.ndarray, traffic: np.ndarray) -> float:
    registry = CollectorRegistry()
    hub = Monitoring(registry, background=False, windows=Windows(drift=200))
    features = [f"f{i}" for i in range(reference.shape[1])]
    mon = hub.monitor("m", "v1", features=features, classes=["a", "b"], reference=reference,
                      favorable_class="a")
    for row in traffic:
        mon.record(row, proba=[0.6, 0.4], prediction=0)
    hub.refresh()
    flagged = registry.get_sample_value("ml_outliers_total",
                                        {"model": "m", "detector": "mahalanobis"})
    return (flagged or 0.0) / len(traffic)


def test_outlier_detector_flags_about_a_tenth_of_a_percent_of_healthy_skewed_traffic() -> None:
    rng = np.random.default_rng(3)
    reference = _skewed(rng, 20000)
    profile = Profile.from_data(reference, [f"f{i}" for i in range(6)])
    # the chi-square quantile assumes Gaussian features: skewed ones cross it far more often
    assert profile.outlier_quantile > 2 * chi2.ppf(OUTLIER_QUANTILE, df=6)
    healthy = _skewed(rng, 20000)
    assert _outlier_share(reference, healthy) < 0.004
    # a real outlier still is one: rows with every feature near its largest reference value
    # (inside the accepted ranges, so validation lets them through)
    broken = healthy[:2000].copy()
    broken[:200] = 0.9 * reference.max(axis=0)
    assert _outlier_share(reference, broken) >= 0.09


def test_outlier_cut_stays_chi_square_for_gaussian_features() -> None:
    rng = np.random.default_rng(4)
    reference = rng.normal(size=(20000, 6))
    profile = Profile.from_data(reference, [f"f{i}" for i in range(6)])
    assert profile.outlier_quantile == pytest.approx(chi2.ppf(OUTLIER_QUANTILE, df=6), rel=0.15)
    assert _outlier_share(reference, rng.normal(size=(20000, 6))) < 0.003


def test_profile_keeps_its_outlier_quantile_through_save_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    profile = Profile.from_data(_skewed(rng, 2000), [f"f{i}" for i in range(6)])
    profile.save(tmp_path / "p.npz")
    assert Profile.load(tmp_path / "p.npz").outlier_quantile == profile.outlier_quantile


# --- the LLM evaluation run ---------------------------------------------------------------------


def test_an_evaluation_run_is_large_enough_for_the_guardrail_red_step() -> None:
    """A guardrail's trigger share is a binomial count over the run's prompts: the demo's healthy
    rates cross the panel's red step in (far) fewer than one run in 10,000 of a version
    (toxicity crossed it in 0.9 % of runs with 200 prompts), and its llm_eval_regression
    (guardrails x5) still reaches it about every other run."""
    from demo.llm import _GUARDRAILS, LLMEvaluation
    from demo.scenario import SCENARIOS

    red = panelreds.red_regions(_panels()[("ml-llm", "Guardrail trigger rate")])
    ((low, _high),) = red
    n = LLMEvaluation.SAMPLES

    def p_red(rate: float, samples: int) -> float:
        flagged = math.ceil(low * samples - 1e-9)  # fewest flagged answers that show red
        return float(binom.sf(flagged - 1, samples, rate))

    rates = dict(_GUARDRAILS)
    assert sum(p_red(r, n) for r in rates.values()) < 1e-4
    assert p_red(rates["toxicity"], 200) > 0.005  # the old run size: red about once in 100
    factors = [inc.params["guardrail_factor"] for s in SCENARIOS.values() for inc in s.incidents
               if inc.kind == "llm_eval_regression"]
    assert factors and all(p_red(min(rates["toxicity"] * f, 1.0), n) > 0.4 for f in factors)


# --- one statistic per red line, and enough requests behind a ratio ----------------------------


def test_a_graph_judges_a_series_only_by_the_thresholds_it_draws() -> None:
    """Grafana draws one set of threshold lines per axis, the first series' (UPlotConfigBuilder.
    addThresholds keeps the first per scale): a series an override gives other red steps would be
    judged by lines nobody sees. Every red a series is judged by is the drawn set."""
    checked = 0
    for (uid, title), panel in _panels().items():
        if panel.get("type") not in panelreds.GRAPHS or not panelreds.thresholds_shown(panel):
            continue
        drawn = panelreds.drawn_thresholds(panel)
        for target in panel.get("targets", []):
            name = panelreds.legend(str(target.get("legendFormat") or ""), {})
            thresholds, _ = panelreds._field_config(panel, name)
            if panelreds.regions_of(thresholds):
                assert thresholds == drawn, f"{uid} / {title} / {target['refId']}"
                checked += 1
    assert checked > 50


@pytest.mark.parametrize(("uid", "title", "judged", "free", "red"), [
    ("ml-llm", "Time to first token", "p95 chat-assistant v1",
     ["p50 chat-assistant v1", "p90 chat-assistant v1", "p99 chat-assistant v1"],
     "llm_ttft_slo_seconds"),
    ("ml-llm", "Inter-token latency", "p95 chat-assistant v1",
     ["p50 chat-assistant v1", "p99 chat-assistant v1"], None),
    ("ml-infrastructure", "Latency p50 / p95 / p99", "p99 wine-cultivar",
     ["p50 wine-cultivar", "p95 wine-cultivar"], "latency_p99_crit_seconds"),
])
def test_a_red_line_for_one_percentile_judges_only_that_percentile(
        uid: str, title: str, judged: str, free: list[str], red: str | None) -> None:
    """The TTFT SLO bounds p95 (95 % of requests within it): p99 may cross the line within the
    error budget, so it is not coloured by it; the 5m latency panel's red line is p99's."""
    cfg = load_config(REPO / "monitoring.yaml")
    panel = _panels()[(uid, title)]
    ((low, _high),) = panelreds.red_regions(panel)
    if red is not None:
        assert low == cfg.threshold(red)
    assert panelreds.is_red(panel, low * 1.5, judged)
    for name in free:
        assert not panelreds.is_red(panel, low * 100, name), name
    assert panelreds.drawn_thresholds(panel) == panel["fieldConfig"]["defaults"]["thresholds"]


def _promtool_expr(tmp_path: Path, inputs: list[dict], expr: str, expected: list[dict]) -> None:
    promtool_test(tmp_path / "expr_test.yml", [], [{
        "interval": "1m", "input_series": inputs,
        "promql_expr_test": [{"expr": expr, "eval_time": "10m", "exp_samples": expected}]}])


@pytest.mark.parametrize("rate_interval", ["2m", "5m"])
def test_live_error_ratio_needs_enough_requests_else_shows_the_5m_ratio(
        tmp_path: Path, rate_interval: str) -> None:
    """ml-errors "Error ratio", run by promtool: production (200 requests/min) at the dashboard's
    resolution; a canary with 43 requests/min and 3 errors among them (7 %, red) shows its
    recorded 5m ratio while a point holds fewer than `error_ratio_point_min_requests` requests,
    and its own ratio once the interval holds enough."""
    from grafana_sync.macros import substitute_macros

    cfg = load_config(REPO / "monitoring.yaml")
    nmin = cfg.threshold("error_ratio_point_min_requests")
    # the minimum holds a healthy ratio (at most the warning level) under the critical one
    k = math.ceil(cfg.threshold("error_ratio_crit") * nmin)
    assert binom.sf(k - 1, int(nmin), cfg.threshold("error_ratio_warn")) < 1e-4
    panel = _panels()[("ml-errors", "Error ratio")]
    expr = substitute_macros(panel["targets"][0]["expr"], {}, rate_interval=rate_interval)
    minutes = int(rate_interval[:-1])
    recorded = "model_version:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m"
    inputs = [
        {"series": 'ml_inference_requests_total{model="m", version="v1", status="ok"}',
         "values": "0+196x20"},
        {"series": 'ml_inference_requests_total{model="m", version="v1", status="error"}',
         "values": "0+4x20"},
        {"series": 'ml_inference_requests_total{model="m", version="v2", status="ok"}',
         "values": "0+40x20"},
        {"series": 'ml_inference_requests_total{model="m", version="v2", status="error"}',
         "values": "0+3x20"},
        {"series": f'{recorded}{{model="m", version="v2"}}', "values": "0.012x20"},
        {"series": f'{recorded}{{model="m", version="v1"}}', "values": "0.5x20"},
    ]
    canary = 3 / 43 if 43 * minutes >= nmin else 0.012
    assert (43 * 2 < nmin <= 43 * 5)  # the two intervals sit on either side of the minimum
    _promtool_expr(tmp_path, inputs, f"round({expr}, 0.0001)", [
        {"labels": '{model="m", version="v1"}', "value": round(4 / 200, 4)},
        {"labels": '{model="m", version="v2"}', "value": round(canary, 4)},
    ])

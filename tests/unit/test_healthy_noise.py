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
from scipy.stats import chi2

from ml_monitoring import Monitoring, Windows
from ml_monitoring.config import load_config
from ml_monitoring.drift import OUTLIER_QUANTILE, Profile
from tests import panelreds

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
    # traffic; the threshold is 0.05 over a day of tests of six features (Bonferroni)
    windows_per_day = 86400 * 3 / 400  # 3 requests/s, 400-row drift window
    assert cfg.threshold("drift_pvalue_crit") <= 0.05 / (6 * windows_per_day)


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

"""Drift statistics: zero-ish on the same distribution, large on a shifted one."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy")

from demo import drift  # noqa: E402
from demo.quality import classification_scores, concept_drift_z  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_same_distribution_stays_below_thresholds(rng):
    ref = rng.normal(size=4000)
    res = drift.feature_drift(rng.normal(size=400), ref)
    for method in drift.DRIFT_METHODS:
        assert res[method] < drift.DEFAULT_THRESHOLDS[method] / 2, method
    assert res["ks_pvalue"] > 0.01


def test_shifted_distribution_exceeds_thresholds(rng):
    ref = rng.normal(size=4000)
    res = drift.feature_drift(rng.normal(loc=1.0, size=400), ref)
    for method in drift.DRIFT_METHODS:
        assert res[method] > drift.DEFAULT_THRESHOLDS[method], method
    assert res["ks_pvalue"] < 1e-6


def test_psi_known_value():
    # two bins: 50/50 expected vs 80/20 actual -> (0.3 ln 1.6) + (-0.3 ln 0.4)
    a = np.array([0.8, 0.2])
    e = np.array([0.5, 0.5])
    assert drift.psi_from_shares(a, e) == pytest.approx(0.3 * np.log(1.6) - 0.3 * np.log(0.4))


def test_js_distance_bounds():
    assert drift.js_from_shares(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0)
    far = drift.js_from_shares(np.array([1.0, 1e-4]), np.array([1e-4, 1.0]))
    assert 0.95 < far <= 1.0


def test_quantile_edges_handle_ties():
    edges = drift.quantile_edges(np.array([1.0] * 90 + [2.0] * 10))
    assert len(edges) == len(set(edges))
    shares = drift.binned_shares(np.array([1.0, 2.0]), edges)
    assert shares.sum() == pytest.approx(1.0)


def test_classification_scores_and_missing_auc():
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    s = classification_scores(y, proba, 2)
    assert s["accuracy"] == pytest.approx(0.75)
    assert s["roc_auc"] == pytest.approx(1.0)
    only_one_class = classification_scores(np.array([1, 1]), proba[:2], 2)
    assert "roc_auc" not in only_one_class  # undefined, so not exported


def test_concept_drift_z():
    assert concept_drift_z(0.95, 0.95, 400) == pytest.approx(0.0)
    assert concept_drift_z(0.60, 0.95, 400) > 3

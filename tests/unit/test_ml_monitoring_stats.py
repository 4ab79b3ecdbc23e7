"""ml_monitoring's statistics against scipy / scikit-learn on the same data."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy.spatial.distance import jensenshannon  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402
from sklearn.covariance import LedoitWolf  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from ml_monitoring import stats  # noqa: E402
from ml_monitoring.drift import MAX_GRID, N_BINS, DriftWindow, Profile  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def _scratch_psi_js(window: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """PSI and JS written out from the definitions on raw arrays (10 reference-quantile bins)."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, N_BINS + 1)[1:-1]))
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    # bins closed on the left like searchsorted(side="right"): value == edge goes to the upper bin
    pairs = list(zip(bins[:-1], bins[1:], strict=True))
    a = np.array([np.sum((window >= lo) & (window < hi)) for lo, hi in pairs])
    e = np.array([np.sum((reference >= lo) & (reference < hi)) for lo, hi in pairs])
    a = np.clip(a / a.sum(), 1e-4, None)
    a /= a.sum()
    e = np.clip(e / e.sum(), 1e-4, None)
    e /= e.sum()
    return float(np.sum((a - e) * np.log(a / e))), float(jensenshannon(a, e, base=2))


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.5])
def test_window_scores_equal_scipy_on_the_raw_data(rng, shift):
    reference = rng.normal(size=(2000, 3))
    live = rng.normal(loc=shift, size=(400, 3))
    profile = Profile.from_data(reference, ["a", "b", "c"])
    window = DriftWindow(profile, 400)
    window.add(live)
    s = window.scores()
    for f in range(3):
        res = ks_2samp(live[:, f], reference[:, f], method="asymp")
        assert s.ks[f] == pytest.approx(res.statistic, abs=1e-12)
        if res.pvalue > 1e-6:  # n = 333: Stephens-corrected limit (see the p-value test)
            assert s.ks_pvalue[f] == pytest.approx(res.pvalue, rel=0.05)
        else:
            assert s.ks_pvalue[f] < 1e-5
        psi, js = _scratch_psi_js(live[:, f], reference[:, f])
        assert s.psi[f] == pytest.approx(psi, rel=1e-9)
        assert s.jensenshannon[f] == pytest.approx(js, rel=1e-9)


@pytest.mark.parametrize("n_window, n_reference", [(100, 1000), (400, 4000), (2000, 10000),
                                                   (10000, 10000)])
def test_ks_pvalue_against_scipy_at_every_size(rng, n_window, n_reference):
    """Exactly scipy's asymptotic p-value up to KS_EXACT_MAX_N, a few per cent beyond."""
    reference = rng.normal(size=n_reference)
    exact = n_window * n_reference / (n_window + n_reference) <= stats.KS_EXACT_MAX_N
    for shift in (0.0, 0.03, 0.06, 0.1):
        live = rng.normal(loc=shift, size=n_window)
        res = ks_2samp(live, reference, method="asymp")
        got = stats.ks_pvalue(res.statistic, n_window, n_reference)
        if exact:
            assert got == pytest.approx(res.pvalue, rel=1e-9, abs=1e-300)
        elif res.pvalue > 1e-6:
            assert got == pytest.approx(res.pvalue, rel=0.05)
        else:
            assert got < 1e-5


def test_ks_is_exact_with_ties_on_reference_values(rng):
    """Live values equal to reference values (discrete data) are binned exactly."""
    reference = rng.integers(0, 20, size=(3000, 1)).astype(float)
    live = rng.integers(3, 25, size=(500, 1)).astype(float)
    window = DriftWindow(Profile.from_data(reference, ["x"]), 500)
    window.add(live)
    expected = ks_2samp(live[:, 0], reference[:, 0], method="asymp")
    assert window.scores().ks[0] == pytest.approx(expected.statistic, abs=1e-12)


def test_ks_within_one_grid_step_when_the_grid_is_capped(rng):
    reference = rng.normal(size=(3 * MAX_GRID, 1))
    live = rng.normal(loc=0.2, size=(1000, 1))
    profile = Profile.from_data(reference, ["x"])
    assert len(profile.grids[0]) <= MAX_GRID
    window = DriftWindow(profile, 1000)
    window.add(live)
    expected = ks_2samp(live[:, 0], reference[:, 0]).statistic
    assert abs(window.scores().ks[0] - expected) <= 2.0 / MAX_GRID + 1e-3


def test_sliding_window_equals_a_window_built_from_scratch(rng):
    reference = rng.normal(size=(1000, 4))
    profile = Profile.from_data(reference, list("abcd"))
    sliding = DriftWindow(profile, 300)
    stream = rng.normal(loc=np.linspace(0, 1, 1300)[:, None], size=(1300, 4))
    i = 0
    for size in [1, 7, 120, 299, 300, 301, 3, 250, 19]:
        sliding.add(stream[i:i + size])
        i += size
        fresh = DriftWindow(profile, 300)
        fresh.add(stream[max(0, i - 300):i])
        assert sliding.n == fresh.n == min(i, 300)
        np.testing.assert_array_equal(sliding.fine_counts, fresh.fine_counts)
        np.testing.assert_array_equal(sliding.coarse_counts, fresh.coarse_counts)
        a, b = sliding.scores(), fresh.scores()
        np.testing.assert_allclose(a.psi, b.psi)
        np.testing.assert_allclose(a.ks, b.ks)


def test_profile_round_trips_through_a_file(rng, tmp_path):
    reference = rng.normal(size=(500, 2))
    profile = Profile.from_data(reference, ["x", "y"])
    profile.save(tmp_path / "p.npz")
    loaded = Profile.load(tmp_path / "p.npz")
    assert loaded.features == ("x", "y")
    live = rng.normal(loc=0.5, size=(200, 2))
    w1, w2 = DriftWindow(profile, 200), DriftWindow(loaded, 200)
    w1.add(live)
    w2.add(live)
    np.testing.assert_allclose(w1.scores().psi, w2.scores().psi)
    np.testing.assert_allclose(w1.scores().ks, w2.scores().ks)


def test_psi_known_value_and_js_bounds():
    assert stats.psi_from_shares(np.array([0.8, 0.2]), np.array([0.5, 0.5])) == pytest.approx(
        0.3 * np.log(1.6) - 0.3 * np.log(0.4))
    assert stats.js_from_shares(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0)
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.1, 0.3, 0.6])
    assert stats.js_from_shares(p, q) == pytest.approx(jensenshannon(p, q, base=2))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classification_scores_equal_sklearn(rng, n_classes):
    n = 500
    y = rng.integers(0, n_classes, size=n)
    logits = rng.normal(size=(n, n_classes)) + np.eye(n_classes)[y] * 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba = np.round(proba, 2)  # ties in the scores
    proba /= proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    got = stats.classification_scores(y, proba, n_classes)
    p, r, f, _ = precision_recall_fscore_support(y, pred, labels=list(range(n_classes)),
                                                 average="macro", zero_division=0)
    assert got["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(p)
    assert got["recall"] == pytest.approx(r)
    assert got["f1"] == pytest.approx(f)
    auc = roc_auc_score(y, proba[:, 1]) if n_classes == 2 else \
        roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert got["roc_auc"] == pytest.approx(auc)


def test_classification_scores_zero_division_and_missing_auc():
    y = np.array([1, 1, 1])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    got = stats.classification_scores(y, proba, 2)
    p, r, f, _ = precision_recall_fscore_support(y, proba.argmax(axis=1), labels=[0, 1],
                                                 average="macro", zero_division=0)
    assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p, r, f))
    assert "roc_auc" not in got  # one class only: undefined, not exported


def test_concept_drift_z():
    assert stats.concept_drift_z(0.95, 0.95, 400) == pytest.approx(0.0)
    # 40 % errors against 5 %: (0.4 - 0.05) / sqrt(0.05 * 0.95 / 400)
    assert stats.concept_drift_z(0.60, 0.95, 400) == pytest.approx(0.35 / np.sqrt(0.0475 / 400))


def test_fairness_rates():
    (a, b) = stats.fairness(np.array([30, 10]), np.array([60, 40]))
    assert a == pytest.approx((0.5, 0.5 - 0.25, 2.0))
    assert b == pytest.approx((0.25, 0.25 - 0.5, 0.5))
    assert stats.fairness(np.array([5, 0]), np.array([10, 10]))[0][2] is None


def test_shrunk_covariance_equals_ledoit_wolf(rng):
    X = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) * np.array([1, 10, 100, 1, 2, 3])
    sd = X.std(axis=0)
    expected = LedoitWolf().fit((X - X.mean(axis=0)) / sd).covariance_ * np.outer(sd, sd)
    np.testing.assert_allclose(stats.shrunk_covariance(X), expected, rtol=1e-10)

"""Drift statistics between a production window and a reference sample (pure numpy/scipy)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

DRIFT_METHODS = ("psi", "ks", "jensenshannon")
DEFAULT_THRESHOLDS = {"psi": 0.2, "ks": 0.2, "jensenshannon": 0.2}
PRIMARY_METHOD = "psi"
N_BINS = 10
_EPS = 1e-4


def quantile_edges(reference: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Inner bin edges at the reference quantiles (duplicates removed for tied data)."""
    qs = np.linspace(0, 1, n_bins + 1)[1:-1]
    return np.unique(np.quantile(reference, qs))


def binned_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of values per bin, floored at a small epsilon so logs stay finite."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    shares = counts / max(counts.sum(), 1)
    shares = np.clip(shares, _EPS, None)
    return shares / shares.sum()


def psi_from_shares(actual: np.ndarray, expected: np.ndarray) -> float:
    actual = np.clip(actual, _EPS, None)
    expected = np.clip(expected, _EPS, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def js_from_shares(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(jensenshannon(actual, expected, base=2))


def psi(window: np.ndarray, reference: np.ndarray, n_bins: int = N_BINS) -> float:
    """Population stability index over reference-quantile bins."""
    edges = quantile_edges(reference, n_bins)
    return psi_from_shares(binned_shares(window, edges), binned_shares(reference, edges))


def js_distance(window: np.ndarray, reference: np.ndarray, n_bins: int = N_BINS) -> float:
    """Jensen–Shannon distance (base 2, 0–1) over the same bins as PSI."""
    edges = quantile_edges(reference, n_bins)
    return js_from_shares(binned_shares(window, edges), binned_shares(reference, edges))


def ks(window: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic D and its p-value."""
    res = ks_2samp(window, reference, method="asymp")
    return float(res.statistic), float(res.pvalue)


def categorical_shares(values: np.ndarray, n_categories: int) -> np.ndarray:
    counts = np.bincount(np.asarray(values, dtype=int), minlength=n_categories)[:n_categories]
    shares = np.clip(counts / max(counts.sum(), 1), _EPS, None)
    return shares / shares.sum()


def feature_drift(window: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """All methods for one feature: {'psi':…, 'ks':…, 'jensenshannon':…, 'ks_pvalue':…}."""
    edges = quantile_edges(reference)
    a, e = binned_shares(window, edges), binned_shares(reference, edges)
    d, p = ks(window, reference)
    return {"psi": psi_from_shares(a, e), "ks": d, "jensenshannon": js_from_shares(a, e),
            "ks_pvalue": p}

"""Every statistic the library exports, in one place (numpy; scipy only for the KS distribution).

Tests compare each function with scipy / scikit-learn on the same data
(tests/unit/test_ml_monitoring_stats.py).

- Drift between binned distributions: PSI and Jensen-Shannon distance over shares, the two-sample
  Kolmogorov-Smirnov statistic over cumulative counts and its asymptotic p-value.
- Classification quality: accuracy, macro precision / recall / F1, ROC AUC (one-vs-rest macro for
  multiclass), from labels and class probabilities.
- Concept drift (binomial z of the error rate) and fairness (parity difference, disparate impact).
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-4  # floor for a bin share, so the logarithms of PSI stay finite
QUALITY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
MIN_BASELINE_ERROR = 0.03


# --------------------------------------------------------------------------- binned distributions
def shares(counts: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Counts -> shares per bin (last axis), floored at EPS and renormalised.

    `mask` (same shape) marks the real bins of padded rows; padded bins get share 0.
    """
    counts = np.asarray(counts, dtype=float)
    total = counts.sum(axis=-1, keepdims=True)
    s = np.clip(counts / np.maximum(total, 1.0), EPS, None)
    if mask is not None:
        s = np.where(mask, s, 0.0)
    return s / s.sum(axis=-1, keepdims=True)


def psi_from_shares(actual: np.ndarray, expected: np.ndarray) -> np.ndarray | float:
    """Population stability index sum((a - e) ln(a / e)) over the last axis (0 where a = e = 0)."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where((a > 0) & (e > 0), (a - e) * np.log(a / e), 0.0)
    out = terms.sum(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def js_from_shares(actual: np.ndarray, expected: np.ndarray) -> np.ndarray | float:
    """Jensen-Shannon distance, base 2 (0-1), over the last axis."""
    p = np.asarray(actual, dtype=float)
    q = np.asarray(expected, dtype=float)
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    js = (left.sum(axis=-1) + right.sum(axis=-1)) / math.log(2.0)
    out = np.sqrt(np.clip(js / 2.0, 0.0, None))
    return float(out) if np.ndim(out) == 0 else out


def ks_from_cdfs(window_cdf: np.ndarray, reference_cdf: np.ndarray) -> np.ndarray | float:
    """Two-sample KS statistic D = max |F_window - F_reference| over the CDFs' points."""
    out = np.max(np.abs(np.asarray(window_cdf) - np.asarray(reference_cdf)), axis=-1)
    return float(out) if np.ndim(out) == 0 else out


KS_EXACT_MAX_N = 100


def ks_pvalue(d, n_window: int, n_reference: int):
    """Two-sided p-value of the two-sample KS statistic D.

    Up to an effective sample size n_w n_r / (n_w + n_r) of KS_EXACT_MAX_N it is exactly
    scipy's `ks_2samp(method="asymp")` (the one-sample Kolmogorov distribution at that size,
    `kstwo.sf`). Beyond, `kstwo.sf` costs milliseconds to seconds per feature in Python code
    (holding the GIL against the request threads), so the limiting distribution with Stephens'
    small-sample correction,
    `kstwobign.sf((sqrt(n) + 0.12 + 0.11 / sqrt(n)) D)`, is used instead (within a few per cent
    of scipy's value; tests/unit/test_ml_monitoring_stats.py).
    """
    from scipy.stats import kstwo, kstwobign

    m, n = sorted((float(n_window), float(n_reference)), reverse=True)
    if n <= 0:
        return np.full(np.shape(d), 1.0) if np.ndim(d) else 1.0
    en = np.round(m * n / (m + n))
    if en <= KS_EXACT_MAX_N:
        out = kstwo.sf(d, en)
    else:
        root = math.sqrt(en)
        out = kstwobign.sf((root + 0.12 + 0.11 / root) * np.asarray(d, dtype=float))
    out = np.clip(out, 0.0, 1.0)
    return float(out) if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------- outliers
def shrunk_covariance(X: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrunk covariance (computed on standardised columns, then rescaled).

    The plain sample covariance of tens of correlated features estimated from a few hundred
    rows overfits: its inverse makes ordinary new rows look like outliers. Shrinking towards a
    scaled identity (Ledoit & Wolf 2004, the estimator of sklearn.covariance.LedoitWolf) fixes
    that without a tuning knob.
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    sd = X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    Z = (X - X.mean(axis=0)) / sd
    emp = Z.T @ Z / n
    Z2 = Z**2
    trace = Z2.sum(axis=0) / n
    mu = trace.sum() / p
    beta_ = float(np.sum(Z2.T @ Z2))
    delta_ = float(np.sum((Z.T @ Z) ** 2)) / n**2
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * trace.sum() + p * mu**2) / p
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0 else beta / delta
    shrunk = (1.0 - shrinkage) * emp + shrinkage * mu * np.eye(p)
    return shrunk * np.outer(sd, sd)


# --------------------------------------------------------------------------- quality
def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC = Mann-Whitney U / (n_pos n_neg), ties counted half (average ranks)."""
    from scipy.stats import rankdata

    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def classification_scores(y_true, proba, n_classes: int) -> dict[str, float]:
    """Accuracy, macro precision / recall / F1 (0 where undefined) and ROC AUC.

    `proba` has one column per class; the prediction is its argmax. AUC is one-vs-rest macro for
    multiclass and is left out while the window holds fewer than all classes (undefined there).
    """
    y = np.asarray(y_true, dtype=int)
    p = np.asarray(proba, dtype=float)
    pred = p.argmax(axis=1)
    k = np.arange(n_classes)
    tp = np.array([np.sum((pred == c) & (y == c)) for c in k], dtype=float)
    fp = np.array([np.sum((pred == c) & (y != c)) for c in k], dtype=float)
    fn = np.array([np.sum((pred != c) & (y == c)) for c in k], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    scores = {
        "accuracy": float(np.mean(pred == y)) if len(y) else 0.0,
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
    }
    if len(np.unique(y)) == n_classes and n_classes >= 2:
        if n_classes == 2:
            scores["roc_auc"] = _binary_auc(y == 1, p[:, 1])
        else:
            scores["roc_auc"] = float(np.mean([_binary_auc(y == c, p[:, c]) for c in k]))
    return scores


def concept_drift_z(window_accuracy: float, baseline_accuracy: float, n: int) -> float:
    """Error-rate increase over the baseline error rate, in binomial standard errors.

    Baseline error rates under 3 % count as 3 %: for rare errors the normal approximation of the
    binomial is poor and would flag healthy windows.
    """
    if n <= 0:
        return 0.0
    p_base = min(max(1.0 - baseline_accuracy, MIN_BASELINE_ERROR), 0.99)
    return ((1.0 - window_accuracy) - p_base) / math.sqrt(p_base * (1.0 - p_base) / n)


# --------------------------------------------------------------------------- fairness
def fairness(favorable: np.ndarray, total: np.ndarray) -> list[tuple[float, float, float | None]]:
    """Per group: (favourable rate, parity difference, disparate impact) against all other groups.

    `favorable` and `total` are counts per group. Disparate impact is None when the other groups
    never get the favourable outcome.
    """
    fav = np.asarray(favorable, dtype=float)
    tot = np.asarray(total, dtype=float)
    out = []
    for g in range(len(tot)):
        rate = fav[g] / tot[g] if tot[g] else 0.0
        rest_n = tot.sum() - tot[g]
        rest = (fav.sum() - fav[g]) / rest_n if rest_n else 0.0
        out.append((float(rate), float(rate - rest), float(rate / rest) if rest > 0 else None))
    return out

"""Classification quality on a window of labelled predictions (the numbers the demo exports)."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

QUALITY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
CONCEPT_DRIFT_Z_THRESHOLD = 4.0
MIN_BASELINE_ERROR = 0.03


def classification_scores(
    y_true: np.ndarray, proba: np.ndarray, n_classes: int
) -> dict[str, float]:
    """Accuracy, macro precision/recall/F1 and (one-vs-rest macro) ROC AUC.

    `proba` has one column per class. AUC is left out when the window holds a single class
    (it is undefined there), never faked.
    """
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(proba).argmax(axis=1)
    labels = list(range(n_classes))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    scores = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }
    present = np.unique(y_true)
    if len(present) == n_classes:
        if n_classes == 2:
            scores["roc_auc"] = float(roc_auc_score(y_true, proba[:, 1]))
        else:
            scores["roc_auc"] = float(
                roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=labels)
            )
    return scores


def concept_drift_z(window_accuracy: float, baseline_accuracy: float, n: int) -> float:
    """Error-rate increase over the validation error rate, in binomial standard errors.

    Baseline error rates under 3 % count as 3 %: for rare errors the normal approximation of
    the binomial is poor and would flag healthy windows.
    """
    if n <= 0:
        return 0.0
    p_base = min(max(1.0 - baseline_accuracy, MIN_BASELINE_ERROR), 0.99)
    p_window = 1.0 - window_accuracy
    return (p_window - p_base) / math.sqrt(p_base * (1.0 - p_base) / n)

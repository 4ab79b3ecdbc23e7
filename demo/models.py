"""The demo's real models: small scikit-learn classifiers trained at start-up on bundled data.

Each model is trained on a split of a dataset that ships inside scikit-learn (no download). The
held-out split is the *reference window*: the baseline scores are measured on it, the drift
reference distributions come from it, and the simulated traffic is a smoothed bootstrap of it
(so healthy traffic matches the reference and only injected incidents move the drift scores).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ml_monitoring.stats import classification_scores

HOLDOUT_SHARE = 0.4
JITTER = 0.05  # smoothing of the bootstrap, in training standard deviations
REFERENCE_SAMPLE = 4000  # rows of the smoothed reference distribution used for drift
# Copies of each held-out row (each with its own jitter) behind the baseline scores: every row
# weighs the same, as in the traffic, which draws the held-out rows uniformly.
BASELINE_COPIES = 400


@dataclass(frozen=True)
class VersionSpec:
    version: str
    algorithm: str  # LogisticRegression | GradientBoostingClassifier
    approved: bool
    base_latency_seconds: float  # median simulated latency of this version


@dataclass(frozen=True)
class ModelSpec:
    name: str
    loader: Callable[..., object]
    features: tuple[str, ...]  # dataset column names used by the model
    favorable_class: str
    requests_per_second: float  # simulated traffic (per simulated second)
    versions: tuple[VersionSpec, ...]
    node: str  # simulated Kubernetes node hosting the model's pods
    budget_usd_per_hour: float
    max_concurrency: int = 4


MODEL_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="cancer-screening",
        loader=load_breast_cancer,
        features=(
            "mean radius",
            "mean texture",
            "mean smoothness",
            "mean concavity",
            "worst area",
            "worst concave points",
        ),
        favorable_class="benign",
        requests_per_second=3.0,
        versions=(
            VersionSpec("v1", "LogisticRegression", True, 0.020),
            VersionSpec("v2", "GradientBoostingClassifier", True, 0.035),
        ),
        node="gpu-node-1",
        budget_usd_per_hour=3.0,
    ),
    ModelSpec(
        name="wine-cultivar",
        loader=load_wine,
        features=("alcohol", "malic_acid", "magnesium", "flavanoids", "color_intensity", "proline"),
        favorable_class="class_1",
        requests_per_second=4.0,
        versions=(
            VersionSpec("v1", "LogisticRegression", True, 0.015),
            # the healthy baseline's canary: as good as production (a GradientBoosting v2 scored
            # 1.5 points below v1 on every quality metric, within window noise of the
            # rollout-quality alert: it fired on healthy traffic, docs/alerts.md)
            VersionSpec("v2", "LogisticRegression", True, 0.016),
        ),
        node="gpu-node-2",
        budget_usd_per_hour=2.5,
    ),
)


def feature_label(column: str) -> str:
    """Dataset column name → Prometheus label value (`mean radius` → `mean_radius`)."""
    return column.replace(" ", "_").replace("/", "_")


def _estimator(algorithm: str, seed: int):
    if algorithm == "LogisticRegression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if algorithm == "GradientBoostingClassifier":
        return GradientBoostingClassifier(n_estimators=40, max_depth=2, random_state=seed)
    raise ValueError(f"unknown algorithm {algorithm}")


@dataclass
class TrainedVersion:
    spec: VersionSpec
    estimator: object
    baseline: dict[str, float]  # metric -> score on the held-out split
    reference_proba: np.ndarray  # predict_proba on the model's baseline_X (the baseline's outputs)


@dataclass
class TrainedModel:
    spec: ModelSpec
    features: tuple[str, ...]  # label values
    classes: tuple[str, ...]
    favorable_index: int
    reference_X: np.ndarray  # held-out split: reference window and traffic pool
    reference_y: np.ndarray
    drift_reference: np.ndarray  # smoothed bootstrap of reference_X: what healthy traffic is
    baseline_y: np.ndarray  # the labels of the rows the baseline is scored on (BASELINE_COPIES
    #                         of each held-out row): baseline scores, output and label reference
    train_min: np.ndarray
    train_max: np.ndarray
    train_std: np.ndarray
    mean: np.ndarray
    inv_cov: np.ndarray  # for the Mahalanobis outlier detector
    versions: dict[str, TrainedVersion] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name


def train_model(spec: ModelSpec, seed: int) -> TrainedModel:
    data = spec.loader()
    names = [str(n) for n in data.feature_names]
    cols = [names.index(f) for f in spec.features]
    X = np.asarray(data.data[:, cols], dtype=float)
    y = np.asarray(data.target, dtype=int)
    X_train, X_hold, y_train, y_hold = train_test_split(
        X, y, test_size=HOLDOUT_SHARE, random_state=seed, stratify=y
    )
    classes = tuple(str(c) for c in data.target_names)
    cov = np.cov(X_train, rowvar=False) + np.eye(X.shape[1]) * 1e-9
    train_std = X_train.std(axis=0)
    rng = np.random.default_rng(seed)
    boot_idx = rng.integers(0, len(X_hold), size=REFERENCE_SAMPLE)
    drift_reference = X_hold[boot_idx] + rng.normal(0.0, JITTER, size=(REFERENCE_SAMPLE,
                                                                         X.shape[1])) * train_std
    # Baseline = the held-out split as the service sees it (same smoothing as the traffic), every
    # row weighed equally, as the traffic draws them, so healthy traffic scores the baseline on
    # average. (Scored on the bootstrap above, the baseline carried the bootstrap's random row
    # weights: on cancer-screening its error rate sat 0.25-0.42 binomial standard errors of a
    # 1000-label window below the traffic's, a bias the concept drift z-score added to every
    # window.)
    base_rng = np.random.default_rng([seed, 1])
    baseline_X = np.repeat(X_hold, BASELINE_COPIES, axis=0) + base_rng.normal(
        0.0, JITTER, size=(len(X_hold) * BASELINE_COPIES, X.shape[1])) * train_std
    model = TrainedModel(
        spec=spec,
        features=tuple(feature_label(f) for f in spec.features),
        classes=classes,
        favorable_index=classes.index(spec.favorable_class),
        reference_X=X_hold,
        reference_y=y_hold,
        drift_reference=drift_reference,
        baseline_y=np.repeat(y_hold, BASELINE_COPIES),
        train_min=X_train.min(axis=0),
        train_max=X_train.max(axis=0),
        train_std=train_std,
        mean=X_train.mean(axis=0),
        inv_cov=np.linalg.pinv(cov),
    )
    for vspec in spec.versions:
        est = _estimator(vspec.algorithm, seed)
        est.fit(X_train, y_train)
        proba = est.predict_proba(baseline_X)
        model.versions[vspec.version] = TrainedVersion(
            spec=vspec,
            estimator=est,
            baseline=classification_scores(model.baseline_y, proba, len(classes)),
            reference_proba=proba,
        )
    return model


def train_all(seed: int) -> dict[str, TrainedModel]:
    return {spec.name: train_model(spec, seed) for spec in MODEL_SPECS}

"""What the monitoring configuration decides for the library: label names and thresholds.

Everything in the package asks here. Label names (`labels` in monitoring.yaml: model, version,
feature, attribute, group) and the concept-drift threshold (`thresholds.concept_drift_z`) come
from `ml_monitoring.config.load_config()` — the same file the dashboards and the Prometheus rules
are built from, found as $MONITORING_CONFIG or ./monitoring.yaml, defaults when absent. The
per-feature drift thresholds are the library's own (exported as `ml_feature_drift_threshold`, so
panels and alerts read them from the series).
"""

from __future__ import annotations

from ml_monitoring.config import Labels

# Per-method thresholds above which a feature counts as drifted (docs/metrics.md).
FEATURE_DRIFT_THRESHOLDS = {"psi": 0.2, "ks": 0.2, "jensenshannon": 0.2}

LabelNames = Labels  # model, version, feature, attribute, group (and cluster, pod)


def label_names() -> Labels:
    """Configured label names (monitoring.yaml `labels`), defaults when not configured."""
    from ml_monitoring.config import load_config

    return load_config().labels


def thresholds() -> dict[str, float]:
    """Drift thresholds by method, and `concept_drift_z` from the configuration."""
    from ml_monitoring.config import load_config

    return {**FEATURE_DRIFT_THRESHOLDS,
            "concept_drift_z": load_config().threshold("concept_drift_z")}

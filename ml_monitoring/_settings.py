"""The one accessor for what `monitoring.yaml` decides for the library: label names, thresholds.

Everything in the package asks here, so following the configuration file is a change in this
module only. Until `ml_monitoring.config` (the loader of monitoring.yaml) is available, the
built-in defaults below apply; they are the defaults of docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class LabelNames:
    """Label names on the series the library emits (the configurable ones)."""

    model: str = "model"
    version: str = "version"
    feature: str = "feature"


DEFAULT_THRESHOLDS = {
    "psi": 0.2,
    "ks": 0.2,
    "jensenshannon": 0.2,
    "concept_drift_z": 4.0,
}


@lru_cache(maxsize=1)
def label_names() -> LabelNames:
    """Configured label names (monitoring.yaml `labels`), defaults when not configured."""
    return LabelNames()


@lru_cache(maxsize=1)
def thresholds() -> dict[str, float]:
    """Drift thresholds by method and the concept-drift z threshold."""
    return dict(DEFAULT_THRESHOLDS)

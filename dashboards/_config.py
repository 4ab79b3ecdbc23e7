"""The dashboards' view of the one monitoring config (ml_monitoring.config, monitoring.yaml).

Nothing is defined here: label names, source selectors, thresholds, the folder and the cost
budget come from `monitoring.yaml` at the repository root (or `$MONITORING_CONFIG`) over the
defaults in `ml_monitoring/config.py`. Edit the YAML, run `make dashboards`, and the dashboards
and the Prometheus rules follow together. docs/config.md documents each key.

`MONITORING` is the loaded config; `CONFIG` offers it under the names the dashboard modules use
(`CONFIG.model_label`, `CONFIG.serving_selector`, `CONFIG.error_ratio_warn` for a threshold, ...).
"""

from __future__ import annotations

from pathlib import Path

from grafana_sync.errors import ConfigError
from ml_monitoring.config import (
    FEEDBACK_WINDOW,
    LABELED_WINDOW,
    MonitoringConfig,
    MonitoringConfigError,
    human_duration,
    load_config,
)

ROOT = Path(__file__).resolve().parents[1]

try:
    MONITORING: MonitoringConfig = load_config(root=ROOT)
except MonitoringConfigError as exc:  # one line naming the file and key, reported once by build
    raise ConfigError(str(exc)) from None


class DashboardConfig:
    """Attribute access to the monitoring config for dashboard modules; thresholds by name."""

    # fixed by provisioning/datasources/prometheus.yaml (not a monitoring setting)
    datasource_uid = "prometheus"

    def __init__(self, cfg: MonitoringConfig) -> None:
        self.monitoring = cfg
        labels, selectors = cfg.labels, cfg.selectors
        self.model_label = labels.model
        self.version_label = labels.version
        self.feature_label = labels.feature
        self.cluster_label = labels.cluster
        self.attribute_label = labels.attribute
        self.group_label = labels.group
        self.pod_join_labels = labels.pod
        self.serving_selector = selectors.serving
        self.evaluation_selector = selectors.evaluation
        self.container_selector = selectors.container
        self.gpu_selector = selectors.gpu
        self.node_selector = selectors.node
        self.cost_selector = selectors.cost
        self.folder = cfg.folder
        self.quality_metric = cfg.quality_metric
        self.budget_usd_per_hour = cfg.cost_budget_usd_per_hour
        # the window of the recorded positive-feedback share, in words ("15 minutes")
        self.feedback_window = human_duration(FEEDBACK_WINDOW)
        # the window over which versions' labelled accuracy is compared ("30 minutes")
        self.labeled_window = human_duration(LABELED_WINDOW)

    def __getattr__(self, name: str) -> float:
        """Any other attribute is a threshold: CONFIG.error_ratio_warn == thresholds.error_ratio_warn."""
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.monitoring.threshold(name)
        except MonitoringConfigError as exc:
            raise ConfigError(f"dashboards: {exc}") from None


CONFIG = DashboardConfig(MONITORING)

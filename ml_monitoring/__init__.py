"""ml_monitoring: instrument a Python model service so the ML monitoring dashboards have data.

One monitor per model version records, around each prediction, latency, errors, in-flight
requests, the predicted class and score, input validation failures and outliers; computes data
drift (PSI, KS, Jensen-Shannon per feature against a reference) incrementally, quality on delayed
ground truth, concept drift, fairness per approved group, feedback and overrides; and emits them
under the metric names of docs/metrics.md through prometheus_client. See docs/instrumentation.md.

    from ml_monitoring import ModelMonitor
    monitor = ModelMonitor("breast-cancer", "v1", features=FEATURES, classes=CLASSES,
                           reference=X_train, baseline=(y_val, model.predict_proba(X_val)))
    with monitor.track(request_json) as t:
        if t.valid:
            t.set(proba=model.predict_proba([t.values])[0])

Label names and the concept-drift threshold come from the one monitoring configuration,
`ml_monitoring.config` (`monitoring.yaml`), shared with the dashboards, the rules and the demo.
"""

from ml_monitoring.drift import DriftWindow, Profile
from ml_monitoring.evaluation import EvaluationJob
from ml_monitoring.exposition import render, worker_exit
from ml_monitoring.monitor import Limits, ModelMonitor, Monitoring, Windows, default_hub
from ml_monitoring.schema import InputSchema, InvalidInput

__all__ = [
    "DriftWindow",
    "EvaluationJob",
    "InputSchema",
    "InvalidInput",
    "Limits",
    "ModelMonitor",
    "Monitoring",
    "Profile",
    "Windows",
    "default_hub",
    "render",
    "worker_exit",
]

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

# Imported on first use (PEP 562): `ml_monitoring.config` (the dashboards' and rules' config
# loader) must stay importable with the base dependencies, without numpy or prometheus_client.
_EXPORTS = {
    "DriftWindow": "ml_monitoring.drift",
    "Profile": "ml_monitoring.drift",
    "EvaluationJob": "ml_monitoring.evaluation",
    "render": "ml_monitoring.exposition",
    "worker_exit": "ml_monitoring.exposition",
    "Limits": "ml_monitoring.monitor",
    "ModelMonitor": "ml_monitoring.monitor",
    "Monitoring": "ml_monitoring.monitor",
    "Windows": "ml_monitoring.monitor",
    "default_hub": "ml_monitoring.monitor",
    "InputSchema": "ml_monitoring.schema",
    "InvalidInput": "ml_monitoring.schema",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ml_monitoring' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

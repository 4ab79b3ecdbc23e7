"""Batch evaluation jobs: score labelled predictions offline and report through the Pushgateway.

    job = EvaluationJob("breast-cancer", classes=CLASSES, pushgateway="http://127.0.0.1:9091",
                        schedule_interval=900)
    with job.run() as run:
        run.evaluate("v1", y_true, proba)
        run.window_end = end_of_the_data_window

A successful run replaces the model's group on the Pushgateway (PUT, `job="ml_evaluation"`,
grouping key the model label), so versions that disappeared do not linger; a run that raises
only adds its failure timestamp (POST), so the last good scores and the last-success timestamp
stay, then the exception propagates (a batch job should exit non-zero). Scrape the Pushgateway
with `honor_labels: true`. Without a Pushgateway the gauges live in `job.registry`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from prometheus_client import CollectorRegistry, push_to_gateway, pushadd_to_gateway

from ml_monitoring import stats
from ml_monitoring.metrics import EVALUATION_SPECS, MetricSet, Spec

JOB = "ml_evaluation"
FAILURE = "ml_evaluation_last_failure_timestamp_seconds"


class EvaluationJob:
    def __init__(self, model: str, *, classes, pushgateway: str | None = None,
                 schedule_interval: float, job: str = JOB, timeout: float = 10.0,
                 min_samples: int = 1,
                 clock: Callable[[], float] = time.time,
                 registry: CollectorRegistry | None = None) -> None:
        self.model = str(model)
        self.classes = tuple(str(c) for c in classes)
        self.pushgateway = pushgateway
        self.job = job
        self.timeout = timeout
        self.min_samples = min_samples  # fewer labelled predictions: the last scores stay
        self.last_scores: dict[str, dict[str, float]] = {}
        self.clock = clock
        self.registry = registry or CollectorRegistry()
        self.metrics = MetricSet(self.registry, EVALUATION_SPECS)
        self.metrics[FAILURE].labels(self.model).set(0)
        self.metrics["ml_evaluation_schedule_interval_seconds"].labels(self.model).set(
            schedule_interval)
        self._versions: set[str] = set()

    @property
    def grouping_key(self) -> dict[str, str]:
        return {self.metrics.names.model: self.model}

    def run(self) -> EvaluationRun:
        return EvaluationRun(self)

    def push(self) -> None:
        if self.pushgateway:
            push_to_gateway(self.pushgateway, job=self.job, grouping_key=self.grouping_key,
                            registry=self.registry, timeout=self.timeout)

    def _failed(self, when: float) -> None:
        self.metrics[FAILURE].labels(self.model).set(when)
        if self.pushgateway:
            only = CollectorRegistry()
            spec = next(s for s in EVALUATION_SPECS if s.name == FAILURE)
            MetricSet(only, (Spec(spec.name, spec.kind, spec.doc, spec.labels),))[FAILURE].labels(
                self.model).set(when)
            pushadd_to_gateway(self.pushgateway, job=self.job, grouping_key=self.grouping_key,
                               registry=only, timeout=self.timeout)


class EvaluationRun:
    """One run (context manager). `evaluate()` per version; `window_end` defaults to now."""

    def __init__(self, job: EvaluationJob) -> None:
        self.job = job
        self.window_end: float | None = None
        self.scores: dict[str, dict[str, float]] = {}
        self.samples: dict[str, int] = {}

    def evaluate(self, version: str, y_true, proba) -> dict[str, float]:
        """Score one version on labelled predictions (labels as class names or indices)."""
        index = {c: i for i, c in enumerate(self.job.classes)}
        y = np.asarray([v if isinstance(v, (int, np.integer)) else index[str(v)]
                        for v in np.asarray(y_true).tolist()], dtype=int)
        p = np.asarray(proba, dtype=float)
        version = str(version)
        self.samples[version] = len(y)
        if len(y) >= max(self.job.min_samples, 1):
            self.scores[version] = stats.classification_scores(y, p, len(self.job.classes))
        elif version in self.job.last_scores:
            self.scores[version] = self.job.last_scores[version]
        return self.scores.get(version, {})

    def __enter__(self) -> EvaluationRun:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        job = self.job
        now = job.clock()
        if exc is not None:
            job._failed(now)
            return False
        m, model = job.metrics, job.model
        quality, samples = m["ml_evaluation_quality_ratio"], m["ml_evaluation_samples"]
        for version in job._versions - set(self.samples):
            for metric in stats.QUALITY_METRICS:
                _remove(quality, model, version, metric)
            _remove(samples, model, version)
        for version, n in self.samples.items():
            samples.labels(model, version).set(n)
            for metric in stats.QUALITY_METRICS:
                if metric in self.scores.get(version, {}):
                    quality.labels(model, version, metric).set(self.scores[version][metric])
                else:
                    _remove(quality, model, version, metric)
        job._versions = set(self.samples)
        job.last_scores = dict(self.scores)
        m["ml_evaluation_duration_seconds"].labels(model).set(time.perf_counter() - self._t0)
        m["ml_evaluation_last_success_timestamp_seconds"].labels(model).set(now)
        m["ml_evaluation_window_end_timestamp_seconds"].labels(model).set(
            now if self.window_end is None else self.window_end)
        job.push()
        return False


def _remove(family, *labels) -> None:
    try:
        family.remove(*labels)
    except KeyError:
        pass

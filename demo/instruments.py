"""Prometheus instruments of the demo: counters/histograms, plus a collector for gauge snapshots.

Counters and histograms are prometheus-client objects updated as simulated requests happen.
Gauges (window scores, drift, info, simulated exporters) are recomputed by the simulation and
published as a whole snapshot, so series that stop existing (a retired pod, a changed `stage`)
disappear at once instead of lingering.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# `_created` series would be undocumented extra series for every counter and histogram.
prometheus_client.disable_created_metrics()

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
DELAY_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0)
OUTLIER_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)

MV = ("model", "version")


@dataclass
class Series:
    """One gauge or counter family in a snapshot."""

    kind: str  # gauge | counter
    doc: str
    labelnames: tuple[str, ...]
    samples: dict[tuple[str, ...], float] = field(default_factory=dict)

    def set(self, labelvalues: Iterable[str], value: float) -> None:
        self.samples[tuple(str(v) for v in labelvalues)] = float(value)


class Snapshot:
    """A full set of gauge/counter families built by the simulation, then published at once."""

    def __init__(self) -> None:
        self.families: dict[str, Series] = {}

    def family(self, name: str, kind: str, doc: str, labelnames: Iterable[str]) -> Series:
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = Series(kind, doc, tuple(labelnames))
        return fam

    def gauge(self, name: str, doc: str, labelnames: Iterable[str]) -> Series:
        return self.family(name, "gauge", doc, labelnames)

    def counter(self, name: str, doc: str, labelnames: Iterable[str]) -> Series:
        """`name` without `_total`, as prometheus-client families are named."""
        return self.family(name, "counter", doc, labelnames)


class SnapshotCollector(Collector):
    """Serves the last published snapshots (one slot per producer, e.g. simulation, evaluation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, Snapshot] = {}

    def publish(self, slot: str, snapshot: Snapshot | None) -> None:
        with self._lock:
            if snapshot is None:
                self._slots.pop(slot, None)
            else:
                self._slots[slot] = snapshot

    def collect(self):
        with self._lock:
            slots = list(self._slots.values())
        # A family several producers fill (e.g. the evaluation metrics of the classifier and
        # the LLM evaluation jobs) is exposed once, with the samples of all of them.
        merged: dict[str, Series] = {}
        for snap in slots:
            for name, fam in snap.families.items():
                into = merged.setdefault(name, Series(fam.kind, fam.doc, fam.labelnames))
                into.samples.update(fam.samples)
        for name, fam in merged.items():
            if not fam.samples:
                continue
            cls = GaugeMetricFamily if fam.kind == "gauge" else CounterMetricFamily
            metric = cls(name, fam.doc, labels=list(fam.labelnames))
            for values, value in sorted(fam.samples.items()):
                metric.add_metric(list(values), value)
            yield metric


class Instruments:
    """The registry served on /metrics and every counter/histogram the service updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.snapshots = SnapshotCollector()
        r.register(self.snapshots)
        self.requests = Counter(
            "ml_inference_requests", "Inference requests finished, by status.",
            (*MV, "status"), registry=r)
        self.predictions = Counter(
            "ml_predictions", "Predictions returned.", MV, registry=r)
        self.duration = Histogram(
            "ml_inference_duration_seconds", "End-to-end request latency (simulated).",
            MV, buckets=LATENCY_BUCKETS, registry=r)
        self.queue_duration = Histogram(
            "ml_inference_queue_duration_seconds", "Time a request waited in the queue.",
            ("model",), buckets=QUEUE_BUCKETS, registry=r)
        self.labeled = Counter(
            "ml_labeled_predictions", "Predictions whose ground truth arrived, by correctness.",
            (*MV, "correct"), registry=r)
        self.outcomes = Counter(
            "ml_classification_outcomes", "One-vs-rest confusion counts per class.",
            (*MV, "class", "outcome"), registry=r)
        self.ground_truth = Counter(
            "ml_ground_truth_received", "Ground-truth labels joined to a prediction.",
            MV, registry=r)
        self.ground_truth_delay = Histogram(
            "ml_ground_truth_delay_seconds", "Delay between prediction and ground truth.",
            ("model",), buckets=DELAY_BUCKETS, registry=r)
        self.score = Histogram(
            "ml_prediction_score", "Probability of the predicted class (confidence).",
            MV, buckets=SCORE_BUCKETS, registry=r)
        self.predicted_class = Counter(
            "ml_predicted_class", "Predictions per predicted class.", (*MV, "class"), registry=r)
        self.errors = Counter(
            "ml_prediction_errors", "Failed requests by cause.", (*MV, "error_type"), registry=r)
        self.validation = Counter(
            "ml_input_validation_failures", "Input values rejected by validation.",
            ("model", "feature", "reason"), registry=r)
        self.outliers = Counter(
            "ml_outliers", "Requests flagged as outliers.", ("model", "detector"), registry=r)
        self.outlier_score = Histogram(
            "ml_outlier_score", "Outlier score (squared Mahalanobis distance).",
            ("model", "detector"), buckets=OUTLIER_BUCKETS, registry=r)
        self.group_predictions = Counter(
            "ml_group_predictions", "Predictions per fairness group and outcome.",
            (*MV, "attribute", "group", "outcome"), registry=r)
        self.logged = Counter(
            "ml_predictions_logged", "Predictions written to the audit log.", MV, registry=r)
        self.feedback = Counter(
            "ml_feedback", "User feedback on predictions.", (*MV, "feedback"), registry=r)
        self.overrides = Counter(
            "ml_prediction_overrides", "Predictions a human reviewer overrode.", MV, registry=r)

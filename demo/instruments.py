"""Prometheus instruments of the demo: the ml_monitoring hub, plus a collector for snapshots.

The model service's metrics come from the instrumentation library (`ml_monitoring`), fed by the
simulated requests. The simulated exporters and the demo's own control gauges are recomputed by
the simulation and published as a whole snapshot, so series that stop existing (a retired pod)
disappear at once instead of lingering.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import prometheus_client
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# `_created` series would be undocumented extra series for every counter and histogram.
prometheus_client.disable_created_metrics()

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

    def publish(self, slot: str, snapshot: Snapshot | Collector | None) -> None:
        """Serve `snapshot` (or, for a collector such as a registry, what it collects)."""
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
            if not isinstance(snap, Snapshot):
                yield from snap.collect()
                continue
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
    """The registry served on /metrics: the ml_monitoring hub's families plus the snapshots.

    The model service's own metrics (every `ml_*` family of docs/metrics.md except the batch
    evaluation's) are created and computed by the instrumentation library, `ml_monitoring`,
    exactly as in a user's service; the simulation feeds it requests. The attributes below are
    the library's families under the names the demo's modules use.
    """

    def __init__(self) -> None:
        from ml_monitoring import Monitoring

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.snapshots = SnapshotCollector()
        r.register(self.snapshots)
        # windows and thresholds are the library's defaults (docs/metrics.md gives the demo's
        # values, which are those); the simulation sets the clock and refreshes itself
        self.hub = Monitoring(r, background=False)
        m = self.hub.metrics
        self.requests = m["ml_inference_requests"]
        self.predictions = m["ml_predictions"]
        self.duration = m["ml_inference_duration_seconds"]
        self.queue_duration = m["ml_inference_queue_duration_seconds"]
        self.labeled = m["ml_labeled_predictions"]
        self.outcomes = m["ml_classification_outcomes"]
        self.ground_truth = m["ml_ground_truth_received"]
        self.ground_truth_delay = m["ml_ground_truth_delay_seconds"]
        self.score = m["ml_prediction_score"]
        self.predicted_class = m["ml_predicted_class"]
        self.errors = m["ml_prediction_errors"]
        self.validation = m["ml_input_validation_failures"]
        self.outliers = m["ml_outliers"]
        self.outlier_score = m["ml_outlier_score"]
        self.group_predictions = m["ml_group_predictions"]
        self.logged = m["ml_predictions_logged"]
        self.feedback = m["ml_feedback"]
        self.overrides = m["ml_prediction_overrides"]

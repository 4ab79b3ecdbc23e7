"""The batch evaluation job: re-scores each model on the labelled predictions since its last run.

It runs inside the demo on a simulated schedule (at start-up, then every 15 simulated minutes)
and reports like a real batch job: pushed to a Pushgateway (`job="ml_evaluation"`, grouping key
`model`, PUT on success so the group is replaced, POST of the failure timestamp only on failure)
when a Pushgateway URL is given, otherwise exposed on the demo's own /metrics under the same
names and labels.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import CollectorRegistry, push_to_gateway, pushadd_to_gateway

from demo.instruments import Snapshot, SnapshotCollector
from demo.labels import grouping_key, renamed
from demo.quality import QUALITY_METRICS, classification_scores

JOB = "ml_evaluation"
FIRST_RUN = 0.0  # simulated seconds after start-up (the warm-up already collected labels)
INTERVAL = 900.0  # simulated seconds between runs
MIN_SAMPLES = 10
MAX_BUFFER = 5000


@dataclass
class ModelEvaluation:
    buffers: dict[str, list] = field(default_factory=dict)  # version -> [(y, proba)]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    last_success: float | None = None
    last_failure: float = 0.0
    duration: float = 0.0
    window_end: float = 0.0
    newest_label_wall: float = 0.0


class EvaluationJob:
    def __init__(self, snapshots: SnapshotCollector, pushgateway: str | None = None) -> None:
        self.snapshots = snapshots
        self.pushgateway = pushgateway
        self.models: dict[str, ModelEvaluation] = {}
        self.next_run = FIRST_RUN
        self._push_warned = False

    def record(self, model: str, version: str, y_true: int, proba, arrival_sim: float) -> None:
        ev = self.models.setdefault(model, ModelEvaluation())
        buf = ev.buffers.setdefault(version, [])
        buf.append((y_true, proba))
        if len(buf) > MAX_BUFFER:
            del buf[: len(buf) - MAX_BUFFER]

    def maybe_run(self, state, active, now_sim: float, clock) -> None:
        if now_sim < self.next_run:
            return
        while self.next_run <= now_sim:
            self.next_run += INTERVAL
        failing = {inc.model for inc in active if inc.kind == "evaluation_stale"}
        wall_now = clock.wall_at(now_sim)
        interval_wall = INTERVAL / clock.speed
        for name, st in state.items():
            ev = self.models.setdefault(name, ModelEvaluation())
            if name in failing:
                ev.last_failure = wall_now
                self._push(name, ev, interval_wall, success=False)
                continue
            t0 = time.perf_counter()
            n_classes = len(st.model.classes)
            for version, buf in ev.buffers.items():
                ev.samples[version] = len(buf)
                if len(buf) >= MIN_SAMPLES:
                    y = np.array([a for a, _ in buf])
                    p = np.vstack([b for _, b in buf])
                    ev.scores[version] = classification_scores(y, p, n_classes)
                buf.clear()
            ev.duration = time.perf_counter() - t0
            ev.last_success = wall_now
            ev.window_end = wall_now
            self._push(name, ev, interval_wall, success=True)
        if not self.pushgateway:
            self.snapshots.publish("evaluation", self.snapshot(interval_wall))

    # ------------------------------------------------------------------ output
    def snapshot(self, interval_wall: float, only: str | None = None,
                 failure_only: bool = False) -> Snapshot:
        snap = Snapshot()
        fail = snap.gauge("ml_evaluation_last_failure_timestamp_seconds",
                          "When the last evaluation run failed (0 = never).", ("model",))
        if not failure_only:
            q = snap.gauge("ml_evaluation_quality_ratio", "Scores of the last successful "
                           "evaluation run.", ("model", "version", "metric"))
            n = snap.gauge("ml_evaluation_samples", "Labelled predictions the last run "
                           "evaluated.", ("model", "version"))
            d = snap.gauge("ml_evaluation_duration_seconds", "Runtime of the last successful "
                           "run.", ("model",))
            ok = snap.gauge("ml_evaluation_last_success_timestamp_seconds", "When the last "
                            "evaluation run succeeded.", ("model",))
            we = snap.gauge("ml_evaluation_window_end_timestamp_seconds", "End of the data "
                            "window the last successful run evaluated.", ("model",))
            si = snap.gauge("ml_evaluation_schedule_interval_seconds", "How often the "
                            "evaluation job is scheduled (wall-clock seconds).", ("model",))
        for name, ev in sorted(self.models.items()):
            if only is not None and name != only:
                continue
            fail.set((name,), ev.last_failure)
            if failure_only or ev.last_success is None:
                continue
            for version, scores in ev.scores.items():
                for metric in QUALITY_METRICS:
                    if metric in scores:
                        q.set((name, version, metric), scores[metric])
            for version, count in ev.samples.items():
                n.set((name, version), count)
            d.set((name,), ev.duration)
            ok.set((name,), ev.last_success)
            we.set((name,), ev.window_end)
            si.set((name,), interval_wall)
        return snap

    def _push(self, name: str, ev: ModelEvaluation, interval_wall: float, success: bool) -> None:
        if not self.pushgateway:
            return
        registry = CollectorRegistry()
        snap_collector = SnapshotCollector()
        snap_collector.publish(
            "push", self.snapshot(interval_wall, only=name, failure_only=not success))
        registry.register(snap_collector)
        push = push_to_gateway if success else pushadd_to_gateway
        try:
            push(self.pushgateway, job=JOB, grouping_key=grouping_key({"model": name}),
                 registry=renamed(registry), timeout=5)
        except Exception as exc:  # noqa: BLE001 - a down Pushgateway must not stop the demo
            if not self._push_warned:
                print(f"demo: warning: push to {self.pushgateway} failed: {exc}",
                      file=sys.stderr)
                self._push_warned = True

"""The batch evaluation job: re-scores each model on the labelled predictions since its last run.

It runs inside the demo on a simulated schedule (at start-up, then every 15 simulated minutes)
through the instrumentation library's batch mode (`ml_monitoring.EvaluationJob`), so it reports
like a real batch job: pushed to a Pushgateway (`job="ml_evaluation"`, grouping key `model`, PUT
on success so the group is replaced, POST of the failure timestamp only on failure) when a
Pushgateway URL is given, otherwise exposed on the demo's own /metrics under the same names and
labels.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from demo.instruments import SnapshotCollector
from ml_monitoring import EvaluationJob as LibraryJob

JOB = "ml_evaluation"
FIRST_RUN = 0.0  # simulated seconds after start-up (the warm-up already collected labels)
INTERVAL = 900.0  # simulated seconds between runs
MIN_SAMPLES = 10  # fewer labels since the last run: the version keeps its last scores
MAX_BUFFER = 5000


class SimulatedFailure(RuntimeError):
    """The `evaluation_stale` incident: the job fails every run."""


@dataclass
class ModelEvaluation:
    buffers: dict[str, list] = field(default_factory=dict)  # version -> [(y, proba)]
    job: LibraryJob | None = None


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
        for name, st in state.items():
            ev = self.models.setdefault(name, ModelEvaluation())
            if ev.job is None:
                ev.job = LibraryJob(name, classes=st.model.classes, pushgateway=self.pushgateway,
                                    schedule_interval=INTERVAL / clock.speed, job=JOB,
                                    timeout=5.0, min_samples=MIN_SAMPLES)
                if not self.pushgateway:
                    self.snapshots.publish(f"evaluation/{name}", ev.job.registry)
            ev.job.clock = lambda t=wall_now: t
            try:
                with ev.job.run() as run:
                    if name in failing:
                        raise SimulatedFailure(f"{name}: evaluation_stale incident")
                    for version, buf in ev.buffers.items():
                        y = np.array([a for a, _ in buf], dtype=int)
                        p = np.vstack([b for _, b in buf]) if buf else np.empty((0, 2))
                        run.evaluate(version, y, p)
                        buf.clear()
                    run.window_end = wall_now
            except SimulatedFailure:
                pass
            except Exception as exc:  # noqa: BLE001 - a down Pushgateway must not stop the demo
                if not self._push_warned:
                    print(f"demo: warning: push to {self.pushgateway} failed: {exc}",
                          file=sys.stderr)
                    self._push_warned = True

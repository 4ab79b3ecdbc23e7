"""The simulated request stream: real predictions, delayed ground truth, windows and scores.

Time: the simulation advances in *simulated* seconds (`speed` per wall second). Traffic
counters count simulated requests, so their Prometheus rates are `speed` times the simulated
rate. Timestamps exported (`…_timestamp_seconds`) are wall-clock Unix times of the event, so
`time() - x` works in PromQL. Resource counters of the simulated exporters (CPU seconds, CFS
periods) advance in wall time so that their rates stay physical at any speed.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from demo.evaluation import EvaluationJob
from demo.exporters import InfraSimulator, pod_name
from demo.instruments import Instruments, Snapshot
from demo.models import JITTER, TrainedModel, TrainedVersion
from demo.scenario import SCENARIOS, Scenario, routing
from demo.stacks.base import StackEmitter
from ml_monitoring import InputSchema, ModelMonitor

# Window sizes and export rules are the instrumentation library's defaults (ml_monitoring.Windows:
# drift and output windows 400, quality 1000 exported from 200, fairness 4000 from 2000 with 300
# a side), which docs/metrics.md documents for the demo.
MAX_ROWS_PER_TICK = 150  # per model: caps CPU at high --speed
GROUND_TRUTH_COVERAGE = 0.8
GROUND_TRUTH_MEDIAN_DELAY = 120.0  # simulated seconds
FEEDBACK_PROBABILITY = 0.1
ATTRIBUTE = "age_band"
GROUPS = ("under_40", "40_to_64", "65_plus")
GROUP_SHARES = (0.35, 0.40, 0.25)
ERROR_TYPES = ("timeout", "invalid_input", "model_exception", "dependency_unavailable")
TIMEOUT_SECONDS = 1.0  # the demo client's timeout: a timed-out request takes this + Exp(0.2) s
# Healthy failures per request (0.4 % in all). Timeouts take TIMEOUT_SECONDS or more, past the p99
# red line (latency_p99_crit_seconds, 1 s): at 0.2 % they filled 1 % of a 5-minute window of
# cancer-screening's requests with probability ~1e-4 per time-scaled window (~4 demo-minutes),
# and a CI healthy run saw its 5m p99 red (1.03-1.05 s) for three samples. At 0.05 %: ~5e-9
# (tests/unit/test_demo_latency_noise.py, docs/decisions.md).
BASE_ERROR_SHARES = {"timeout": 0.0005, "model_exception": 0.0025, "dependency_unavailable": 0.001}
CORRUPT_PROBABILITY = 0.004  # rows with a missing or absurd value (rejected by validation)
ANALYTICS_EVERY = 1.0  # wall seconds between recomputations of window scores
WARM_UP = 1200.0  # simulated seconds of healthy traffic served before start-up


class Clock:
    """Simulated time = wall seconds since start x speed. Tests substitute a manual clock."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.start_wall = time.time()
        self._start_mono = time.monotonic()

    def restart(self) -> None:
        """Make now simulated t=0 (after the warm-up)."""
        self.start_wall = time.time()
        self._start_mono = time.monotonic()

    def mono(self) -> float:
        return time.monotonic()

    def sim(self) -> float:
        return (self.mono() - self._start_mono) * self.speed

    def wall_at(self, sim_t: float) -> float:
        return self.start_wall + sim_t / self.speed


@dataclass
class VersionState:
    trained: TrainedVersion
    monitor: ModelMonitor | None = None  # created when the version is deployed
    latency_ema: float = 0.0
    in_progress: float = 0.0
    rows_last_tick: float = 0.0  # simulated requests routed here in the last tick


@dataclass
class ModelState:
    model: TrainedModel
    versions: dict[str, VersionState]
    pending: list = field(default_factory=list)  # heap of ground truth to arrive
    deployed: set = field(default_factory=set)
    queued: float = 0.0


class Simulation:
    def __init__(
        self,
        models: dict[str, TrainedModel],
        scenario: Scenario,
        speed: float,
        seed: int,
        instruments: Instruments,
        evaluation: EvaluationJob,
        clock: Clock | None = None,
        serving: StackEmitter | None = None,
        extensions: tuple | None = None,
        llm_renderer=None,
    ) -> None:
        self.models = models
        self.serving = serving  # --stack: the serving series in a stack's native names
        self.scenario = scenario
        self.clock = clock or Clock(speed)
        self.rng = np.random.default_rng(seed)
        self.inst = instruments
        self.evaluation = evaluation
        # further simulated services: warm_up(), step(now, active, clock) and
        # publish(snapshot, now, clock) are called with the classifier models'. Default: the
        # LLM models (demo/llm.py), registered on the same /metrics.
        if extensions is None:
            from demo.llm import LLMServing

            llm = LLMServing(scenario, speed, seed, instruments.snapshots,
                             evaluation.pushgateway, feedback=instruments.feedback,
                             renderer=llm_renderer)
            instruments.registry.register(llm.collector)
            extensions = (llm,)
        self.extensions = tuple(extensions)
        self.infra = InfraSimulator(models, speed)
        self.state = {
            name: ModelState(m, {v: VersionState(tv) for v, tv in m.versions.items()})
            for name, m in models.items()
        }
        self._seq = itertools.count()
        self._last_sim = 0.0
        self._last_wall = self.clock.mono()
        self._last_analytics = -math.inf
        self._now_sim = 0.0
        # the library stamps its own timestamps (drift runs) with the wall time of `now`
        self.hub = instruments.hub
        self.hub.clock = lambda: self.clock.wall_at(self._now_sim)

    # ------------------------------------------------------------------ set-up
    def _deploy(self, name: str, version: str, stage: str, share: float,
                deployed_at: float) -> None:
        """A version starts taking traffic: its monitor (and every series of it) appears."""
        st = self.state[name]
        if version in st.deployed:
            return
        st.deployed.add(version)
        if self.serving is not None:
            self.serving.deploy(name, version)
        m = st.model
        vs = st.versions[version]
        vs.monitor = self.hub.monitor(
            name, version,
            # model level: the reference window, the training ranges, the fairness groups
            features=m.features, classes=m.classes, reference=m.drift_reference,
            schema=InputSchema.from_ranges(m.features, m.train_min, m.train_max),
            favorable_class=m.classes[m.favorable_index], fairness={ATTRIBUTE: GROUPS},
            # version level
            stage=stage, approved=vs.trained.spec.approved,
            baseline=(m.baseline_y, vs.trained.reference_proba),
            framework="scikit-learn", algorithm=vs.trained.spec.algorithm,
            namespace="ml-serving", pod=pod_name(name, version),
            deployed_at=self.clock.wall_at(deployed_at), traffic_share=share,
            cost_budget_usd_per_hour=m.spec.budget_usd_per_hour,
            max_concurrency=m.spec.max_concurrency)

    # ------------------------------------------------------------------ main step
    def warm_up(self, seconds: float = WARM_UP, step: float = 30.0) -> None:
        """Serve `seconds` of healthy traffic before t=0, so every window is full at start-up.

        Without it a fresh demo would show no drift/quality/fairness scores for minutes
        (windows must fill first). Only traffic and ground truth run here; no incidents
        (they start at t >= 0), no exporter counters, no evaluation run.
        """
        t = -seconds
        self._last_sim = t
        while t < 0:
            t = min(t + step, 0.0)
            self._now_sim = t
            self._serve_traffic(t, [])
        for ext in self.extensions:
            ext.warm_up()
        self._last_sim = 0.0
        self._now_sim = 0.0
        self.hub.refresh()
        self.clock.restart()
        self._last_wall = self.clock.mono()

    def _serve_traffic(self, now_sim: float, active) -> None:
        dt = max(now_sim - self._last_sim, 0.0)
        self._last_sim = now_sim
        for name, st in self.state.items():
            incidents = {inc.kind: inc for inc in active if inc.model == name}
            table = routing(self.scenario, name, now_sim)
            for version, (stage, share, deployed_at) in table.items():
                self._deploy(name, version, stage, share, deployed_at)
            self._traffic(name, st, table, incidents, now_sim, dt)
            self._arrivals(name, st, now_sim)

    def step(self) -> None:
        """Advance to the current simulated time: traffic, ground truth, scores, exporters."""
        now_sim = self.clock.sim()
        now_mono = self.clock.mono()
        wall_dt = max(now_mono - self._last_wall, 0.0)
        self._last_wall = now_mono
        active = self.scenario.active(now_sim)
        self._now_sim = now_sim
        self._serve_traffic(now_sim, active)
        self.infra.step(self.state, active, now_sim, wall_dt, self.rng)
        if now_mono - self._last_analytics >= ANALYTICS_EVERY:
            self._last_analytics = now_mono
            self.hub.refresh()
        self.evaluation.maybe_run(self.state, active, now_sim, self.clock)
        for ext in self.extensions:
            ext.step(now_sim, active, self.clock)
        self.inst.snapshots.publish("simulation", self._publish(now_sim, active))

    # ------------------------------------------------------------------ traffic
    def _traffic(self, name, st: ModelState, table, incidents, now_sim, dt) -> None:
        m = st.model
        rng = self.rng
        n_sim = int(rng.poisson(m.spec.requests_per_second * dt))
        n = min(n_sim, MAX_ROWS_PER_TICK)
        live = [(v, share) for v, (_stage, share, _dep) in table.items() if share > 0]
        for vs in st.versions.values():
            vs.rows_last_tick = 0
        if n == 0 or not live:
            st.queued = 0.0
            return
        versions = [v for v, _ in live]
        shares = np.array([s for _, s in live])
        chosen = rng.choice(len(versions), size=n, p=shares / shares.sum())
        spike = incidents.get("latency_spike")
        st.queued = float(rng.poisson(m.spec.requests_per_second * (0.8 if spike else 0.002)))
        for k, version in enumerate(versions):
            rows = int((chosen == k).sum())
            if rows:
                self._serve(name, st, st.versions[version], version, rows, incidents, now_sim)
            # the simulated load (before the per-tick cap), which drives the exporters
            st.versions[version].rows_last_tick = rows * n_sim / n

    def _serve(self, name, st: ModelState, vs: VersionState, version, n, incidents, now_sim):
        """Simulate n requests to one version and feed each one to its monitor."""
        m, rng, mon = st.model, self.rng, vs.monitor
        idx = rng.integers(0, len(m.reference_y), size=n)
        X = m.reference_X[idx] + rng.normal(0.0, JITTER, size=(n, len(m.features))) * m.train_std
        y = m.reference_y[idx].copy()
        drift = incidents.get("feature_drift")
        if drift is not None:
            f = m.features.index(drift.params["feature"])
            X[:, f] += drift.params["shift"] * m.train_std[f]

        # Corrupt a few rows (a missing or absurd value): the monitor's validation rejects them.
        corrupt = rng.random(n) < CORRUPT_PROBABILITY
        for r in np.flatnonzero(corrupt):
            f = int(rng.integers(len(m.features)))
            span = m.train_max[f] - m.train_min[f]
            X[r, f] = np.nan if rng.random() < 0.5 else m.train_max[f] + 2.0 * span
        span = m.train_max - m.train_min
        invalid = np.isnan(X).any(axis=1) | (
            (X < m.train_min - 0.5 * span) | (X > m.train_max + 0.5 * span)).any(axis=1)

        # Other failures: base rates, plus the error burst.
        error_type = np.full(n, "", dtype=object)
        u = rng.random(n)
        lo = 0.0
        shares = dict(BASE_ERROR_SHARES)
        burst = incidents.get("error_burst")
        if burst is not None:
            ratio = burst.params["error_ratio"]
            shares["dependency_unavailable"] += 0.7 * ratio
            shares["timeout"] += 0.3 * ratio
        for et, p in shares.items():
            hit = (u >= lo) & (u < lo + p) & ~invalid & (error_type == "")
            error_type[hit] = et
            lo += p
        ok = ~invalid & (error_type == "")

        # Latency (simulated) + queueing; real compute time is added for served rows.
        spike = incidents.get("latency_spike")
        factor = spike.params["factor"] if spike else 1.0
        latency = vs.trained.spec.base_latency_seconds * factor * rng.lognormal(0.0, 0.35, n)
        queue = rng.exponential(0.3 if spike else 0.002, n)
        timeouts = error_type == "timeout"
        latency[timeouts] = TIMEOUT_SECONDS + rng.exponential(0.2, int(timeouts.sum()))
        n_ok = int(ok.sum())
        served = {}
        if n_ok:
            t0 = time.perf_counter()
            proba = vs.trained.estimator.predict_proba(X[ok])
            latency[ok] += (time.perf_counter() - t0) / n_ok
            served = self._outputs(m, X[ok], y[ok], proba, incidents)
            served = dict(zip(np.flatnonzero(ok).tolist(), served, strict=True))
        total = latency + queue
        if self.serving is not None:
            causes = np.where(invalid, "invalid_input", error_type)
            self.serving.record(name, version, ~ok, causes, total, queue)
        for r in range(n):
            mon.record_queue(float(queue[r]))
            out = served.get(r)
            if out is None:  # rejected by validation, or failed (timeout, feature store down)
                mon.record(X[r], error=error_type[r] or None, latency=float(total[r]),
                           at=now_sim)
                continue
            pred, proba_r, group, y_true, arrives, delay = out
            pid = mon.record(X[r], proba=proba_r, prediction=pred, latency=float(total[r]),
                             group={ATTRIBUTE: GROUPS[group]}, at=now_sim)
            if arrives and pid is not None:  # the world: ground truth arrives later
                heapq.heappush(st.pending, (now_sim + delay, next(self._seq), version, pid,
                                            y_true, proba_r))
        self._users(mon, served.values(), incidents, len(served))
        vs.latency_ema = 0.8 * vs.latency_ema + 0.2 * float(total.mean())
        vs.in_progress = float(rng.poisson(m.spec.requests_per_second * vs.latency_ema))

    def _outputs(self, m: TrainedModel, X, y, proba, incidents) -> list[tuple]:
        """Per served row: (served class, probabilities, group, true class, label arrives,
        label delay). Groups are random; a fairness gap flips favourable outcomes of one group;
        concept drift flips the truth."""
        rng = self.rng
        n = len(y)
        pred = proba.argmax(axis=1)
        group = rng.choice(len(GROUPS), size=n, p=GROUP_SHARES)
        gap = incidents.get("fairness_gap")
        if gap is not None:
            g = GROUPS.index(gap.params["group"])
            flip = (group == g) & (pred == m.favorable_index) & (rng.random(n) < gap.params["rate"])
            if flip.any():
                # the faulty rule serves the next most likely class instead
                pred[flip] = np.argsort(proba[flip], axis=1)[:, -2]
        y_true = y.copy()
        drop = incidents.get("accuracy_drop")
        if drop is not None:
            flip = rng.random(n) < drop.params["flip"]
            k = len(m.classes)
            y_true[flip] = (y_true[flip] + rng.integers(1, k, size=int(flip.sum()))) % k
        arrives = rng.random(n) < GROUND_TRUTH_COVERAGE
        delays = rng.lognormal(math.log(GROUND_TRUTH_MEDIAN_DELAY), 0.5, n)
        return list(zip(pred.tolist(), proba, group.tolist(), y_true.tolist(), arrives.tolist(),
                        delays.tolist(), strict=True))

    def _users(self, mon: ModelMonitor, served, incidents, n: int) -> None:
        """Users: feedback follows correctness; reviewers override wrong predictions."""
        if not n:
            return
        rng = self.rng
        correct = np.array([pred == y_true for pred, _, _, y_true, _, _ in served])
        fb = incidents.get("feedback_drop")
        p_fb = FEEDBACK_PROBABILITY * (fb.params["factor"] if fb else 1.0)
        gives = rng.random(n) < p_fb
        positive = np.where(correct, rng.random(n) < 0.9, rng.random(n) < 0.15)
        n_pos = int((gives & positive).sum())
        n_neg = int((gives & ~positive).sum())
        if n_pos:
            mon.feedback(True, count=n_pos)
        if n_neg:
            mon.feedback(False, count=n_neg)
        overridden = int(np.where(correct, rng.random(n) < 0.01, rng.random(n) < 0.25).sum())
        if overridden:
            mon.override(count=overridden)
        p_log = 0.9 if incidents.get("error_burst") else 0.999
        logged = int((rng.random(n) < p_log).sum())
        if logged:
            mon.logged(logged)

    def _arrivals(self, name: str, st: ModelState, now_sim: float) -> None:
        while st.pending and st.pending[0][0] <= now_sim:
            arrival, _, version, pid, y_true, proba = heapq.heappop(st.pending)
            st.versions[version].monitor.ground_truth(pid, y_true, at=arrival)
            self.evaluation.record(name, version, y_true, proba, arrival)

    # ------------------------------------------------------------------ publishing
    def _publish(self, now_sim: float, active) -> Snapshot:
        """Router facts into the monitors; the exporters' and the demo's own series as a
        snapshot."""
        snap = Snapshot()
        for name, st in self.state.items():
            table = routing(self.scenario, name, now_sim)
            for version, (stage, traffic, deployed_at) in table.items():
                vs = st.versions[version]
                mon = vs.monitor
                mon.set_queued(st.queued)
                if mon.stage != stage:
                    mon.set_stage(stage)
                mon.set_in_flight(vs.in_progress if traffic > 0 else 0.0)
                mon.set_traffic_share(traffic)
                mon.set_deployed(self.clock.wall_at(deployed_at))
        self.infra.publish(snap, self.state, now_sim)
        if self.serving is not None:
            self.serving.publish(snap, self.state)
        for ext in self.extensions:
            ext.publish(snap, now_sim, self.clock)
        active_g = snap.gauge("demo_incident_active", "1 while the scheduled incident is "
                              "active.", ("scenario", "incident", "model"))
        active_set = {(inc.kind, inc.model) for inc in active}
        for inc in self.scenario.incidents:
            active_g.set((self.scenario.name, inc.kind, inc.model),
                         1.0 if (inc.kind, inc.model) in active_set else 0.0)
        snap.gauge("demo_simulated_time_seconds", "Simulated seconds since start-up.",
                   ("scenario",)).set((self.scenario.name,), now_sim)
        snap.gauge("demo_speed_ratio", "The --speed factor.", ()).set((), self.clock.speed)
        return snap


def build(scenario_name: str, speed: float, seed: int, instruments: Instruments,
          evaluation: EvaluationJob, serving: StackEmitter | None = None,
          llm_renderer=None) -> Simulation:
    from demo.models import train_all

    return Simulation(train_all(seed), SCENARIOS[scenario_name], speed, seed, instruments,
                      evaluation, serving=serving, llm_renderer=llm_renderer)

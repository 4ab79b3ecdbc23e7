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
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import chi2

from demo import drift as driftlib
from demo.evaluation import EvaluationJob
from demo.exporters import InfraSimulator, pod_name
from demo.instruments import Instruments, Snapshot
from demo.models import JITTER, TrainedModel, TrainedVersion
from demo.quality import (
    CONCEPT_DRIFT_Z_THRESHOLD,
    QUALITY_METRICS,
    classification_scores,
    concept_drift_z,
)
from demo.scenario import SCENARIOS, Scenario, routing

# Window sizes, and how full a window must be before its score is exported: a score from a
# half-empty window is noise (a PSI over 30 rows is ~0.3 on healthy data), and a noisy score
# would trip the alerts. Until then the score is absent, never faked.
WINDOW = 400  # requests in the drift / prediction-output windows (exported when full)
QUALITY_WINDOW = 1000  # labelled predictions behind ml_model_quality_ratio
MIN_QUALITY = 200
FAIRNESS_WINDOW = 4000  # predictions behind the per-group rates
MIN_FAIRNESS = 2000
MAX_ROWS_PER_TICK = 150  # per model: caps CPU at high --speed
GROUND_TRUTH_COVERAGE = 0.8
GROUND_TRUTH_MEDIAN_DELAY = 120.0  # simulated seconds
FEEDBACK_PROBABILITY = 0.1
ATTRIBUTE = "age_band"
GROUPS = ("under_40", "40_to_64", "65_plus")
GROUP_SHARES = (0.35, 0.40, 0.25)
ERROR_TYPES = ("timeout", "invalid_input", "model_exception", "dependency_unavailable")
BASE_ERROR_SHARES = {"timeout": 0.002, "model_exception": 0.001, "dependency_unavailable": 0.001}
CORRUPT_PROBABILITY = 0.004  # rows with a missing or absurd value (rejected by validation)
OUTLIER_DETECTOR = "mahalanobis"
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
    outputs: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    quality: deque = field(default_factory=lambda: deque(maxlen=QUALITY_WINDOW))
    fairness: deque = field(default_factory=lambda: deque(maxlen=FAIRNESS_WINDOW))
    latency_ema: float = 0.0
    in_progress: float = 0.0
    rows_last_tick: float = 0.0  # simulated requests routed here in the last tick


@dataclass
class ModelState:
    model: TrainedModel
    versions: dict[str, VersionState]
    drift_rows: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    labels: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    pending: list = field(default_factory=list)  # heap of ground truth to arrive
    deployed: set = field(default_factory=set)
    queued: float = 0.0
    drift_last_run: float = 0.0


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
        extensions: tuple | None = None,
        llm_renderer=None,
    ) -> None:
        self.models = models
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
        self._analytics = Snapshot()
        self._outlier_cut = {
            name: float(chi2.ppf(0.999, df=len(m.features))) for name, m in models.items()
        }
        for name, st in self.state.items():
            self._init_model(name, st)

    # ------------------------------------------------------------------ set-up
    def _init_model(self, name: str, st: ModelState) -> None:
        for feature in st.model.features:
            for reason in ("missing", "out_of_range"):
                self.inst.validation.labels(name, feature, reason)
        self.inst.outliers.labels(name, OUTLIER_DETECTOR)
        self.inst.outlier_score.labels(name, OUTLIER_DETECTOR)
        self.inst.queue_duration.labels(name)
        self.inst.ground_truth_delay.labels(name)

    def _deploy(self, name: str, version: str) -> None:
        st = self.state[name]
        if version in st.deployed:
            return
        st.deployed.add(version)
        i, m = self.inst, st.model
        for status in ("success", "error"):
            i.requests.labels(name, version, status)
        i.predictions.labels(name, version)
        i.duration.labels(name, version)
        i.score.labels(name, version)
        i.ground_truth.labels(name, version)
        i.logged.labels(name, version)
        i.overrides.labels(name, version)
        for correct in ("true", "false"):
            i.labeled.labels(name, version, correct)
        for cls in m.classes:
            i.predicted_class.labels(name, version, cls)
            for outcome in ("tp", "fp", "tn", "fn"):
                i.outcomes.labels(name, version, cls, outcome)
        for et in ERROR_TYPES:
            i.errors.labels(name, version, et)
        for g in GROUPS:
            for outcome in ("favorable", "unfavorable"):
                i.group_predictions.labels(name, version, ATTRIBUTE, g, outcome)
        for fb in ("positive", "negative"):
            i.feedback.labels(name, version, fb)

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
            self._serve_traffic(t, [])
        for ext in self.extensions:
            ext.warm_up()
        self._last_sim = 0.0
        self._analytics = self._compute_analytics(0.0)
        self.clock.restart()
        self._last_wall = self.clock.mono()

    def _serve_traffic(self, now_sim: float, active) -> None:
        dt = max(now_sim - self._last_sim, 0.0)
        self._last_sim = now_sim
        for name, st in self.state.items():
            incidents = {inc.kind: inc for inc in active if inc.model == name}
            table = routing(self.scenario, name, now_sim)
            for version in table:
                self._deploy(name, version)
            self._traffic(name, st, table, incidents, now_sim, dt)
            self._arrivals(name, st, now_sim)

    def step(self) -> None:
        """Advance to the current simulated time: traffic, ground truth, scores, exporters."""
        now_sim = self.clock.sim()
        now_mono = self.clock.mono()
        wall_dt = max(now_mono - self._last_wall, 0.0)
        self._last_wall = now_mono
        active = self.scenario.active(now_sim)
        self._serve_traffic(now_sim, active)
        self.infra.step(self.state, active, now_sim, wall_dt, self.rng)
        if now_mono - self._last_analytics >= ANALYTICS_EVERY:
            self._last_analytics = now_mono
            self._analytics = self._compute_analytics(now_sim)
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
        m, rng, i = st.model, self.rng, self.inst
        idx = rng.integers(0, len(m.reference_y), size=n)
        X = m.reference_X[idx] + rng.normal(0.0, JITTER, size=(n, len(m.features))) * m.train_std
        y = m.reference_y[idx].copy()
        drift = incidents.get("feature_drift")
        if drift is not None:
            f = m.features.index(drift.params["feature"])
            X[:, f] += drift.params["shift"] * m.train_std[f]

        # Corrupt a few rows, then validate like a real service would.
        corrupt = rng.random(n) < CORRUPT_PROBABILITY
        for r in np.flatnonzero(corrupt):
            f = int(rng.integers(len(m.features)))
            span = m.train_max[f] - m.train_min[f]
            X[r, f] = np.nan if rng.random() < 0.5 else m.train_max[f] + 2.0 * span
        span = m.train_max - m.train_min
        missing = np.isnan(X)
        out_of_range = ~missing & (
            (X < m.train_min - 0.5 * span) | (X > m.train_max + 0.5 * span)
        )
        for f, feature in enumerate(m.features):
            if missing[:, f].any():
                i.validation.labels(name, feature, "missing").inc(int(missing[:, f].sum()))
            if out_of_range[:, f].any():
                i.validation.labels(name, feature, "out_of_range").inc(
                    int(out_of_range[:, f].sum()))
        invalid = missing.any(axis=1) | out_of_range.any(axis=1)

        # Other failures: base rates, plus the error burst.
        error_type = np.full(n, "", dtype=object)
        error_type[invalid] = "invalid_input"
        u = rng.random(n)
        lo = 0.0
        shares = dict(BASE_ERROR_SHARES)
        burst = incidents.get("error_burst")
        if burst is not None:
            ratio = burst.params["error_ratio"]
            shares["dependency_unavailable"] += 0.7 * ratio
            shares["timeout"] += 0.3 * ratio
        for et, p in shares.items():
            hit = (u >= lo) & (u < lo + p) & (error_type == "")
            error_type[hit] = et
            lo += p
        failed = error_type != ""
        ok = ~failed

        # Latency (simulated) + queueing; real compute time is added for served rows.
        spike = incidents.get("latency_spike")
        factor = spike.params["factor"] if spike else 1.0
        latency = vs.trained.spec.base_latency_seconds * factor * rng.lognormal(0.0, 0.35, n)
        queue = rng.exponential(0.3 if spike else 0.002, n)
        latency[error_type == "timeout"] = 1.0 + rng.exponential(0.2, int(
            (error_type == "timeout").sum()))
        for et in ERROR_TYPES:
            c = int((error_type == et).sum())
            if c:
                i.errors.labels(name, version, et).inc(c)
        n_ok = int(ok.sum())
        n_failed = n - n_ok
        if n_failed:
            i.requests.labels(name, version, "error").inc(n_failed)

        if n_ok:
            t0 = time.perf_counter()
            proba = vs.trained.estimator.predict_proba(X[ok])
            compute = (time.perf_counter() - t0) / n_ok
            latency[ok] += compute
            self._served(name, st, vs, version, X[ok], y[ok], proba, incidents, now_sim)
        total = latency + queue
        for v in total:
            i.duration.labels(name, version).observe(float(v))
        qd = i.queue_duration.labels(name)
        for v in queue:
            qd.observe(float(v))
        vs.latency_ema = 0.8 * vs.latency_ema + 0.2 * float(total.mean())
        vs.in_progress = float(rng.poisson(m.spec.requests_per_second * vs.latency_ema))

    def _served(self, name, st: ModelState, vs: VersionState, version, X, y, proba, incidents,
                now_sim):
        m, rng, i = st.model, self.rng, self.inst
        n = len(y)
        pred = proba.argmax(axis=1)
        group = rng.choice(len(GROUPS), size=n, p=GROUP_SHARES)
        gap = incidents.get("fairness_gap")
        if gap is not None:
            g = GROUPS.index(gap.params["group"])
            flip = (group == g) & (pred == m.favorable_index) & (rng.random(n) < gap.params["rate"])
            if flip.any():
                # the faulty rule serves the next most likely class instead
                second = np.argsort(proba[flip], axis=1)[:, -2]
                pred[flip] = second
        confidence = proba[np.arange(n), pred]
        i.requests.labels(name, version, "success").inc(n)
        i.predictions.labels(name, version).inc(n)
        sc = i.score.labels(name, version)
        for c in confidence:
            sc.observe(float(c))
        counts = np.bincount(pred, minlength=len(m.classes))
        for k, cls in enumerate(m.classes):
            if counts[k]:
                i.predicted_class.labels(name, version, cls).inc(int(counts[k]))
        favorable = pred == m.favorable_index
        for g, gname in enumerate(GROUPS):
            in_g = group == g
            fav = int((in_g & favorable).sum())
            unf = int((in_g & ~favorable).sum())
            if fav:
                i.group_predictions.labels(name, version, ATTRIBUTE, gname, "favorable").inc(fav)
            if unf:
                i.group_predictions.labels(name, version, ATTRIBUTE, gname, "unfavorable").inc(unf)
        vs.fairness.extend(zip(group.tolist(), favorable.tolist(), strict=True))

        # Outliers: squared Mahalanobis distance to the training data.
        d = X - m.mean
        d2 = np.einsum("ij,jk,ik->i", d, m.inv_cov, d)
        os_ = i.outlier_score.labels(name, OUTLIER_DETECTOR)
        for v in d2:
            os_.observe(float(v))
        n_out = int((d2 > self._outlier_cut[name]).sum())
        if n_out:
            i.outliers.labels(name, OUTLIER_DETECTOR).inc(n_out)

        # The world: concept drift flips the truth; ground truth arrives later.
        y_true = y.copy()
        drop = incidents.get("accuracy_drop")
        if drop is not None:
            flip = rng.random(n) < drop.params["flip"]
            k = len(m.classes)
            y_true[flip] = (y_true[flip] + rng.integers(1, k, size=int(flip.sum()))) % k
        arrives = rng.random(n) < GROUND_TRUTH_COVERAGE
        delays = rng.lognormal(math.log(GROUND_TRUTH_MEDIAN_DELAY), 0.5, n)
        for r in np.flatnonzero(arrives):
            heapq.heappush(st.pending, (now_sim + float(delays[r]), next(self._seq), version,
                                        int(y_true[r]), proba[r], int(pred[r]), now_sim))

        # Users: feedback follows correctness; reviewers override wrong predictions.
        correct = pred == y_true
        fb = incidents.get("feedback_drop")
        p_fb = FEEDBACK_PROBABILITY * (fb.params["factor"] if fb else 1.0)
        gives = rng.random(n) < p_fb
        positive = np.where(correct, rng.random(n) < 0.9, rng.random(n) < 0.15)
        n_pos = int((gives & positive).sum())
        n_neg = int((gives & ~positive).sum())
        if n_pos:
            i.feedback.labels(name, version, "positive").inc(n_pos)
        if n_neg:
            i.feedback.labels(name, version, "negative").inc(n_neg)
        overridden = np.where(correct, rng.random(n) < 0.01, rng.random(n) < 0.25)
        if overridden.any():
            i.overrides.labels(name, version).inc(int(overridden.sum()))
        p_log = 0.9 if incidents.get("error_burst") else 0.999
        logged = int((rng.random(n) < p_log).sum())
        if logged:
            i.logged.labels(name, version).inc(logged)

        # Windows for drift and output distribution.
        st.drift_rows.extend(X)
        if len(m.classes) == 2:
            vs.outputs.extend(proba[:, 1].tolist())
        else:
            vs.outputs.extend(pred.tolist())

    def _arrivals(self, name: str, st: ModelState, now_sim: float) -> None:
        i, m = self.inst, st.model
        while st.pending and st.pending[0][0] <= now_sim:
            arrival, _, version, y_true, proba, pred, t_pred = heapq.heappop(st.pending)
            vs = st.versions[version]
            i.ground_truth.labels(name, version).inc()
            i.ground_truth_delay.labels(name).observe(arrival - t_pred)
            i.labeled.labels(name, version, "true" if pred == y_true else "false").inc()
            for k, cls in enumerate(m.classes):
                if pred == k:
                    outcome = "tp" if y_true == k else "fp"
                else:
                    outcome = "fn" if y_true == k else "tn"
                i.outcomes.labels(name, version, cls, outcome).inc()
            vs.quality.append((y_true, proba))
            st.labels.append(y_true)
            self.evaluation.record(name, version, y_true, proba, arrival)

    # ------------------------------------------------------------------ analytics
    def _compute_analytics(self, now_sim: float) -> Snapshot:
        snap = Snapshot()
        q = snap.gauge("ml_model_quality_ratio", "Online quality over the labelled window.",
                       ("model", "version", "metric"))
        qn = snap.gauge("ml_model_quality_window_samples", "Labelled predictions in the window.",
                        ("model", "version"))
        cz = snap.gauge("ml_concept_drift_score",
                        "Window error rate above the validation error rate, in standard errors.",
                        ("model", "version"))
        cd = snap.gauge("ml_concept_drift_detected", "1 when the concept-drift score >= 3.",
                        ("model", "version"))
        fs = snap.gauge("ml_feature_drift_score", "Feature drift vs the reference window.",
                        ("model", "feature", "method"))
        fp = snap.gauge("ml_feature_drift_pvalue", "KS test p-value.", ("model", "feature"))
        fd = snap.gauge("ml_feature_drift_detected", "1 when score >= threshold.",
                        ("model", "feature", "method"))
        nd = snap.gauge("ml_drifted_features", "Features drifted under psi.", ("model",))
        nr = snap.gauge("ml_drifted_features_ratio", "Share of features drifted under psi.",
                        ("model",))
        dd = snap.gauge("ml_dataset_drift_detected", "1 when any feature drifted under psi.",
                        ("model",))
        ws = snap.gauge("ml_drift_window_samples", "Requests in the drift window.", ("model",))
        lr = snap.gauge("ml_drift_last_run_timestamp_seconds", "Last drift computation.",
                        ("model",))
        pd_ = snap.gauge("ml_prediction_drift_score", "Output drift vs the validation outputs.",
                         ("model", "version", "method"))
        td = snap.gauge("ml_target_drift_score", "Ground-truth class drift vs training labels.",
                        ("model", "method"))
        gr = snap.gauge("ml_group_favorable_outcome_ratio", "Favourable rate of the group.",
                        ("model", "version", "attribute", "group"))
        spd = snap.gauge("ml_fairness_parity_difference",
                         "Favourable rate of the group minus that of the other groups.",
                         ("model", "version", "attribute", "group"))
        dir_ = snap.gauge("ml_fairness_disparate_impact_ratio",
                          "Favourable rate of the group over that of the other groups.",
                          ("model", "version", "attribute", "group"))
        wall_now = self.clock.wall_at(now_sim)
        for name, st in self.state.items():
            m = st.model
            for version, vs in st.versions.items():
                if version not in st.deployed:
                    continue
                qn.set((name, version), len(vs.quality))
                if len(vs.quality) >= MIN_QUALITY:
                    yt = np.array([a for a, _ in vs.quality])
                    pr = np.vstack([b for _, b in vs.quality])
                    scores = classification_scores(yt, pr, len(m.classes))
                    for metric in QUALITY_METRICS:
                        if metric in scores:
                            q.set((name, version, metric), scores[metric])
                    z = concept_drift_z(scores["accuracy"], vs.trained.baseline["accuracy"],
                                        len(yt))
                    cz.set((name, version), z)
                    cd.set((name, version), 1.0 if z >= CONCEPT_DRIFT_Z_THRESHOLD else 0.0)
                if len(vs.outputs) >= WINDOW:
                    out = np.asarray(vs.outputs)
                    if len(m.classes) == 2:
                        edges = np.linspace(0.1, 0.9, 9)
                        a = driftlib.binned_shares(out, edges)
                        e = driftlib.binned_shares(vs.trained.reference_proba[:, 1], edges)
                    else:
                        a = driftlib.categorical_shares(out, len(m.classes))
                        e = driftlib.categorical_shares(
                            vs.trained.reference_proba.argmax(axis=1), len(m.classes))
                    pd_.set((name, version, "psi"), driftlib.psi_from_shares(a, e))
                    pd_.set((name, version, "jensenshannon"), driftlib.js_from_shares(a, e))
                if len(vs.fairness) >= MIN_FAIRNESS:
                    arr = np.asarray(vs.fairness, dtype=float)
                    for g, gname in enumerate(GROUPS):
                        in_g = arr[:, 0] == g
                        if in_g.sum() < 300 or (~in_g).sum() < 300:
                            continue
                        rate_g = float(arr[in_g, 1].mean())
                        rate_rest = float(arr[~in_g, 1].mean())
                        labels = (name, version, ATTRIBUTE, gname)
                        gr.set(labels, rate_g)
                        spd.set(labels, rate_g - rate_rest)
                        if rate_rest > 0:
                            dir_.set(labels, rate_g / rate_rest)
            ws.set((name,), len(st.drift_rows))
            if len(st.drift_rows) >= WINDOW:
                window = np.vstack(st.drift_rows)
                drifted = 0
                for f, feature in enumerate(m.features):
                    res = driftlib.feature_drift(window[:, f], m.drift_reference[:, f])
                    for method in driftlib.DRIFT_METHODS:
                        value = res[method]
                        hit = value >= driftlib.DEFAULT_THRESHOLDS[method]
                        fs.set((name, feature, method), value)
                        fd.set((name, feature, method), 1.0 if hit else 0.0)
                        if method == driftlib.PRIMARY_METHOD and hit:
                            drifted += 1
                    fp.set((name, feature), res["ks_pvalue"])
                nd.set((name,), drifted)
                nr.set((name,), drifted / len(m.features))
                dd.set((name,), 1.0 if drifted else 0.0)
                st.drift_last_run = wall_now
            if st.drift_last_run:
                lr.set((name,), st.drift_last_run)
            if len(st.labels) >= WINDOW:
                a = driftlib.categorical_shares(np.asarray(st.labels), len(m.classes))
                e = driftlib.categorical_shares(m.reference_y, len(m.classes))
                td.set((name, "psi"), driftlib.psi_from_shares(a, e))
                td.set((name, "jensenshannon"), driftlib.js_from_shares(a, e))
        return snap

    # ------------------------------------------------------------------ publishing
    def _publish(self, now_sim: float, active) -> Snapshot:
        snap = Snapshot()
        snap.families.update(self._analytics.families)
        base = snap.gauge("ml_model_baseline_quality_ratio", "Scores on the validation split.",
                          ("model", "version", "metric"))
        thr = snap.gauge("ml_feature_drift_threshold", "Drift threshold per feature and method.",
                         ("model", "feature", "method"))
        inflight = snap.gauge("ml_inference_in_progress_requests", "Requests in progress.",
                              ("model", "version"))
        queued = snap.gauge("ml_inference_queued_requests", "Requests waiting in the queue.",
                            ("model",))
        maxc = snap.gauge("ml_inference_max_concurrency", "Configured worker concurrency.",
                          ("model",))
        budget = snap.gauge("ml_cost_budget_usd_per_hour", "Hourly cost budget of the model.",
                            ("model",))
        info = snap.gauge("ml_model_info", "Loaded model versions (value 1).",
                          ("model", "version", "stage", "approved", "framework", "algorithm",
                           "namespace", "pod"))
        deployed = snap.gauge("ml_model_deployed_timestamp_seconds", "When the version was "
                              "deployed.", ("model", "version"))
        share = snap.gauge("ml_model_traffic_share_ratio", "Configured traffic share.",
                           ("model", "version"))
        for name, st in self.state.items():
            m = st.model
            table = routing(self.scenario, name, now_sim)
            queued.set((name,), st.queued)
            maxc.set((name,), m.spec.max_concurrency)
            budget.set((name,), m.spec.budget_usd_per_hour)
            for feature in m.features:
                for method, value in driftlib.DEFAULT_THRESHOLDS.items():
                    thr.set((name, feature, method), value)
            for version, (stage, traffic, deployed_at) in table.items():
                vs = st.versions[version]
                for metric, value in vs.trained.baseline.items():
                    base.set((name, version, metric), value)
                inflight.set((name, version), vs.in_progress if traffic > 0 else 0.0)
                info.set((name, version, stage, str(vs.trained.spec.approved).lower(),
                          "scikit-learn", vs.trained.spec.algorithm, "ml-serving",
                          pod_name(name, version)), 1.0)
                deployed.set((name, version), self.clock.wall_at(deployed_at))
                share.set((name, version), traffic)
        self.infra.publish(snap, self.state, now_sim)
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
          evaluation: EvaluationJob, llm_renderer=None) -> Simulation:
    from demo.models import train_all

    return Simulation(train_all(seed), SCENARIOS[scenario_name], speed, seed, instruments,
                      evaluation, llm_renderer=llm_renderer)

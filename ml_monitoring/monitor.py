"""Per-model monitors: what happens around each prediction, and the windows behind the gauges.

A :class:`Monitoring` hub owns the metric families of one registry, the per-model state shared by
the versions of a model (input validation, drift window, outlier detector, pending ground truth)
and a background thread that turns the windows into gauges every `refresh_interval` seconds.
A :class:`ModelMonitor` is one (model, version): it records predictions (context manager
:meth:`ModelMonitor.track`, decorator :meth:`ModelMonitor.instrument`, plain call
:meth:`ModelMonitor.record`), ground truth, feedback and overrides.

Nothing here raises into the caller's request path: an internal error is counted in
`ml_monitoring_errors_total{operation}` and logged once per model and operation. Label values
are bounded: models, versions, classes and groups beyond the declared ones or the limits are
refused with one warning and never become series.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import itertools
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ml_monitoring import stats
from ml_monitoring._settings import thresholds as configured_thresholds
from ml_monitoring.drift import (
    METHODS,
    OUTLIER_QUANTILE,
    PRIMARY_METHOD,
    CategoricalWindow,
    DriftWindow,
    Profile,
)
from ml_monitoring.metrics import SPECS, MetricSet, multiprocess_dir
from ml_monitoring.schema import (
    ERROR_TYPES,
    INVALID_INPUT,
    MAX_ERROR_TYPES,
    REASONS,
    InputSchema,
    Validation,
    classify_error,
)
from ml_monitoring.store import MemoryStore, Pending, SqliteStore

log = logging.getLogger("ml_monitoring")

STAGES = ("production", "canary", "retired")
OUTCOMES = ("tp", "fp", "tn", "fn")
FEEDBACK = ("positive", "negative")
OUTLIER_DETECTOR = "mahalanobis"
OPERATIONS = ("validate", "record", "ground_truth", "feedback", "audit", "refresh", "refused")
OUTPUT_EDGES = np.linspace(0.1, 0.9, 9)  # binary output drift: P(second class) in 10 bins
_OUTPUT_EDGES = OUTPUT_EDGES.tolist()
FLUSH_AT = 2048  # buffered rows that make the recording thread bin them itself
NO_FEATURES = object()  # `features` not given (None means: given, and every feature missing)


@dataclass(frozen=True)
class Windows:
    """Window sizes, and how full a window must be before its scores are exported."""

    drift: int = 400  # live input rows vs the reference (exported when full)
    outputs: int = 400  # model outputs per version vs its outputs on the validation split
    labels: int = 400  # ground-truth classes vs the reference labels (target drift)
    quality: int = 1000  # labelled predictions behind ml_model_quality_ratio
    min_quality: int = 200
    fairness: int = 4000  # predictions behind the per-group rates
    min_fairness: int = 2000
    min_fairness_group: int = 300  # predictions a group and the other groups each need


@dataclass(frozen=True)
class Limits:
    """Cardinality bounds (docs/metrics.md "Label values and cardinality bounds")."""

    models: int = 50
    versions: int = 3
    features: int = 30
    classes: int = 20
    attributes: int = 3
    groups: int = 5
    pending_ground_truth: int = 100_000


_default: Monitoring | None = None
_default_lock = threading.Lock()


class _Once:
    """Logs a message once per key."""

    def __init__(self) -> None:
        self._seen: set = set()
        self._lock = threading.Lock()

    def warn(self, key, message: str, exc: BaseException | None = None) -> None:
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        log.warning("%s", message, exc_info=exc)


class Monitoring:
    """The metric families of one registry and every model monitored on it.

    `registry=None` uses prometheus_client's default registry (one hub per process: use
    :func:`default_hub`). `clock` returns Unix seconds (tests and simulations substitute theirs).
    With `background=True` a daemon thread refreshes the window gauges every `refresh_interval`
    seconds; otherwise call :meth:`refresh`.
    """

    def __init__(self, registry=None, *, limits: Limits | None = None,
                 windows: Windows | None = None, refresh_interval: float = 1.0,
                 background: bool = True, clock: Callable[[], float] = time.time,
                 thresholds: Mapping[str, float] | None = None) -> None:
        global _default
        default = registry is None
        if default:
            from prometheus_client import REGISTRY

            registry = REGISTRY
            with _default_lock:
                if _default is not None:
                    raise ValueError("ml_monitoring: a hub already exists on prometheus_client's "
                                     "default registry: use ml_monitoring.default_hub()")
        self.registry = registry
        self.metrics = MetricSet(registry, SPECS)
        self.names = self.metrics.names
        self.limits = limits or Limits()
        self.windows = windows or Windows()
        self.refresh_interval = refresh_interval
        self.background = background
        self.clock = clock
        self.thresholds = dict(configured_thresholds())
        self.thresholds.update(thresholds or {})
        self.once = _Once()
        self._models: dict[str, _ModelState] = {}
        self._monitors: dict[tuple[str, str], ModelMonitor] = {}
        self._lock = threading.RLock()
        self._thread_pid: int | None = None
        self._stop = threading.Event()
        if default:
            with _default_lock:
                _default = self

    # ------------------------------------------------------------------ monitors
    def monitor(self, model: str, version: str = "v1", **kwargs) -> ModelMonitor:
        """The monitor of (model, version); created on first call with `kwargs` (see
        :class:`ModelMonitor`). Beyond the limits a no-op monitor is returned with a warning."""
        key = (str(model), str(version))
        with self._lock:
            existing = self._monitors.get(key)
            if existing is not None:
                return existing
            if key[0] not in self._models and len(self._models) >= self.limits.models:
                self.once.warn(("models",), f"ml_monitoring: more than {self.limits.models} "
                               f"models: {key[0]!r} is not monitored")
                return NullMonitor(key[0], key[1])
            versions = [v for (m, v) in self._monitors if m == key[0]]
            if len(versions) >= self.limits.versions:
                self.once.warn(("versions", key[0]), f"ml_monitoring: model {key[0]!r} already "
                               f"has {len(versions)} versions: {key[1]!r} is not monitored")
                return NullMonitor(key[0], key[1])
            return ModelMonitor(*key, hub=self, **kwargs)

    def _model_state(self, name: str, **kwargs) -> _ModelState:
        st = self._models.get(name)
        if st is None:
            st = self._models[name] = _ModelState(self, name, **kwargs)
        return st

    def monitors(self) -> list[ModelMonitor]:
        with self._lock:
            return list(self._monitors.values())

    # ------------------------------------------------------------------ refresh
    def refresh(self) -> None:
        """Bin buffered rows and recompute every window gauge now."""
        with self._lock:
            models = list(self._models.values())
        for st in models:
            try:
                st.refresh()
            except Exception as exc:  # noqa: BLE001 - never let one model stop the others
                st.internal_error("refresh", exc)

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if not self.background or self._thread_pid == pid:
            return
        with self._lock:
            if self._thread_pid == pid:
                return
            self._thread_pid = pid  # also after a fork: the child starts its own thread
            threading.Thread(target=self._loop, name="ml_monitoring-refresh",
                             daemon=True).start()

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_interval):
            self.refresh()

    def close(self) -> None:
        """Stop the background thread (after a last refresh)."""
        self._stop.set()
        self.refresh()


def default_hub() -> Monitoring:
    """The process-wide hub on prometheus_client's default registry."""
    with _default_lock:
        hub = _default
    return hub if hub is not None else Monitoring()


class _ModelState:
    """What the versions of one model share: schema, drift, outliers, pending ground truth."""

    def __init__(self, hub: Monitoring, name: str, *, features, reference, schema,
                 outliers: bool, classes, favorable_class, fairness) -> None:
        self.hub = hub
        self.name = name
        m = hub.metrics
        lim = hub.limits
        if reference is not None and not isinstance(reference, Profile):
            if features is None:
                raise ValueError(f"model {name!r}: a reference array needs `features` (names)")
            reference = Profile.from_data(reference, features)
        self.profile: Profile | None = reference
        if features is None:
            features = reference.features if reference is not None else \
                (schema.features if schema is not None else None)
        if features is None:
            raise ValueError(f"model {name!r}: declare `features`, a `schema` or a `reference`")
        features = tuple(str(f) for f in features)
        if schema is None:
            schema = InputSchema.from_ranges(features, reference.minimum, reference.maximum) \
                if reference is not None else InputSchema(features)
        if schema.features != features:
            raise ValueError(f"model {name!r}: schema features differ from `features`")
        if reference is not None and reference.features != features:
            raise ValueError(f"model {name!r}: reference features differ from `features`")
        if len(features) > lim.features:
            raise ValueError(f"model {name!r}: {len(features)} features; at most "
                             f"{lim.features} are monitored (Limits.features)")
        self.schema = schema
        self.features = features
        if classes is None or not 2 <= len(classes) <= lim.classes:
            raise ValueError(f"model {name!r}: declare 2 to {lim.classes} `classes`")
        self.classes = tuple(str(c) for c in classes)
        self.class_index = {c: i for i, c in enumerate(self.classes)}
        self.favorable = self.class_index.get(str(favorable_class), None) \
            if favorable_class is not None else len(self.classes) - 1
        if self.favorable is None:
            raise ValueError(f"model {name!r}: favorable_class {favorable_class!r} is not one "
                             f"of {self.classes}")
        fairness = dict(fairness or {})
        if len(fairness) > lim.attributes or any(len(g) > lim.groups for g in fairness.values()):
            raise ValueError(f"model {name!r}: at most {lim.attributes} fairness attributes of "
                             f"{lim.groups} groups each")
        self.fairness = {str(a): tuple(str(g) for g in groups) for a, groups in fairness.items()}
        self.lock = threading.Lock()  # guards `pending` and the label window
        self.flush_lock = threading.RLock()  # one flush / refresh at a time
        self.pending: list = []
        w = hub.windows
        self.drift = DriftWindow(reference, w.drift) if reference is not None else None
        self.labels = CategoricalWindow(len(self.classes), w.labels)
        self.target_reference: np.ndarray | None = None
        self.outliers = outliers and reference is not None
        self.outlier_cut = 0.0
        if self.outliers:
            from scipy.stats import chi2

            # chi-square: the quantile for Gaussian features; skewed, heavy-tailed features
            # (areas, counts, prices) exceed it far more often (3.5 % of healthy rows of the
            # demo's breast-cancer features), so the reference's own quantile of the distance
            # bounds it from below, as scikit-learn's EllipticEnvelope calibrates its offset
            # on the training distances (docs/decisions.md)
            self.outlier_cut = float(chi2.ppf(OUTLIER_QUANTILE, df=len(features)))
            if np.isfinite(self.profile.outlier_quantile):
                self.outlier_cut = max(self.outlier_cut, self.profile.outlier_quantile)
        mp = multiprocess_dir()
        self.store = SqliteStore(os.path.join(mp, "ml_monitoring_pending.sqlite"), name,
                                 lim.pending_ground_truth) if mp else \
            MemoryStore(lim.pending_ground_truth)
        self.drift_last_run = 0.0
        # pre-initialised children (every known label combination is 0, not absent)
        self.validation = {
            (f, reason): m["ml_input_validation_failures"].labels(name, f, reason)
            for f in features for reason in REASONS}
        self.outlier_count = m["ml_outliers"].labels(name, OUTLIER_DETECTOR)
        self.outlier_hist = m["ml_outlier_score"].labels(name, OUTLIER_DETECTOR)
        self.delay = m["ml_ground_truth_delay_seconds"].labels(name)
        self.queued = m["ml_inference_queued_requests"].labels(name)
        self.queue_hist = m["ml_inference_queue_duration_seconds"].labels(name)
        self.errors = {op: m["ml_monitoring_errors"].labels(name, op) for op in OPERATIONS}
        if reference is not None:
            thr = m["ml_feature_drift_threshold"]
            for f in features:
                for method in METHODS:
                    thr.labels(name, f, method).set(hub.thresholds[method])

    def internal_error(self, operation: str, exc: BaseException | None = None,
                       message: str | None = None) -> None:
        try:
            child = self.errors.get(operation)
            if child is None:
                child = self.errors[operation] = self.hub.metrics["ml_monitoring_errors"].labels(
                    self.name, operation)
            child.inc()
            self.hub.once.warn((self.name, operation), message or (
                f"ml_monitoring: model {self.name!r}: {operation} failed: {exc!r} (counted in "
                f"ml_monitoring_errors_total; further failures are not logged)"),
                exc if message is None else None)
        except Exception:  # noqa: BLE001 - the last line of defence
            pass

    def refuse(self, what: str) -> None:
        self.internal_error("refused", message=f"ml_monitoring: model {self.name!r}: refused "
                            f"{what} (not declared; counted in ml_monitoring_errors_total"
                            f"{{operation=\"refused\"}}; further refusals are not logged)")

    # ------------------------------------------------------------------ buffered work
    def buffer(self, item) -> None:
        with self.lock:
            self.pending.append(item)
            n = len(self.pending)
        if n >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        with self.flush_lock:
            with self.lock:
                batch, self.pending = self.pending, []
            if batch:
                self._process(batch)

    def _process(self, batch: list) -> None:
        rows = [item[1] for item in batch if item[1] is not None]
        if rows and (self.drift is not None or self.outliers):
            X = np.asarray(rows, dtype=float)
            if self.drift is not None:
                self.drift.add(X)
            if self.outliers:
                p = self.profile
                d = X - p.mean
                d2 = np.einsum("ij,jk,ik->i", d, p.inv_cov, d)
                for v in d2.tolist():
                    self.outlier_hist.observe(v)
                n_out = int((d2 > self.outlier_cut).sum())
                if n_out:
                    self.outlier_count.inc(n_out)
        for mon, _values, pred, proba, groups in batch:
            mon._windows_add(pred, proba, groups)

    def refresh(self) -> None:
        with self.flush_lock:
            self.flush()
            self._refresh()

    def _refresh(self) -> None:
        m = self.hub.metrics
        name = self.name
        now = self.hub.clock()
        if self.drift is not None:
            m["ml_drift_window_samples"].labels(name).set(self.drift.n)
            if self.drift.n >= self.drift.size:
                s = self.drift.scores()
                drifted = 0
                for method in METHODS:
                    threshold = self.hub.thresholds[method]
                    values = s.method(method)
                    for f, feature in enumerate(self.features):
                        value = float(values[f])
                        hit = value >= threshold
                        m["ml_feature_drift_score"].labels(name, feature, method).set(value)
                        m["ml_feature_drift_detected"].labels(name, feature, method).set(
                            1.0 if hit else 0.0)
                        if method == PRIMARY_METHOD and hit:
                            drifted += 1
                for f, feature in enumerate(self.features):
                    m["ml_feature_drift_pvalue"].labels(name, feature).set(float(s.ks_pvalue[f]))
                m["ml_drifted_features"].labels(name).set(drifted)
                m["ml_drifted_features_ratio"].labels(name).set(drifted / len(self.features))
                m["ml_dataset_drift_detected"].labels(name).set(1.0 if drifted else 0.0)
                self.drift_last_run = now
            if self.drift_last_run:
                m["ml_drift_last_run_timestamp_seconds"].labels(name).set(self.drift_last_run)
        with self.lock:
            a = self.labels.shares() if self.labels.n >= self.labels.size else None
        if self.target_reference is not None and a is not None:
            m["ml_target_drift_score"].labels(name, "psi").set(
                stats.psi_from_shares(a, self.target_reference))
            m["ml_target_drift_score"].labels(name, "jensenshannon").set(
                stats.js_from_shares(a, self.target_reference))
        for mon in self.hub.monitors():
            if mon.state is self:
                mon._refresh()


class ModelMonitor:
    """Monitoring of one model version. Create through :meth:`Monitoring.monitor` or directly
    (then on the default hub).

    Model-level arguments (taken from the first version of a model; later versions may omit
    them): `features` (names, model order), `classes` (class names, model output order),
    `reference` (rows x features array of the training data, or a stored :class:`Profile`:
    drift reference, accepted ranges and outlier detector), `schema` (an :class:`InputSchema`
    overriding the ranges), `outliers` (Mahalanobis detector on the reference, default on),
    `favorable_class` (fairness; default the last class), `fairness` ({attribute: [approved
    groups]}).

    Version-level: `stage` (production | canary | retired), `approved` (model-risk review),
    `baseline` ((y_true, proba) on the validation split: baseline scores, output and label
    reference), `framework`, `algorithm`, `namespace`, `pod` (default from the POD_NAMESPACE
    and POD_NAME / HOSTNAME environment), `deployed_at` (Unix seconds, default now),
    `traffic_share` (0-1), `cost_budget_usd_per_hour`, `max_concurrency`, `audit` (a callable
    given each served prediction as a dict: counted in ml_predictions_logged_total when it
    returns), `error_types` ({exception class: error_type}).
    """

    def __init__(self, model: str, version: str = "v1", *, hub: Monitoring | None = None,
                 features: Sequence[str] | None = None, classes: Sequence[str] | None = None,
                 reference=None, schema: InputSchema | None = None, outliers: bool = True,
                 favorable_class: str | None = None, fairness: Mapping | None = None,
                 stage: str = "production", approved: bool = False, baseline=None,
                 framework: str = "", algorithm: str = "", namespace: str | None = None,
                 pod: str | None = None, deployed_at: float | None = None,
                 traffic_share: float = 1.0, cost_budget_usd_per_hour: float | None = None,
                 max_concurrency: int | None = None, audit: Callable[[dict], object] | None = None,
                 error_types: Mapping[type, str] | None = None) -> None:
        hub = hub or default_hub()
        self.hub = hub
        self.model = str(model)
        self.version = str(version)
        if stage not in STAGES:
            raise ValueError(f"stage {stage!r} is not one of {STAGES}")
        with hub._lock:
            self.state = hub._model_state(
                self.model, features=features, reference=reference, schema=schema,
                outliers=outliers, classes=classes, favorable_class=favorable_class,
                fairness=fairness)
            if (self.model, self.version) in hub._monitors:
                raise ValueError(f"{self.model} {self.version} is already monitored on this hub "
                                 "(get it with hub.monitor(model, version))")
            hub._monitors[(self.model, self.version)] = self
        st = self.state
        self.classes = st.classes
        self.audit = audit
        self.error_type_map = dict(error_types or {})
        extra = {t for t in self.error_type_map.values() if t not in ERROR_TYPES}
        if len(ERROR_TYPES) + len(extra) > MAX_ERROR_TYPES:
            raise ValueError(f"at most {MAX_ERROR_TYPES} error types")
        m, name, v = hub.metrics, self.model, self.version
        w = hub.windows
        # hot-path children, resolved once
        self._ok = m["ml_inference_requests"].labels(name, v, "success")
        self._failed = m["ml_inference_requests"].labels(name, v, "error")
        self._predictions = m["ml_predictions"].labels(name, v)
        self._duration = m["ml_inference_duration_seconds"].labels(name, v)
        self._in_flight = m["ml_inference_in_progress_requests"].labels(name, v)
        self._score = m["ml_prediction_score"].labels(name, v)
        self._classes = [m["ml_predicted_class"].labels(name, v, c) for c in self.classes]
        self._errors = {t: m["ml_prediction_errors"].labels(name, v, t)
                        for t in (*ERROR_TYPES, *sorted(extra))}
        self._logged = m["ml_predictions_logged"].labels(name, v)
        self._feedback = {f: m["ml_feedback"].labels(name, v, f) for f in FEEDBACK}
        self._overrides = m["ml_prediction_overrides"].labels(name, v)
        self._labeled = {c: m["ml_labeled_predictions"].labels(name, v, c)
                         for c in ("true", "false")}
        self._received = m["ml_ground_truth_received"].labels(name, v)
        self._outcomes = [{o: m["ml_classification_outcomes"].labels(name, v, c, o)
                           for o in OUTCOMES} for c in self.classes]
        self._groups = {
            a: [[m["ml_group_predictions"].labels(name, v, a, g, o)
                 for o in ("unfavorable", "favorable")] for g in groups]
            for a, groups in st.fairness.items()}
        self._group_index = {a: {g: i for i, g in enumerate(groups)}
                             for a, groups in st.fairness.items()}
        self._single_attribute = next(iter(st.fairness)) if len(st.fairness) == 1 else None
        # windows (filled by the model's flush, read by _refresh)
        binary = len(self.classes) == 2
        self._outputs = CategoricalWindow(len(OUTPUT_EDGES) + 1 if binary else len(self.classes),
                                          w.outputs)
        self._output_reference: np.ndarray | None = None
        self._quality: deque = deque(maxlen=w.quality)
        self._fair = {a: CategoricalWindow(2 * len(g), w.fairness) for a, g in st.fairness.items()}
        self._quality_lock = threading.Lock()
        self.baseline: dict[str, float] = {}
        self._ids = itertools.count()
        self._id_prefix = f"{os.getpid():x}{os.urandom(3).hex()}-"
        self._pid = os.getpid()
        # static series
        self._info_labels: tuple | None = None
        self.framework, self.algorithm = framework, algorithm
        self.namespace = namespace if namespace is not None else os.environ.get(
            "POD_NAMESPACE", "")
        self.pod = pod if pod is not None else os.environ.get(
            "POD_NAME", os.environ.get("HOSTNAME", ""))
        self.set_stage(stage, approved)
        m["ml_model_deployed_timestamp_seconds"].labels(name, v).set(
            hub.clock() if deployed_at is None else deployed_at)
        m["ml_model_traffic_share_ratio"].labels(name, v).set(traffic_share)
        if cost_budget_usd_per_hour is not None:
            m["ml_cost_budget_usd_per_hour"].labels(name).set(cost_budget_usd_per_hour)
        if max_concurrency is not None:
            m["ml_inference_max_concurrency"].labels(name).set(max_concurrency)
        if baseline is not None:
            self.set_baseline(*baseline)

    # ------------------------------------------------------------------ configuration
    def set_stage(self, stage: str, approved: bool | None = None) -> None:
        """Change the stage (production | canary | retired) / approval in ml_model_info."""
        if stage not in STAGES:
            raise ValueError(f"stage {stage!r} is not one of {STAGES}")
        self.stage = stage
        if approved is not None:
            self.approved = bool(approved)
        info = self.hub.metrics["ml_model_info"]
        labels = (self.model, self.version, self.stage, str(self.approved).lower(),
                  self.framework, self.algorithm, self.namespace, self.pod)
        if self._info_labels is not None and self._info_labels != labels:
            try:
                info.remove(*self._info_labels)
            except KeyError:
                pass
        info.labels(*labels).set(1)
        self._info_labels = labels

    def set_traffic_share(self, share: float) -> None:
        self.hub.metrics["ml_model_traffic_share_ratio"].labels(self.model, self.version).set(
            share)

    def set_baseline(self, y_true, proba) -> None:
        """Scores on the validation split, and the output / label distributions to drift from."""
        y = self._class_indices(y_true)
        p = np.asarray(proba, dtype=float)
        self.baseline = stats.classification_scores(y, p, len(self.classes))
        g = self.hub.metrics["ml_model_baseline_quality_ratio"]
        for metric, value in self.baseline.items():
            g.labels(self.model, self.version, metric).set(value)
        if len(self.classes) == 2:
            counts = np.bincount(np.searchsorted(OUTPUT_EDGES, p[:, 1], "right"),
                                 minlength=len(OUTPUT_EDGES) + 1)
        else:
            counts = np.bincount(p.argmax(axis=1), minlength=len(self.classes))
        self._output_reference = stats.shares(counts)
        if self.state.target_reference is None:
            self.state.target_reference = stats.shares(
                np.bincount(y, minlength=len(self.classes)))

    def _class_indices(self, y) -> np.ndarray:
        out = []
        for v in np.asarray(y).tolist():
            out.append(v if isinstance(v, int) else self.state.class_index[str(v)])
        return np.asarray(out, dtype=int)

    # ------------------------------------------------------------------ recording
    def validate(self, features) -> Validation:
        """Validate one input against the schema and count its failures (never raises)."""
        try:
            result = self.state.schema.validate(features)
            if result.problems:
                for feature, reason in result.problems:
                    self.state.validation[(feature, reason)].inc()
            return result
        except Exception as exc:  # noqa: BLE001
            self.state.internal_error("validate", exc)
            n = len(self.state.features)
            return Validation([math.nan] * n, ())

    def track(self, features=NO_FEATURES, *, group=None, prediction_id: str | None = None,
              at: float | None = None) -> Tracker:
        """Context manager around one prediction: validation, latency, in-flight, errors.

        ``with monitor.track(features) as t:`` — `t.valid`, `t.problems`, `t.values` (floats in
        model order), `t.id` (the prediction id); call ``t.set(proba=...)`` or
        ``t.set(prediction=..., score=...)`` once the model answered. An exception leaving the
        block is counted by type and propagates unchanged; a block that ends without an output
        after invalid input counts as `invalid_input`.
        """
        return Tracker(self, features, group, prediction_id, at)

    def instrument(self, func=None, *, features_arg: int | str = 0, group_arg: str | None = None):
        """Decorator: the wrapped function takes the features (first argument, or `features_arg`)
        and returns class probabilities (a sequence, one per class) or a class name / index."""

        def decorate(f):
            sig = inspect.signature(f)

            def pick(args, kwargs):
                bound = sig.bind_partial(*args, **kwargs)
                if isinstance(features_arg, int):
                    params = list(sig.parameters)
                    feats = bound.arguments.get(params[features_arg])
                else:
                    feats = bound.arguments.get(features_arg)
                grp = bound.arguments.get(group_arg) if group_arg else None
                return feats, grp

            if inspect.iscoroutinefunction(f):
                @functools.wraps(f)
                async def awrapper(*args, **kwargs):
                    feats, grp = _safe(pick, args, kwargs)
                    with self.track(feats, group=grp) as t:
                        out = await f(*args, **kwargs)
                        t.set_output(out)
                    return out
                return awrapper

            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                feats, grp = _safe(pick, args, kwargs)
                with self.track(feats, group=grp) as t:
                    out = f(*args, **kwargs)
                    t.set_output(out)
                return out
            return wrapper

        return decorate(func) if func is not None else decorate

    def record(self, features=NO_FEATURES, *, proba=None, prediction=None, score: float | None = None,
               latency: float | None = None, error=None, group=None,
               prediction_id: str | None = None, at: float | None = None,
               validation: Validation | None = None) -> str | None:
        """Plain call: one finished request. Returns the prediction id (None when not served).

        `error`: an exception or an error_type name when the request failed. `latency` in
        seconds (not observed when None). `at`: prediction time (default: the hub's clock).
        """
        try:
            if validation is None and features is not NO_FEATURES:
                validation = self.validate(features)
            if error is not None:
                kind = error if isinstance(error, str) else classify_error(error,
                                                                          self.error_type_map)
                self._count_error(kind, latency)
                return None
            if proba is None and prediction is None:
                if validation is not None and not validation.ok:
                    self._count_error(INVALID_INPUT, latency)
                return None
            pid = prediction_id or self.new_id()
            return pid if self._served(validation, proba, prediction, score, latency, group,
                                       pid, at) else None
        except Exception as exc:  # noqa: BLE001
            self.state.internal_error("record", exc)
            return None

    def new_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):x}"

    def _count_error(self, kind: str, latency: float | None) -> None:
        child = self._errors.get(kind)
        if child is None:
            self.state.refuse(f"error_type {kind!r}")
            child = self._errors["model_exception"]
        child.inc()
        self._failed.inc()
        if latency is not None:
            self._duration.observe(latency)

    def _served(self, validation, proba, prediction, score, latency, group, pid, at) -> bool:
        n_classes = len(self.classes)
        if prediction is not None:
            pred = int(prediction) if isinstance(prediction, (int, np.integer)) and not \
                isinstance(prediction, bool) else self.state.class_index.get(str(prediction), -1)
            if not 0 <= pred < n_classes:
                self.state.refuse(f"class {prediction!r}")
                return False
        if proba is not None:
            proba = tuple(float(x) for x in (proba.tolist() if hasattr(proba, "tolist")
                                              else proba))
            if len(proba) != n_classes:
                self.state.refuse(f"an output of {len(proba)} probabilities for "
                                  f"{n_classes} classes")
                return False
            if prediction is None:  # the served class: given, or the most probable one
                pred = max(range(n_classes), key=proba.__getitem__)
        else:
            s = 1.0 if score is None else float(score)
            rest = (1.0 - s) / (n_classes - 1)
            proba = tuple(s if k == pred else rest for k in range(n_classes))
        self._ok.inc()
        self._predictions.inc()
        if latency is not None:
            self._duration.observe(latency)
        self._score.observe(proba[pred])
        self._classes[pred].inc()
        groups = self._group_indices(group) if group is not None else None
        if groups:
            fav = 1 if pred == self.state.favorable else 0
            for a, g in groups:
                self._groups[a][g][fav].inc()
        self.state.store.put(pid, Pending(self.version, pred, proba,
                                          self.hub.clock() if at is None else at))
        values = validation.values if validation is not None and validation.ok else None
        self.state.buffer((self, values, pred, proba, groups))
        if self.audit is not None:
            self._audit(pid, validation, pred, proba, at)
        self.hub._ensure_thread()
        return True

    def _group_indices(self, group) -> tuple | None:
        if not isinstance(group, Mapping):
            if self._single_attribute is None:
                self.state.refuse("a group without its attribute")
                return None
            group = {self._single_attribute: group}
        out = []
        for a, g in group.items():
            idx = self._group_index.get(a, {}).get(g)
            if idx is None:
                self.state.refuse(f"fairness group {a}={g!r}")
                continue
            out.append((a, idx))
        return tuple(out)

    def _audit(self, pid, validation, pred, proba, at) -> None:
        try:
            self.audit({"id": pid, "model": self.model, "version": self.version,
                        "prediction": self.classes[pred], "proba": list(proba),
                        "at": self.hub.clock() if at is None else at,
                        "features": dict(zip(self.state.features, validation.values,
                                             strict=True)) if validation is not None else None})
            self._logged.inc()
        except Exception as exc:  # noqa: BLE001
            self.state.internal_error("audit", exc)

    def _windows_add(self, pred: int, proba, groups) -> None:
        if len(self.classes) == 2:  # == np.searchsorted(OUTPUT_EDGES, p, "right")
            self._outputs.add(bisect.bisect_right(_OUTPUT_EDGES, proba[1]))
        else:
            self._outputs.add(pred)
        if groups:
            fav = 1 if pred == self.state.favorable else 0
            for a, g in groups:
                self._fair[a].add(2 * g + fav)

    # ------------------------------------------------------------------ after the fact
    def ground_truth(self, prediction_id: str, label, at: float | None = None) -> bool:
        """Join the true label (class name or index) to a prediction; False if unknown id."""
        try:
            st = self.state
            item = st.store.pop(str(prediction_id))
            if item is None:
                return False
            if isinstance(label, int) and not isinstance(label, bool):
                y = label if 0 <= label < len(self.classes) else -1
            else:
                y = st.class_index.get(str(label), -1)
            if y < 0:
                st.refuse(f"ground-truth label {label!r}")
                return False
            mon = self if item.version == self.version else \
                self.hub._monitors.get((self.model, item.version), self)
            now = self.hub.clock() if at is None else at
            mon._joined(item, y, max(now - item.at, 0.0))
            return True
        except Exception as exc:  # noqa: BLE001
            self.state.internal_error("ground_truth", exc)
            return False

    def _joined(self, item: Pending, y: int, delay: float) -> None:
        st = self.state
        self._received.inc()
        st.delay.observe(delay)
        self._labeled["true" if item.predicted == y else "false"].inc()
        for k in range(len(self.classes)):
            if item.predicted == k:
                outcome = "tp" if y == k else "fp"
            else:
                outcome = "fn" if y == k else "tn"
            self._outcomes[k][outcome].inc()
        with self._quality_lock:
            self._quality.append((y, item.proba))
        with st.lock:
            st.labels.add(y)

    def feedback(self, positive: bool, prediction_id: str | None = None, count: int = 1) -> None:
        """User feedback on a prediction (or `count` predictions) of this version."""
        try:
            self._feedback["positive" if positive else "negative"].inc(count)
        except Exception as exc:  # noqa: BLE001
            self.state.internal_error("feedback", exc)

    def override(self, prediction_id: str | None = None, count: int = 1) -> None:
        """A human reviewer overrode a prediction (or `count` predictions) of this version."""
        try:
            self._overrides.inc(count)
        except Exception as exc:  # noqa: BLE001
            self.state.internal_error("feedback", exc)

    def logged(self, n: int = 1) -> None:
        """Count predictions your own audit log wrote (when not using `audit=`)."""
        self._logged.inc(n)

    def queue(self) -> _Queued:
        """Context manager around the wait for a worker: queued gauge and queue duration."""
        return _Queued(self.state)

    # For servers (and simulations) that know these numbers themselves:
    def record_queue(self, seconds: float) -> None:
        """Observe one request's time in the queue."""
        self.state.queue_hist.observe(seconds)

    def set_queued(self, requests: float) -> None:
        """Requests waiting for a worker right now (the model's queue)."""
        self.state.queued.set(requests)

    def set_in_flight(self, requests: float) -> None:
        """Requests of this version being processed right now."""
        self._in_flight.set(requests)

    def set_deployed(self, timestamp: float) -> None:
        """When this version was deployed (Unix seconds): the dashboards' annotation."""
        self.hub.metrics["ml_model_deployed_timestamp_seconds"].labels(
            self.model, self.version).set(timestamp)

    def refresh(self) -> None:
        """Recompute this model's window gauges now (the hub's thread does it periodically)."""
        try:
            self.state.refresh()
        except Exception as exc:  # noqa: BLE001
            self.state.internal_error("refresh", exc)

    # ------------------------------------------------------------------ window gauges
    def _refresh(self) -> None:
        m = self.hub.metrics
        name, v = self.model, self.version
        w = self.hub.windows
        with self._quality_lock:
            window = list(self._quality)
        m["ml_model_quality_window_samples"].labels(name, v).set(len(window))
        quality = m["ml_model_quality_ratio"]
        if len(window) >= w.min_quality:
            y = np.fromiter((a for a, _ in window), dtype=int, count=len(window))
            p = np.asarray([b for _, b in window], dtype=float)
            scores = stats.classification_scores(y, p, len(self.classes))
            for metric in stats.QUALITY_METRICS:
                if metric in scores:
                    quality.labels(name, v, metric).set(scores[metric])
                else:
                    _remove(quality, name, v, metric)
            if "accuracy" in self.baseline:
                z = stats.concept_drift_z(scores["accuracy"], self.baseline["accuracy"], len(y))
                m["ml_concept_drift_score"].labels(name, v).set(z)
                m["ml_concept_drift_detected"].labels(name, v).set(
                    1.0 if z >= self.hub.thresholds["concept_drift_z"] else 0.0)
        if self._output_reference is not None and self._outputs.n >= self._outputs.size:
            a = self._outputs.shares()
            m["ml_prediction_drift_score"].labels(name, v, "psi").set(
                stats.psi_from_shares(a, self._output_reference))
            m["ml_prediction_drift_score"].labels(name, v, "jensenshannon").set(
                stats.js_from_shares(a, self._output_reference))
        for attribute, win in self._fair.items():
            groups = self.state.fairness[attribute]
            if win.n < w.min_fairness:
                continue
            counts = win.counts.reshape(len(groups), 2)
            total = counts.sum(axis=1)
            results = stats.fairness(counts[:, 1], total)
            for g, group in enumerate(groups):
                labels = (name, v, attribute, group)
                if total[g] < w.min_fairness_group or total.sum() - total[g] < \
                        w.min_fairness_group:
                    continue
                rate, spd, di = results[g]
                m["ml_group_favorable_outcome_ratio"].labels(*labels).set(rate)
                m["ml_fairness_parity_difference"].labels(*labels).set(spd)
                if di is not None:
                    m["ml_fairness_disparate_impact_ratio"].labels(*labels).set(di)


def _remove(family, *labels) -> None:
    try:
        family.remove(*labels)
    except KeyError:
        pass


def _safe(fn, *args):
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - a signature mismatch must not break the call
        return None, None


class Tracker:
    """One tracked prediction (see :meth:`ModelMonitor.track`)."""

    __slots__ = ("monitor", "features", "group", "id", "at", "validation", "_proba",
                 "_prediction", "_score", "_t0", "_entered")

    def __init__(self, monitor: ModelMonitor, features, group, prediction_id, at) -> None:
        self.monitor = monitor
        self.features = features
        self.group = group
        self.id = prediction_id
        self.at = at
        self.validation: Validation | None = None
        self._proba = self._prediction = self._score = None
        self._entered = False

    @property
    def valid(self) -> bool:
        return self.validation is None or self.validation.ok

    @property
    def problems(self) -> tuple[tuple[str, str], ...]:
        return () if self.validation is None else self.validation.problems

    @property
    def values(self) -> list[float]:
        return [] if self.validation is None else self.validation.values

    def set(self, proba=None, prediction=None, score: float | None = None) -> None:
        self._proba, self._prediction, self._score = proba, prediction, score

    def set_output(self, out) -> None:
        """Interpret a model's return value: probabilities, or a class (name or index)."""
        if isinstance(out, (str, int)) and not isinstance(out, bool):
            self._prediction = out
        else:
            self._proba = out

    def __enter__(self) -> Tracker:
        mon = self.monitor
        try:
            mon._in_flight.inc()
            self._entered = True
            if self.id is None:
                self.id = mon.new_id()
            if self.features is not NO_FEATURES:
                self.validation = mon.validate(self.features)
        except Exception as exc:  # noqa: BLE001
            mon.state.internal_error("record", exc)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        mon = self.monitor
        try:
            latency = time.perf_counter() - self._t0
            if self._entered:
                mon._in_flight.dec()
            if exc is not None:
                mon.record(error=exc, latency=latency)
            else:
                mon.record(proba=self._proba, prediction=self._prediction, score=self._score,
                           latency=latency, group=self.group, prediction_id=self.id, at=self.at,
                           validation=self.validation)
        except Exception as err:  # noqa: BLE001
            mon.state.internal_error("record", err)
        return False


class _Queued:
    __slots__ = ("state", "_t0")

    def __init__(self, state: _ModelState) -> None:
        self.state = state

    def __enter__(self) -> _Queued:
        try:
            self.state.queued.inc()
        except Exception as exc:  # noqa: BLE001
            self.state.internal_error("record", exc)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> bool:
        try:
            self.state.queued.dec()
            self.state.queue_hist.observe(time.perf_counter() - self._t0)
        except Exception as err:  # noqa: BLE001
            self.state.internal_error("record", err)
        return False


class NullMonitor:
    """What a refused (model, version) gets: every call works and records nothing."""

    def __init__(self, model: str, version: str) -> None:
        self.model, self.version = model, version
        self.classes: tuple[str, ...] = ()

    def __getattr__(self, name):
        if name in ("track", "queue"):
            return lambda *a, **k: _NullTracker()
        if name == "instrument":
            def instrument(func=None, **_kw):
                return func if func is not None else (lambda f: f)
            return instrument
        return lambda *a, **k: None


class _NullTracker:
    id = None
    valid = True
    problems = ()
    values: list = []
    validation = None

    def set(self, *a, **k) -> None:
        pass

    set_output = set

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False

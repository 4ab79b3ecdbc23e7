"""What every simulated serving stack shares: the hook into the simulation, ground truth, HTTP.

The simulation calls :meth:`StackEmitter.record` once per model version and tick with what it
served (per request: failed or not, the cause, end-to-end latency and queue wait in seconds)
and :meth:`StackEmitter.publish` when it publishes its gauges. A stack turns that into its own
native series (subclasses); the contract's serving series (`ml_inference_requests_total`,
`ml_inference_duration_seconds`, `ml_inference_queue_duration_seconds`,
`ml_inference_in_progress_requests`, `ml_inference_queued_requests`) are withdrawn from
/metrics, so the dashboards can only light up through the stack's adapter rules.

Ground truth for tests (`demo_truth_*`, never read by dashboards or rules): requests and failed
requests, and the latency the stack's own latency series covers, in seconds, in a histogram with
the stack's own bucket bounds converted to seconds — so a test can compare an adapter's p95 with
the p95 of the same buckets, exactly. Each truth is split into series exactly as the stack
splits the native series the adapter reads (`truth_requests_by_code`,
`truth_latency_by_code`: one series per HTTP status code, label `code`, or one per version):
Prometheus extrapolates `rate()` series by series (a counter near zero at the window's first
sample is extrapolated less: promql/functions.go extrapolatedRate), so a sum of rates equals
the rate of the sum only over series split alike. Split differently, a young series (an error
code rare before an incident, a canary version) weighs a few percent differently in the
adapter's input and in the truth while the series are younger than the 5m window, and a p95
near a gap in the distribution jumps (KServe, wine-cultivar at 5 % timeouts: 1.0 s against
0.05 s; docs/decisions.md).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from demo.stacks.exposition import Exposition, Family, labels

# the contract's serving families (prometheus-client names: counters without `_total`) a stack
# replaces on /metrics
CONTRACT_SERVING = frozenset({
    "ml_inference_requests", "ml_inference_duration_seconds",
    "ml_inference_queue_duration_seconds", "ml_inference_in_progress_requests",
    "ml_inference_queued_requests"})
HTTP_STATUS = {"": 200, "invalid_input": 400, "model_exception": 500,
               "dependency_unavailable": 503, "timeout": 504}
UNKNOWN_VERSION = "unknown"


def load_seconds(model: str, version: str) -> float:
    """How long the demo says a model version took to load (each stack reports it its own way)."""
    return 1.8 if version.endswith("1") else 2.6


# Every status the demo can answer. Stacks create a status's series with its first response;
# the demo creates them when a version is deployed, as a server that has served for a while
# has, so a 5-minute rate is exact from the first scrape (tests run shorter than one window).
STATUS_CODES = tuple(sorted(set(HTTP_STATUS.values())))


class StackEmitter:
    """Base class. Subclasses set `name`, build families in `__init__` and implement `_record`."""

    name = ""
    #: the stack's latency histogram bounds converted to seconds (None: no histogram)
    truth_buckets_seconds: Sequence[float] | None = None
    #: per model, when models differ (e.g. one on an older release of the stack)
    truth_buckets_by_model: Mapping[str, Sequence[float]] = {}
    #: the stack's request (and error) counters are split by status code, one series per
    #: HTTP code of `codes()` or per cause (Triton's failure `reason`, TF Serving's `status`):
    #: the truth is split alike; else one series per version (see the module docstring)
    truth_requests_by_code: bool = False
    #: the stack's latency series are split by HTTP status code: the truth is split alike
    truth_latency_by_code: bool = False

    def __init__(self) -> None:
        self.main = Exposition()  # served on /metrics
        self.paths: dict[str, Exposition] = {}  # extra endpoints (e.g. a sidecar per model)
        # endpoint -> the model it serves: its ground truth is served there too, in the same
        # scrape as the sidecar's series it is compared with
        self.path_models: dict[str, str] = {}
        truth = Exposition()
        self._truth_requests = truth.add(Family(
            "demo_truth_requests_total", "counter", "Ground truth for adapter tests: requests "
            "the simulation served (never read by dashboards or rules)."))
        self._truth_errors = truth.add(Family(
            "demo_truth_request_errors_total", "counter", "Ground truth for adapter tests: "
            "failed requests."))
        buckets = tuple(self.truth_buckets_seconds or (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                       1.0))
        self._truth_latency = truth.add(Family(
            "demo_truth_latency_seconds", "histogram", "Ground truth for adapter tests: the "
            "latency the stack's own series cover, in seconds, in the stack's buckets.",
            buckets=buckets,
            bucket_fn=lambda lb: self.truth_buckets_by_model.get(dict(lb)["model"], buckets)))
        self._truth_loaded = truth.add(Family(
            "demo_truth_model_loaded", "gauge", "Ground truth for adapter tests: 1 while a "
            "model version is loaded, under the version label the stack's load signal has."))
        self._truth_load = truth.add(Family(
            "demo_truth_model_load_seconds", "gauge", "Ground truth for adapter tests: how long "
            "the version took to load."))
        self.truth = truth
        self.batch: dict[str, float] = {}  # model -> simulated mean batch size
        # Nothing is served before the warm-up is over: every endpoint (the stack's sidecars
        # are scraped apart) then starts from the same state, so their rates agree.
        self.ready = threading.Event()

    # -- naming the stack gives a model version
    def version_label(self, model: str, version: str) -> str:
        """The version value this stack's adapter reports for a demo version."""
        return UNKNOWN_VERSION

    def load_version_label(self, model: str, version: str) -> str:
        """The version value of the stack's load signals (by default its serving series')."""
        return self.version_label(model, version)

    # -- hooks called by the simulation
    def record(self, model: str, version: str, failed: np.ndarray, causes: np.ndarray,
               latency: np.ndarray, queue: np.ndarray) -> None:
        """One tick of one version: per request `failed` (bool), `causes` (error type or ""),
        end-to-end `latency` and `queue` wait (seconds)."""
        if len(latency) == 0:
            return
        with self.main.lock, self.truth.lock:
            v = self.version_label(model, version)
            mv = labels(model=model, version=v)
            by_code = codes(failed, causes)
            if self.truth_requests_by_code:
                for code, idx in by_code.items():
                    lb = mv + (("code", str(code)),)
                    self._truth_requests.inc(lb, len(idx))
                    if failed[idx[0]]:  # a code is all failures or all successes
                        self._truth_errors.inc(lb, len(idx))
            else:
                self._truth_requests.inc(mv, len(failed))
                self._truth_errors.inc(mv, int(failed.sum()))
            covered = self.covered_latency(model, failed, latency, queue)
            if self.truth_latency_by_code:  # covered_latency is then one value per request
                for code, idx in by_code.items():
                    self._truth_latency.observe(mv + (("code", str(code)),),
                                                (float(x) for x in covered[idx]))
            else:
                self._truth_latency.observe(mv, (float(x) for x in covered))
            self._record(model, version, failed, causes, latency, queue)

    def publish(self, snapshot: Any, state: Mapping[str, Any]) -> None:
        """Set the stack's gauges (in flight, queued, …) from the simulation state."""
        with self.main.lock:
            self.batch = {name: batch_size(st) for name, st in state.items()}
            self._gauges(state)

    def deploy(self, model: str, version: str) -> None:
        """A version started serving: create its series at zero (as the stack does on load)."""
        with self.main.lock, self.truth.lock:
            mv = labels(model=model, version=self.version_label(model, version))
            by_code = [mv + (("code", str(code)),) for code in STATUS_CODES]
            for lb in by_code if self.truth_requests_by_code else [mv]:
                self._truth_requests.touch(lb)
                if lb[-1] != ("code", str(HTTP_STATUS[""])):
                    self._truth_errors.touch(lb)
            for lb in by_code if self.truth_latency_by_code else [mv]:
                self._truth_latency.touch(lb)
            lv = labels(model=model, version=self.load_version_label(model, version))
            self._truth_loaded.set(lv, 1)
            self._truth_load.set(lv, load_seconds(model, version))
            self._deploy(model, version)

    # -- for subclasses
    def covered_latency(self, model: str, failed: np.ndarray, latency: np.ndarray,
                        queue: np.ndarray) -> np.ndarray:
        """The latencies (seconds) the stack's own latency series record: by default every
        request's end-to-end latency."""
        return latency

    def _record(self, model: str, version: str, failed: np.ndarray, causes: np.ndarray,
                latency: np.ndarray, queue: np.ndarray) -> None:
        raise NotImplementedError

    def batch_sizes(self, model: str, n: int) -> list[float]:
        """How a dynamic batcher would have grouped n requests of this tick."""
        return sizes(n, self.batch.get(model, 1.0))

    def _gauges(self, state: Mapping[str, Any]) -> None:
        """Set the stack's gauges from the simulation state (model -> ModelState)."""

    def _deploy(self, model: str, version: str) -> None:
        """Create a version's series at zero."""

    # -- serving
    @staticmethod
    def without_contract(registry: Any) -> Any:
        """`registry` as /metrics serves it with a stack: the contract's serving families out."""
        from prometheus_client import CollectorRegistry

        class _Without:
            def collect(self):
                for family in registry.collect():
                    if family.name not in CONTRACT_SERVING:
                        yield family

        served = CollectorRegistry(auto_describe=False)
        served.register(_Without())
        return served

    def render(self, path: str) -> str | None:
        """The exposition for an HTTP path, or None when the stack serves nothing there."""
        if path == "/metrics":
            return self.main.render() + self.truth.render() if self.ready.is_set() else ""
        exposition = self.paths.get(path)
        if exposition is None:
            return None
        if not self.ready.is_set():
            return ""
        model = self.path_models.get(path)
        truth = "" if model is None else self.truth.render(
            lambda lb: dict(lb).get("model") == model)
        return exposition.render() + truth


def batches(n: int, mean_size: float) -> int:
    """How many executions a dynamic batcher needs for n requests at a mean batch size."""
    return 0 if n <= 0 else max(1, int(math.ceil(n / max(mean_size, 1.0))))


def live_versions(st: Any) -> list[tuple[str, float]]:
    """(version, requests in flight) of a model's deployed versions."""
    return [(v, float(st.versions[v].in_progress)) for v in sorted(st.deployed)]


def batch_size(state: Any) -> float:
    """The simulated dynamic batch size: grows with the queue (1 when idle, at most 8)."""
    return float(min(8.0, 1.0 + getattr(state, "queued", 0.0) / 2.0))


def sizes(n: int, mean_size: float) -> list[float]:
    """Batch sizes adding up to n requests, `batches(n, mean_size)` of them."""
    k = batches(n, mean_size)
    if k == 0:
        return []
    base, extra = divmod(n, k)
    return [float(base + (1 if i < extra else 0)) for i in range(k)]


def status_class(code: int) -> str:
    return f"{code // 100}xx"


def codes(failed: np.ndarray, causes: np.ndarray, table: Mapping[str, Any] = HTTP_STATUS
          ) -> dict[Any, np.ndarray]:
    """Request indices by the status code the stack answers (per the cause of failure)."""
    out: dict[Any, list[int]] = {}
    for i, cause in enumerate(causes):
        out.setdefault(table[str(cause) if failed[i] else ""], []).append(i)
    return {k: np.asarray(v, dtype=int) for k, v in sorted(out.items(), key=lambda kv: str(kv[0]))}



"""Seldon Core v2 (the agent beside each inference server) and MLServer (the server).

Sources
- SeldonIO/seldon-core @ 7b77f8b78e87f6d03030174570707eee00d5202e,
  scheduler/pkg/metrics/agent.go: `seldon_model_infer_total` and
  `seldon_model_infer_seconds_total` (counters; labels `server`, `server_replica`, `model`,
  `model_internal`, `method_type` rest|grpc, `code`), `seldon_model_infer_api_seconds`
  (histogram WITHOUT a model label: `server`, `server_replica`, `method`, `code`),
  `seldon_loaded_model_gauge` (`server`, `server_replica`, `model_internal`); the internal
  model name is `<model>_<version>` (scheduler/pkg/util/model.go GetVersionedModelName, an
  integer version); `code` is the HTTP status as text or the gRPC code name
  (scheduler/pkg/metrics/utils.go).
- SeldonIO/MLServer @ a325e523b5a580d49aeb06e19e73e4a90176b63b (metrics port 8082):
  mlserver/handlers/dataplane.py `model_infer_request_success`, `model_infer_request_failure`
  (prometheus-client Counters -> `_total`), `model_infer_request_duration` (Summary: `_count`,
  `_sum`), labels `model`, `version`; mlserver/rest/app.py + starlette_exporter
  (stephenhillier/starlette_exporter @ 05b9e18ccbd6, grouped paths) `rest_server_requests_total`,
  `rest_server_request_duration_seconds` (`method`, `path`, `status_code`, `app_name`),
  `rest_server_requests_in_progress` (`method`, `app_name`); mlserver/parallel/dispatcher.py
  `parallel_request_queue` (histogram, no labels).

No per-model latency histogram exists: the adapter gives the mean (seconds counter / count).
The demo serves the agent on /metrics and MLServer on /mlserver/metrics.
"""

from __future__ import annotations

from demo.stacks.base import STATUS_CODES, StackEmitter, codes, live_versions
from demo.stacks.exposition import Exposition, Family, labels, python_float

API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
PY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
SERVER = "mlserver"
INFER_PATH = "/v2/models/{model_name}/infer"


class Seldon(StackEmitter):
    name = "seldon"
    truth_requests_by_code = truth_latency_by_code = True  # split by HTTP code

    def __init__(self) -> None:
        super().__init__()
        add = self.main.add
        self.infer = add(Family("seldon_model_infer_total", "counter",
                                "A count of server inference calls"))
        self.infer_seconds = add(Family("seldon_model_infer_seconds_total", "counter",
                                        "A sum of server inference call latencies"))
        self.api = add(Family("seldon_model_infer_api_seconds", "histogram",
                              "A histogram of latencies for inference server",
                              buckets=API_BUCKETS))
        self.loaded = add(Family("seldon_loaded_model_gauge", "gauge",
                                 "A gauge of models loaded in the system"))
        ml = Exposition()
        self.paths["/mlserver/metrics"] = ml
        py = {"value_format": python_float}
        self.success = ml.add(Family("model_infer_request_success", "counter",
                                     "Model infer request success count",
                                     sample_name="model_infer_request_success_total", **py))
        self.failure = ml.add(Family("model_infer_request_failure", "counter",
                                     "Model infer request failure count",
                                     sample_name="model_infer_request_failure_total", **py))
        self.duration = ml.add(Family("model_infer_request_duration", "summary",
                                      "Model infer request duration", **py))
        self.rest_total = ml.add(Family("rest_server_requests", "counter", "Total HTTP requests",
                                        sample_name="rest_server_requests_total", **py))
        self.rest_duration = ml.add(Family("rest_server_request_duration_seconds", "histogram",
                                           "HTTP request duration, in seconds",
                                           buckets=PY_BUCKETS, le_format=python_float, **py))
        self.rest_in_progress = ml.add(Family("rest_server_requests_in_progress", "gauge",
                                              "Total HTTP requests currently in progress", **py))
        self.queue = ml.add(Family("parallel_request_queue", "histogram", "counter of request "
                                   "queue size for workers", buckets=PY_BUCKETS[:0] + (
                                       1.0, 2.0, 5.0, 10.0, 20.0, 50.0), le_format=python_float,
                                   **py))

    def version_label(self, model: str, version: str) -> str:
        return version.lstrip("v")  # Seldon versions are integers (model_internal <name>_<n>)

    def _agent(self, model: str, version: str, code: str):
        return labels(server=SERVER, server_replica="0", model=model,
                      model_internal=f"{model}_{self.version_label(model, version)}",
                      method_type="rest", code=code)

    def _deploy(self, model: str, version: str) -> None:
        for code in STATUS_CODES:
            self.infer.touch(self._agent(model, version, str(code)))
            self.infer_seconds.touch(self._agent(model, version, str(code)))
        self.loaded.set(labels(server=SERVER, server_replica="0",
                               model_internal=f"{model}_{self.version_label(model, version)}"),
                        1)
        mv = labels(model=model, version=version)
        self.success.touch(mv)
        self.failure.touch(mv)
        self.duration.touch(mv)

    def _record(self, model, version, failed, causes, latency, queue) -> None:
        for code, idx in codes(failed, causes).items():
            lat = latency[idx]
            al = self._agent(model, version, str(code))
            self.infer.inc(al, len(idx))
            self.infer_seconds.inc(al, float(lat.sum()))
            self.api.observe(labels(server=SERVER, server_replica="0", method="POST",
                                    code=str(code)), (float(x) for x in lat))
            rl = labels(method="POST", path=INFER_PATH, status_code=str(code),
                        app_name="mlserver")
            self.rest_total.inc(rl, len(idx))
            self.rest_duration.observe(rl, (float(x) for x in lat))
        mv = labels(model=model, version=version)
        n_failed = int(failed.sum())
        self.success.inc(mv, len(failed) - n_failed)
        self.failure.inc(mv, n_failed)
        self.duration.observe(mv, (float(x) for x in latency))

    def _gauges(self, state) -> None:
        in_flight = sum(f for st in state.values() for _v, f in live_versions(st))
        self.rest_in_progress.set(labels(method="POST", app_name="mlserver"), in_flight)
        queued = sum(st.queued for st in state.values())
        self.queue.observe((), [float(queued)])

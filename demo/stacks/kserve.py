"""KServe: the Python model server's histograms, plus the Knative queue-proxy of each predictor.

Sources
- kserve/kserve @ aaac4e294dae2c7b1aa1886447793f3aa1c30912, python/kserve/kserve/metrics.py:
  `request_preprocess_seconds`, `request_predict_seconds`, `request_postprocess_seconds`,
  `request_explain_seconds` (prometheus-client Histograms, default buckets, label
  `model_name`); model.py times each step with `.time()`, so failed requests are observed
  too. No request or error counter: errors are the queue-proxy's 5xx.
- knative/serving @ 98e5ef90aa7033797aa0a61ef97f3ff7e49a3944, pkg/queue/request_metric.go
  (>= 1.21, OpenTelemetry): `kn.serving.invocation.duration` (s, bounds 0.005 … 10, attribute
  `http.response.status_code`) and the gauge `kn.serving.queue.depth`; knative/pkg
  @ 521cb33b33dd observability/metrics/prometheus_enabled.go exports them with
  UnderscoreEscapingWithSuffixes: `kn_serving_invocation_duration_seconds_*`,
  `kn_serving_queue_depth`, label `http_response_status_code`; the namespace, service and
  revision are resource attributes (in `target_info` only). 1.19–1.20 named them
  `kn.queueproxy.app.duration` / `kn.queueproxy.depth` (commit ce76741c2d).
- the same repository at 19b9a095db (<= 1.18, OpenCensus): `revision_app_request_count`,
  `revision_app_request_latencies` (ms; bounds 5 … 100000), `revision_request_count`,
  `revision_request_latencies`, `revision_queue_depth`, labels `namespace_name`,
  `service_name`, `configuration_name`, `revision_name`, `pod_name`, `container_name`,
  `response_code`, `response_code_class` (pkg/metrics/key.go). Queue-proxy serves these on its
  user metrics port 9091 (pkg/networking/constants.go).

The queue-proxy series carry no model label: in Kubernetes the scrape config copies the pod
label `serving.kserve.io/inferenceservice` to a target label `inferenceservice`. The demo
serves one queue-proxy endpoint per model, `/queue-proxy/<model>/metrics`: the first model's
on Knative >= 1.21 (OpenTelemetry names), the second's on Knative <= 1.18 (OpenCensus names),
so the adapter's fallbacks are exercised in one run.
"""

from __future__ import annotations

import numpy as np

from demo.stacks.base import STATUS_CODES, StackEmitter, codes, live_versions, status_class
from demo.stacks.exposition import Exposition, Family, go_float, labels, python_float

PY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
OTEL_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
OC_BOUNDS_MS = (5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700,
                800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000)
SCOPE = "knative.dev/serving/pkg/queue"
NAMESPACE = "ml-serving"
MODELS_ORDER = ("cancer-screening", "wine-cultivar")  # first: OTel names, second: OpenCensus


class KServe(StackEmitter):
    name = "kserve"
    truth_requests_by_code = truth_latency_by_code = True  # split by HTTP code
    truth_buckets_by_model = {MODELS_ORDER[0]: tuple(float(b) for b in OTEL_BOUNDS),
                              MODELS_ORDER[1]: tuple(b / 1000 for b in OC_BOUNDS_MS)}

    def __init__(self) -> None:
        super().__init__()
        add = self.main.add
        self.steps = {
            step: add(Family(f"request_{step}_seconds", "histogram", f"{step} request latency"
                             if step != "predict" else "predict request latency",
                             buckets=PY_BUCKETS, le_format=python_float,
                             value_format=python_float))
            for step in ("preprocess", "predict", "postprocess")}
        self.steps["preprocess"].help = "pre-process request latency"
        self.steps["postprocess"].help = "post-process request latency"
        self.sidecars: dict[str, dict[str, Family]] = {}
        for i, model in enumerate(MODELS_ORDER):
            expo = Exposition()
            self.paths[f"/queue-proxy/{model}/metrics"] = expo
            self.path_models[f"/queue-proxy/{model}/metrics"] = model
            self.sidecars[model] = self._otel(expo) if i == 0 else self._opencensus(expo)

    @staticmethod
    def _otel(expo: Exposition) -> dict[str, Family]:
        return {
            "duration": expo.add(Family("kn_serving_invocation_duration_seconds", "histogram",
                                        "The duration of task execution",
                                        buckets=OTEL_BOUNDS)),
            "depth": expo.add(Family("kn_serving_queue_depth", "gauge",
                                     "Number of current requests in the queue")),
        }

    @staticmethod
    def _opencensus(expo: Exposition) -> dict[str, Family]:
        return {
            "count": expo.add(Family("revision_app_request_count", "counter", "The number of "
                                     "requests that are routed to user-container")),
            "latencies": expo.add(Family("revision_app_request_latencies", "histogram",
                                         "The response time in millisecond",
                                         buckets=OC_BOUNDS_MS)),
            "depth": expo.add(Family("revision_queue_depth", "gauge", "The current number of "
                                     "items in the serving and waiting queue, or not reported "
                                     "if unlimited concurrency.")),
        }

    @staticmethod
    def _revision(model: str) -> dict[str, str]:
        return {"namespace_name": NAMESPACE, "service_name": f"{model}-predictor",
                "configuration_name": f"{model}-predictor",
                "revision_name": f"{model}-predictor-00001",
                "pod_name": f"{model}-predictor-00001-deployment-0", "container_name":
                "queue-proxy"}

    def covered_latency(self, model, failed, latency, queue):
        if model == MODELS_ORDER[1]:  # OpenCensus records whole milliseconds
            return np.floor(latency * 1000) / 1000
        return latency

    def _deploy(self, model: str, version: str) -> None:
        for fam in self.steps.values():
            fam.touch(labels(model_name=model))
        side = self.sidecars.get(model)
        for code in STATUS_CODES if side else ():
            if "duration" in side:
                side["duration"].touch(labels(http_response_status_code=str(code),
                                              otel_scope_name=SCOPE, otel_scope_version=""))
            else:
                rl = labels(**self._revision(model), response_code=str(code),
                            response_code_class=status_class(code))
                side["count"].touch(rl)
                side["latencies"].touch(rl)

    def _record(self, model, version, failed, causes, latency, queue) -> None:
        compute = (latency - queue).clip(min=0)
        ml = labels(model_name=model)
        self.steps["preprocess"].observe(ml, (float(x) * 0.05 for x in compute))
        self.steps["predict"].observe(ml, (float(x) * 0.9 for x in compute))
        self.steps["postprocess"].observe(ml, (float(x) * 0.05 for x in compute))
        side = self.sidecars.get(model)
        if side is None:
            return
        for code, idx in codes(failed, causes).items():
            lat = latency[idx]
            if "duration" in side:
                side["duration"].observe(
                    labels(http_response_status_code=str(code), otel_scope_name=SCOPE,
                           otel_scope_version=""), (float(x) for x in lat))
            else:
                rl = labels(**self._revision(model), response_code=str(code),
                            response_code_class=status_class(int(code)))
                side["count"].inc(rl, len(idx))
                # OpenCensus records whole milliseconds (latency.Milliseconds())
                side["latencies"].observe(rl, (float(np.floor(x * 1000)) for x in lat))

    def _gauges(self, state) -> None:
        for name, st in state.items():
            side = self.sidecars.get(name)
            if side is None:
                continue
            depth = st.queued + sum(f for _v, f in live_versions(st))
            if "duration" in side:
                side["depth"].set(labels(otel_scope_name=SCOPE, otel_scope_version=""), depth)
            else:
                side["depth"].set(labels(**self._revision(name)), depth)


__all__ = ["KServe", "go_float"]

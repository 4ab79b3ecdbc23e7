"""BentoML's service metrics (served on the service's own HTTP port, /metrics).

Source: bentoml/BentoML @ 32230a5276a8da8b23c4a06a9ec6272c1993451a
- src/bentoml/_internal/server/http/instruments.py: `<namespace>_request_total` (counter),
  `<namespace>_request_duration_seconds` (histogram), `<namespace>_request_in_progress`
  (gauge); labels `endpoint`, `service_name`, `service_version`, `http_response_code`, plus
  `runner_name` in RunnerTrafficMetricsMiddleware (in-progress without the response code);
- src/bentoml/_internal/configuration/v2/default_configuration.yaml: namespace
  `bentoml_service` (BentoML >= 1.2 services); v1/default_configuration.yaml: `bentoml_api_server`
  (1.0/1.1 API server, no `runner_name`);
- src/bentoml/_internal/utils/metrics.py DEFAULT_BUCKET (seconds, 0.005 … 180);
- src/_bentoml_impl/server/app.py: `bentoml_service_adaptive_batch_size` (histogram,
  `runner_name`, `worker_index`, `method_name`, `service_version`, `service_name`).

The bento name is the model, the bento version its version. The demo serves the first model as
a BentoML >= 1.2 service and the second as a 1.1 API server, so both names are exercised.
"""

from __future__ import annotations

from demo.stacks.base import STATUS_CODES, StackEmitter, codes, live_versions
from demo.stacks.exposition import Family, labels, python_float

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
           180.0)
BATCH_BUCKETS = tuple(float(2**i) for i in range(7))
NEW, OLD = "bentoml_service", "bentoml_api_server"
MODELS_ORDER = ("cancer-screening", "wine-cultivar")  # first: >= 1.2 names, second: 1.1 names
ENDPOINT = "/predict"


class BentoML(StackEmitter):
    name = "bentoml"
    truth_requests_by_code = truth_latency_by_code = True  # split by HTTP code
    truth_buckets_seconds = BUCKETS

    def __init__(self) -> None:
        super().__init__()
        py = {"value_format": python_float}
        self.fam = {}
        for ns in (NEW, OLD):
            self.fam[ns] = {
                "total": self.main.add(Family(f"{ns}_request", "counter", "Total number of "
                                              "HTTP requests", sample_name=f"{ns}_request_total",
                                              **py)),
                "duration": self.main.add(Family(f"{ns}_request_duration_seconds", "histogram",
                                                 "HTTP request duration in seconds",
                                                 buckets=BUCKETS, le_format=python_float, **py)),
                "in_progress": self.main.add(Family(f"{ns}_request_in_progress", "gauge",
                                                    "Total number of HTTP requests in progress "
                                                    "now", **py)),
            }
        self.batch_hist = self.main.add(Family(f"{NEW}_adaptive_batch_size", "histogram",
                                               "Service adaptive batch size",
                                               buckets=BATCH_BUCKETS, le_format=python_float,
                                               **py))

    @staticmethod
    def _ns(model: str) -> str:
        return NEW if model == MODELS_ORDER[0] else OLD

    def version_label(self, model: str, version: str) -> str:
        return version

    def _base(self, model: str, version: str, code: str | None = None):
        pairs = {"endpoint": ENDPOINT, "service_name": model, "service_version": version}
        if code is not None:
            pairs["http_response_code"] = code
        if self._ns(model) == NEW:
            pairs["runner_name"] = model
        return labels(**pairs)

    def _deploy(self, model: str, version: str) -> None:
        fam = self.fam[self._ns(model)]
        for code in STATUS_CODES:
            fam["total"].touch(self._base(model, version, str(code)))
            fam["duration"].touch(self._base(model, version, str(code)))

    def _record(self, model, version, failed, causes, latency, queue) -> None:
        fam = self.fam[self._ns(model)]
        for code, idx in codes(failed, causes).items():
            lb = self._base(model, version, str(code))
            fam["total"].inc(lb, len(idx))
            fam["duration"].observe(lb, (float(x) for x in latency[idx]))
        if self._ns(model) == NEW:
            bl = labels(runner_name=model, worker_index="1", method_name="predict",
                        service_version=version, service_name=model)
            self.batch_hist.observe(bl, self.batch_sizes(model, int((~failed).sum())))

    def _gauges(self, state) -> None:
        for name, st in state.items():
            for version, in_flight in live_versions(st):
                self.fam[self._ns(name)]["in_progress"].set(self._base(name, version),
                                                            round(in_flight))

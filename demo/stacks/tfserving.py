"""TensorFlow Serving's Prometheus endpoint (`--monitoring_config_file` with
`prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }`, REST port).

Source: tensorflow/serving @ 9d981c5c2708d23c5407c7c1e30309e6f9798874
- tensorflow_serving/util/prometheus_exporter.cc: names from the TF monitoring path, every
  non-alphanumeric character turned into `:` (`/tensorflow/serving/request_count` ->
  `:tensorflow:serving:request_count`); histogram bounds written with absl::StrCat, the last
  as `+Inf`;
- tensorflow_serving/servables/tensorflow/util.cc: `request_count` (counter: `model_name`,
  `status` = the absl status code name, OK on success), `request_latency` (µs histogram:
  `model_name`, `API`, `entrypoint`) and `runtime_latency` (µs: `model_name`, `API`, `runtime`),
  bounds Exponential(10, 1.8, 33);
- tensorflow_serving/batching/batching_util.h: `/tensorflow/serving/batching_session/
  processed_batch_size` (histogram without labels, bounds Exponential(1, 2, 14)).

- tensorflow/tensorflow @ f760627a5af0806236ab288e2eee16463e7d3183,
  tensorflow/cc/saved_model/loader.cc: `/tensorflow/cc/saved_model/load_attempt_count`
  (counter: `model_path`, `status` success|fail) and `/tensorflow/cc/saved_model/load_latency`
  (counter, µs: `model_path`), counted by LoadSavedModel for every load; TF Serving loads each
  version from `<base_path>/<version>` and exports these like its own.

No model version label on the serving series (the load counters have it in `model_path`), no
in-flight gauge.
"""

from __future__ import annotations

from demo.stacks.base import StackEmitter, load_seconds
from demo.stacks.exposition import Family, absl_float, labels

LATENCY_US = tuple(10.0 * 1.8**i for i in range(33))
BATCH = tuple(float(2**i) for i in range(14))
STATUS = {"": "OK", "invalid_input": "INVALID_ARGUMENT", "timeout": "DEADLINE_EXCEEDED",
          "model_exception": "INTERNAL", "dependency_unavailable": "UNAVAILABLE"}
US = 1e6


class TFServing(StackEmitter):
    name = "tfserving"
    truth_requests_by_code = True  # `status` per cause: one series per code
    truth_buckets_seconds = tuple(b / US for b in LATENCY_US)

    def __init__(self) -> None:
        super().__init__()
        add = self.main.add
        f = {"le_format": absl_float, "value_format": absl_float}
        self.count = add(Family(":tensorflow:serving:request_count", "counter",
                                "The total number of requests.", **f))
        self.latency = add(Family(":tensorflow:serving:request_latency", "histogram",
                                  "Distribution of wall time (in microseconds) for Tensorflow "
                                  "Serving request.", buckets=LATENCY_US, **f))
        self.runtime = add(Family(":tensorflow:serving:runtime_latency", "histogram",
                                  "Distribution of wall time (in microseconds) for Tensorflow "
                                  "runtime.", buckets=LATENCY_US, **f))
        self.loads = add(Family(":tensorflow:cc:saved_model:load_attempt_count", "counter",
                                "The number of times a SavedModel was successfully loaded.", **f))
        self.load_us = add(Family(":tensorflow:cc:saved_model:load_latency", "counter",
                                  "Latency in microseconds for SavedModels that were "
                                  "succesfully loaded.", **f))
        self.batch_hist = add(Family(":tensorflow:serving:batching_session:processed_batch_size",
                                     "histogram", "Tracks the batch size distribution on "
                                     "processing.", buckets=BATCH, **f))

    def load_version_label(self, model: str, version: str) -> str:
        return version.lstrip("v")  # the version directory under the model's base path

    def _deploy(self, model: str, version: str) -> None:
        path = f"/models/{model}/{self.load_version_label(model, version)}"
        self.loads.inc(labels(model_path=path, status="success"))
        self.load_us.inc(labels(model_path=path), load_seconds(model, version) * US)
        for status in STATUS.values():
            self.count.touch(labels(model_name=model, status=status))
        self.latency.touch(labels(model_name=model, API="predict", entrypoint="REST"))

    def _record(self, model, version, failed, causes, latency, queue) -> None:
        for i, cause in enumerate(causes):
            self.count.inc(labels(model_name=model, status=STATUS[str(cause) if failed[i]
                                                                else ""]))
        self.latency.observe(labels(model_name=model, API="predict", entrypoint="REST"),
                             (float(x) * US for x in latency))
        self.runtime.observe(labels(model_name=model, API="predict", runtime="TF1"),
                             (float(x) * US for x in (latency - queue).clip(min=0)))
        self.batch_hist.observe((), self.batch_sizes(model, int((~failed).sum())))

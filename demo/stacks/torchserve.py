"""TorchServe's metrics API (`metrics_mode: prometheus`, port 8082, /metrics).

Source: pytorch/serve @ 62c4d6a1fdc1d071dbcf758ebd756029af20bd5e
- ts/configs/metrics.yaml: `ts_inference_requests_total`, `ts_inference_latency_microseconds`,
  `ts_queue_latency_microseconds` (counters; labels `model_name`, `model_version`,
  `hostname`), host-level `Requests2XX`, `Requests4XX`, `Requests5XX` (counters; `Level`,
  `Hostname`), `QueueTime` (gauge, ms), `WorkerLoadTime` (gauge, ms; `WorkerName`, `Level`,
  `Hostname`), set by frontend/.../wlm/WorkerThread.java when a worker has loaded its model;
  the worker name is `W-<port>-<model>_<version>` (getWorkerName), ports from 9000;
- frontend/gradle.properties: io.prometheus simpleclient 0.9.0, which exposes counter names
  as given (no `_total` added);
- frontend/server/src/main/java/org/pytorch/serve/http/api/rest/InferenceRequestHandler.java:
  the request counter counts every request (version "default" when none is asked for);
  .../job/RestJob.java: the latency counters advance when a response is sent (successes).

No latency histogram, no per-model error counter (only the host's 4XX/5XX), no in-flight gauge.
"""

from __future__ import annotations

from demo.stacks.base import StackEmitter, codes, load_seconds
from demo.stacks.exposition import Family, labels

HOST = "torchserve-0"
US = 1e6


class TorchServe(StackEmitter):
    name = "torchserve"

    def __init__(self) -> None:
        super().__init__()
        add = self.main.add
        self.requests = add(Family("ts_inference_requests_total", "counter",
                                   "Torchserve prometheus counter metric with unit: Count"))
        self.latency = add(Family("ts_inference_latency_microseconds", "counter",
                                  "Torchserve prometheus counter metric with unit: Microseconds"))
        self.queue = add(Family("ts_queue_latency_microseconds", "counter",
                                "Torchserve prometheus counter metric with unit: Microseconds"))
        self.by_class = {c: add(Family(f"Requests{c}XX", "counter",
                                       "Torchserve prometheus counter metric with unit: Count"))
                         for c in (2, 4, 5)}
        self.queue_time = add(Family("QueueTime", "gauge",
                                     "Torchserve prometheus gauge metric with unit: Milliseconds"))
        self.load_time = add(Family("WorkerLoadTime", "gauge",
                                    "Torchserve prometheus gauge metric with unit: Milliseconds"))
        self.workers = 0  # one worker per version, ports 9000, 9001, …

    def version_label(self, model: str, version: str) -> str:
        return version

    def _mv(self, model, version):
        return labels(model_name=model, model_version=version, hostname=HOST)

    def covered_latency(self, model, failed, latency, queue):
        return latency[~failed]  # RestJob.java: latency counters when a response is sent

    def _deploy(self, model: str, version: str) -> None:
        for fam in (self.requests, self.latency, self.queue):
            fam.touch(self._mv(model, version))
        worker = f"W-{9000 + self.workers}-{model}_{version}"
        self.workers += 1
        self.load_time.set(labels(WorkerName=worker, Level="Host", Hostname=HOST),
                           load_seconds(model, version) * 1000)
        for fam in self.by_class.values():
            fam.touch(labels(Level="Host", Hostname=HOST))

    def _record(self, model, version, failed, causes, latency, queue) -> None:
        mv = self._mv(model, version)
        self.requests.inc(mv, len(failed))
        ok = ~failed
        self.latency.inc(mv, float(latency[ok].sum()) * US)
        self.queue.inc(mv, float(queue[ok].sum()) * US)
        for code, idx in codes(failed, causes).items():
            self.by_class[int(code) // 100].inc(labels(Level="Host", Hostname=HOST), len(idx))
        if len(queue):
            self.queue_time.set(labels(Level="Host", Hostname=HOST), float(queue.mean()) * 1000)

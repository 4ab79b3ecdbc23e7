"""Ray Serve's built-in metrics (Ray's metrics export port on every node, /metrics).

Source: ray-project/ray doc/source/serve/monitoring.md @ 88ea1761883d5a2ddec9b413e0e076257ca1c404
("Built-in Ray Serve metrics"; python/ray/serve/_private/replica.py defines them):
`ray_serve_deployment_request_counter_total`, `ray_serve_deployment_error_counter_total`
(counters: `deployment`, `replica`, `route`, `application`),
`ray_serve_deployment_processing_latency_ms` (histogram in milliseconds, processing only — the
queue wait is excluded; default bounds 1, 2, 5, … 600000), `ray_serve_replica_processing_queries`
(gauge: `deployment`, `replica`, `application`), `ray_serve_deployment_replica_healthy`
(gauge: `deployment`, `replica`, `application`; 1 healthy, 0 unhealthy; "Replica lifecycle
metrics"), `ray_serve_deployment_queued_queries` (gauge:
`deployment`, `application`, `handle`, `actor_id`), `ray_serve_actual_batch_size` (histogram:
`deployment`, `replica`, `application`, `function_name`; bounds 1 … 1024).

A deployment is the model; Ray Serve has no model version label.
"""

from __future__ import annotations

from demo.stacks.base import StackEmitter, live_versions
from demo.stacks.exposition import Family, labels, python_float

LATENCY_MS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 300.0, 400.0, 500.0, 1000.0,
              2000.0, 5000.0, 10000.0, 60000.0, 120000.0, 300000.0, 600000.0)
BATCH = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0)
APP = "ml"


class RayServe(StackEmitter):
    name = "rayserve"
    truth_buckets_seconds = tuple(b / 1000 for b in LATENCY_MS)

    def __init__(self) -> None:
        super().__init__()
        add = self.main.add
        f = {"le_format": python_float, "value_format": python_float}
        self.requests = add(Family("ray_serve_deployment_request_counter", "counter",
                                   "The number of queries that have been processed in this "
                                   "replica.",
                                   sample_name="ray_serve_deployment_request_counter_total", **f))
        self.errors = add(Family("ray_serve_deployment_error_counter", "counter",
                                 "The number of exceptions that have occurred in this replica.",
                                 sample_name="ray_serve_deployment_error_counter_total", **f))
        self.latency = add(Family("ray_serve_deployment_processing_latency_ms", "histogram",
                                  "The latency for queries to be processed.",
                                  buckets=LATENCY_MS, **f))
        self.processing = add(Family("ray_serve_replica_processing_queries", "gauge",
                                     "The current number of queries being processed.", **f))
        self.queued = add(Family("ray_serve_deployment_queued_queries", "gauge",
                                 "The current number of queries to this deployment waiting to "
                                 "be assigned to a replica.", **f))
        self.healthy = add(Family("ray_serve_deployment_replica_healthy", "gauge",
                                  "Whether this deployment replica is healthy. 1 means healthy, "
                                  "0 unhealthy.", **f))
        self.batch_hist = add(Family("ray_serve_actual_batch_size", "histogram",
                                     "The computed size of each batch.", buckets=BATCH, **f))

    @staticmethod
    def _replica(model: str) -> str:
        return f"{APP}#{model}#a1b2c3"

    def _labels(self, model: str):
        return labels(application=APP, deployment=model, replica=self._replica(model),
                      route=f"/{model}")

    def covered_latency(self, model, failed, latency, queue):
        return (latency - queue).clip(min=0)  # processing time, queue wait excluded

    def _deploy(self, model: str, version: str) -> None:
        for fam in (self.requests, self.errors, self.latency):
            fam.touch(self._labels(model))
        self.healthy.set(labels(deployment=model, replica=self._replica(model), application=APP),
                         1)

    def _record(self, model, version, failed, causes, latency, queue) -> None:
        rl = self._labels(model)
        self.requests.inc(rl, len(failed))
        self.errors.inc(rl, int(failed.sum()))
        processing = (latency - queue).clip(min=0)
        self.latency.observe(rl, (float(x) * 1000 for x in processing))
        self.batch_hist.observe(labels(application=APP, deployment=model,
                                       replica=self._replica(model), function_name="predict"),
                                self.batch_sizes(model, int((~failed).sum())))

    def _gauges(self, state) -> None:
        for name, st in state.items():
            self.processing.set(labels(application=APP, deployment=name,
                                       replica=self._replica(name)),
                                round(sum(f for _v, f in live_versions(st))))
            self.queued.set(labels(application=APP, deployment=name, handle="proxy",
                                   actor_id="0a1b2c"), round(st.queued))

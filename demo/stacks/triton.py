"""NVIDIA Triton Inference Server's per-model metrics (metrics port 8002, /metrics).

Source: triton-inference-server/core @ 73aad7c3348d040c7087d57837d75822c488495e
- src/metrics.cc: family names, types and help texts (prometheus-cpp: counters are exposed
  without a `_total` suffix);
- src/metric_model_reporter.cc, src/constants.h: labels `model`, `version` (the model
  version directory, an integer), failure `reason` REJECTED|CANCELED|BACKEND|OTHER;
- src/infer_stats.cc: success counters and the `*_duration_us` counters (microseconds)
  advance on success only (UpdateSuccess); a failure only bumps `nv_inference_request_failure`;
- src/metric_model_reporter.h: `nv_inference_first_response_histogram_ms` (milliseconds),
  default buckets {100, 500, 2000, 5000}, only with `--metrics-config histogram_latencies=true`;
  bounds per model via `model_metrics.metric_control` in the model config.

The demo emits the histogram as a server started with `histogram_latencies=true` and a model
config giving finer buckets (below); without that flag Triton has no latency histogram and the
adapter falls back to the mean (duration counters / success counter).
"""

from __future__ import annotations

from demo.stacks.base import StackEmitter, live_versions, load_seconds
from demo.stacks.exposition import Family, go_float, labels

# metric_control histogram_options buckets a team would set (ms)
HISTOGRAM_MS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)
REASON = {"invalid_input": "REJECTED", "timeout": "CANCELED", "model_exception": "BACKEND",
          "dependency_unavailable": "OTHER"}
REASONS = ("REJECTED", "CANCELED", "BACKEND", "OTHER")
US = 1e6
# The cumulative duration counters (microseconds; infer_stats.cc advances them on success only):
# the part of a request each one times -> (family name, help text as in metrics.cc)
DURATIONS_US = {
    "request": ("nv_inference_request_duration_us",
                "Cumulative inference request duration in microseconds (includes cached requests)"),
    "queue": ("nv_inference_queue_duration_us",
              "Cumulative inference queuing duration in microseconds (includes cached requests)"),
    "compute_input": ("nv_inference_compute_input_duration_us",
                      "Cumulative compute input duration in microseconds (does not include cached "
                      "requests)"),
    "compute_infer": ("nv_inference_compute_infer_duration_us",
                      "Cumulative compute inference duration in microseconds (does not include "
                      "cached requests)"),
    "compute_output": ("nv_inference_compute_output_duration_us",
                       "Cumulative inference compute output duration in microseconds (does not "
                       "include cached requests)"),
}
# how the demo splits a request's compute time (its latency less its queue wait) into steps
COMPUTE_SHARES = {"compute_input": 0.05, "compute_infer": 0.9, "compute_output": 0.05}


class Triton(StackEmitter):
    name = "triton"
    truth_requests_by_code = True  # success + failure by `reason`: one series per code
    truth_buckets_seconds = tuple(b / 1000 for b in HISTOGRAM_MS)

    def __init__(self) -> None:
        super().__init__()
        add = self.main.add
        self.success = add(Family("nv_inference_request_success", "counter",
                                  "Number of successful inference requests, all batch sizes"))
        self.failure = add(Family("nv_inference_request_failure", "counter",
                                  "Number of failed inference requests, all batch sizes"))
        self.count = add(Family("nv_inference_count", "counter", "Number of inferences "
                                "performed (does not include cached requests)"))
        self.exec_count = add(Family("nv_inference_exec_count", "counter", "Number of model "
                                     "executions performed (does not include cached requests)"))
        self.duration_us = {part: add(Family(name, "counter", help_))
                            for part, (name, help_) in DURATIONS_US.items()}
        self.pending = add(Family("nv_inference_pending_request_count", "gauge",
                                  "Instantaneous number of pending requests awaiting execution "
                                  "per-model."))
        self.load = add(Family("nv_model_load_duration_secs", "gauge", "Model load time in "
                               "seconds"))
        self.first_response = add(Family("nv_inference_first_response_histogram_ms",
                                         "histogram", "Duration from request to first response "
                                         "in milliseconds", buckets=HISTOGRAM_MS,
                                         le_format=go_float))

    def version_label(self, model: str, version: str) -> str:
        return version.lstrip("v")  # Triton versions are integers (the version directory)

    def _mv(self, model: str, version: str):
        return labels(model=model, version=self.version_label(model, version))

    def covered_latency(self, model, failed, latency, queue):
        return latency[~failed]  # infer_stats.cc: durations on success only

    def _deploy(self, model: str, version: str) -> None:
        mv = self._mv(model, version)
        for fam in (self.success, self.count, self.exec_count, *self.duration_us.values(),
                    self.first_response):
            fam.touch(mv)
        for reason in REASONS:
            self.failure.touch(mv + (("reason", reason),))
        self.load.set(mv, load_seconds(model, version))  # model_lifecycle.cc, on load

    def _record(self, model, version, failed, causes, latency, queue) -> None:
        mv = self._mv(model, version)
        ok = ~failed
        n_ok = int(ok.sum())
        for cause in causes[failed]:
            self.failure.inc(mv + (("reason", REASON[str(cause)]),))
        if not n_ok:
            return
        self.success.inc(mv, n_ok)
        self.count.inc(mv, n_ok)
        self.exec_count.inc(mv, len(self.batch_sizes(model, n_ok)))
        lat, q = latency[ok], queue[ok]
        compute = float((lat - q).clip(min=0).sum())
        seconds = {"request": float(lat.sum()), "queue": float(q.sum()),
                   **{step: compute * share for step, share in COMPUTE_SHARES.items()}}
        for part, total in seconds.items():
            self.duration_us[part].inc(mv, total * US)
        self.first_response.observe(mv, (float(x) * 1000 for x in lat))

    def _gauges(self, state) -> None:
        for name, st in state.items():
            live = live_versions(st)
            for version, _in_flight in live:
                self.pending.set(self._mv(name, version), round(st.queued / len(live)))

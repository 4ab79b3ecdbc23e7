"""Infrastructure: are the machines and the serving process healthy (USE + RED)?"""

from _config import CONFIG as C
from _lib import signals as s
from _lib.dashboard import ml_dashboards
from _lib.layout import section
from _lib.panels import heatmap, higher_is_bad, q, timeseries
from _lib.promql import MODEL, MV, M, V, by, per_model, pod_sum, sel

folder = C.folder

LATENCY = higher_is_bad(C.latency_p95_warn_seconds, C.latency_p95_crit_seconds)
P99 = higher_is_bad(C.latency_p95_crit_seconds, C.latency_p99_crit_seconds)
SATURATION = higher_is_bad(C.worker_saturation_warn, C.worker_saturation_crit)
GPU = sel(source="gpu", model=False)
NODE = sel(source="node", model=False)
IDLE_CPU = sel('mode="idle"', source="node", model=False)

dashboards = ml_dashboards(
    uid="ml-infrastructure",
    title="ML monitoring: infrastructure",
    area="infrastructure",
    description="USE for the serving pods, GPUs and nodes; RED for the model service: "
    "throughput, latency percentiles and heatmap, saturation (queue, in-flight, throttling).",
    sections=[
        section(
            "Throughput and latency (RED)",
            timeseries("Throughput", "Predictions returned per second per model and version. "
                       "Bad: a drop to 0 or a sudden change without a deployment.",
                       [q(s.prediction_rate((M, V), per_version=True), MV)], unit="ops", w=8),
            timeseries("Latency p50 / p95 / p99", "End-to-end inference latency percentiles "
                       "per model (histogram_quantile over the latency histogram, 5m). Bad: p99 "
                       f"above {C.latency_p99_crit_seconds} s (red; the dashed lines are p99's). "
                       "p95 is judged in the panel beside it and by MLLatencySLOBreach."
                       + s.MEAN_NOTE,
                       [q(s.latency(99), "p99 " + MODEL), q(s.latency(95), "p95 " + MODEL),
                        q(s.latency(50), "p50 " + MODEL)],
                       unit="s", steps=P99, not_judged="p(50|95) .*", min=0, w=8),
            timeseries("Latency p95", "95th-percentile end-to-end latency per model at the "
                       "dashboard's resolution. Bad: above "
                       f"{C.latency_p95_warn_seconds} s (orange, the SLO) or "
                       f"{C.latency_p95_crit_seconds} s (red), as MLLatencySLOBreach judges over "
                       "5 minutes. p95, not p99: a point at this resolution rests on a few "
                       "hundred requests, and their p99 on the slowest handful (a few client "
                       "timeouts cross any p99 threshold); the tail is in the 5m panel beside "
                       "it. A serving stack's p95 comes from its recording rule (5m)."
                       + s.MEAN_NOTE,
                       [q(s.latency_live(0.95), MODEL)], unit="s", steps=LATENCY, min=0, w=8),
            heatmap("Latency distribution", "How many requests fell in each latency bucket "
                    "over time (all selected models). Bad: mass moving up, or a second band "
                    "appearing (a slow dependency, a cold replica)." + s.HEATMAP_NOTE,
                    q(s.latency_buckets_live()),
                    unit="s", w=12),
            timeseries("Mean latency per version", "Average end-to-end latency per model "
                       "version (sum/count of the histogram). Bad: one version much slower than "
                       "the other (a canary regression).",
                       [q(f"max by ({by(M, V)}) (model_version:ml_inference_duration_seconds:mean5m"
                          f"{sel(version=True)})", MV)],
                       unit="s", steps=LATENCY, min=0, w=12),
        ),
        section(
            "Saturation",
            timeseries("Queued requests", "Requests waiting for a worker. Bad: anything "
                       "persistently above 0 (the service cannot keep up).",
                       [q(s.queued(), MODEL)],
                       unit="short", steps=higher_is_bad(1, 10), min=0, w=6),
            timeseries("Worker saturation", "Requests in flight divided by the configured "
                       f"worker concurrency (ml_inference_max_concurrency). Bad: above "
                       f"{C.worker_saturation_crit:g} (requests start queueing). Empty for stacks "
                       "without an in-flight gauge (Triton, Seldon, TorchServe, TF Serving, "
                       "KServe).",
                       [q(f"{s.in_flight()}\n/\n"
                          f"max by ({by(M)}) (ml_inference_max_concurrency{sel()})", MODEL)],
                       unit="percentunit", steps=SATURATION, min=0, w=6),
            timeseries("Queue wait p95", "95th-percentile time a request waited in the queue. "
                       "Bad: a large share of the latency budget." + s.QUEUE_NOTE,
                       [q(s.queue_wait_p95(), MODEL)],
                       unit="s", steps=higher_is_bad(0.05, C.latency_p95_warn_seconds), min=0,
                       w=6),
            timeseries("CPU throttling", "Share of CFS periods in which the model's containers "
                       "were throttled. Bad: above 0.25 (the CPU limit is too low; latency "
                       "suffers).",
                       [q(s.cpu_throttling(), MODEL)],
                       unit="percentunit", steps=higher_is_bad(0.1, 0.25), min=0, w=6),
        ),
        section(
            "Containers (cAdvisor)",
            timeseries("CPU used vs requested", "CPU cores used by the model's pods divided by "
                       "the cores they requested. Bad: above 1 for long (under-provisioned) or "
                       "far below 1 (paying for idle CPU).",
                       [q(s.cpu_used_vs_requested(), MODEL)],
                       unit="percentunit", steps=higher_is_bad(0.8, 1.0), min=0, w=8),
            timeseries("Memory working set vs limit", "Working-set memory of the model's pods "
                       "divided by their memory limit. Bad: approaching 1 (the OOM killer "
                       "acts at the limit).",
                       [q(s.memory_vs_limit(), MODEL)],
                       unit="percentunit", steps=higher_is_bad(0.8, 0.95), min=0, w=8),
            timeseries("Memory working set", "Working-set memory per model version. Bad: "
                       "steady growth (a leak) or a jump after a deployment.",
                       [q(s.memory_working_set(), MV)],
                       unit="bytes", min=0, w=8),
        ),
        section(
            "GPU (DCGM)",
            timeseries("GPU utilisation", "Average GPU utilisation of each model version's "
                       f"pods (DCGM, recording rule). Bad: above {C.gpu_utilisation_crit:g} "
                       "(saturated) or near 0 (paying for an idle GPU).",
                       [q(f"max by ({by(M, V)}) (model_version:dcgm_gpu_utilisation:avg_ratio"
                          f"{sel(source='none', version=True)})", MV)],
                       unit="percentunit", steps=higher_is_bad(C.gpu_utilisation_warn,
                                                               C.gpu_utilisation_crit), min=0, max=1, w=6),
            timeseries("GPU memory used", "Framebuffer occupancy (used / total) of each model "
                       f"version's GPUs. Bad: above {C.gpu_memory_crit:g} (out-of-memory errors follow).",
                       [q(f"max by ({by(M, V)}) (model_version:dcgm_framebuffer_used:max_ratio"
                          f"{sel(source='none', version=True)})", MV)],
                       unit="percentunit", steps=higher_is_bad(C.gpu_memory_warn, C.gpu_memory_crit),
                       min=0, max=1, w=6),
            timeseries("GPU power", "Power draw of the model's GPUs. Bad: pinned at the "
                       "board's limit (power throttling).",
                       [q(per_model(pod_sum(f"DCGM_FI_DEV_POWER_USAGE{GPU}")), MODEL)],
                       unit="watt", min=0, w=6),
            timeseries("GPU temperature", "Hottest GPU of each model. Bad: above 85 °C "
                       "(thermal throttling).",
                       [q(per_model(pod_sum(f"DCGM_FI_DEV_GPU_TEMP{GPU}"), agg="max"), MODEL)],
                       unit="celsius", steps=higher_is_bad(80, 85), w=6),
        ),
        section(
            "Nodes (node_exporter)",
            timeseries("Node CPU utilisation", "Share of CPU time not idle, per node "
                       "(node-mixin recording rule). Bad: above 0.9 for long.",
                       [q(f"instance:node_cpu_utilisation:rate5m{NODE}", "{{instance}}")],
                       unit="percentunit", steps=SATURATION, min=0, max=1, w=8),
            timeseries("Node memory utilisation", "Share of memory not available for new "
                       "work, per node. Bad: above 0.9 (swapping, OOM kills).",
                       [q(f"instance:node_memory_utilisation:ratio{NODE}", "{{instance}}")],
                       unit="percentunit", steps=SATURATION, min=0, max=1, w=8),
            timeseries("Node load per core", "1-minute load average divided by the number of "
                       "cores. Bad: above 1 (runnable tasks wait for a CPU).",
                       [q(f"node_load1{NODE}\n/ on ({by('instance')}) "
                          f"count by ({by('instance')}) (node_cpu_seconds_total{IDLE_CPU})",
                          "{{instance}}")],
                       unit="short", steps=higher_is_bad(0.8, 1.0), min=0, w=8),
        ),
    ],
)

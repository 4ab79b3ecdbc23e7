"""Serving signals from Ray Serve (stack `rayserve`).

Source (docs/stacks/rayserve.md): ray-project/ray @ 88ea1761883d doc/source/serve/monitoring.md
("Built-in Ray Serve metrics"): `ray_serve_deployment_request_counter_total`,
`ray_serve_deployment_error_counter_total` (older Ray: without `_total`; both accepted),
`ray_serve_deployment_processing_latency_ms` (histogram in MILLIseconds; processing time, the
queue wait excluded), `ray_serve_replica_processing_queries`,
`ray_serve_deployment_queued_queries`, `ray_serve_actual_batch_size`; label `deployment` (the
model). No version label (version="unknown").
- Loaded: `ray_serve_deployment_replica_healthy` (gauge per replica, 1 healthy / 0 unhealthy;
  "Replica lifecycle metrics"): 1 when any replica of the deployment is healthy. No model load
  time: `ray_serve_replica_startup_latency_ms` times a replica's start (node provisioning and
  runtime-environment set-up included), not the model's load (docs/stacks/rayserve.md).
"""

from _stacklib import (
    JM,
    JMV,
    core,
    first,
    group,
    latency,
    loaded,
    mean_by,
    percentile,
    rate_by,
    record,
    relabel,
    selector,
    sum_by,
)

STACK = "rayserve"
MS = 1e3
LATENCY = "ray_serve_deployment_processing_latency_ms"


def _v(expr: str) -> str:
    return relabel(expr, model="deployment")


def _counter(name: str) -> str:
    """Ray >= 2.x exports `<name>_total`; older Ray (OpenCensus) exported `<name>`."""
    return first(rate_by(JMV, _v, f"{name}_total"), rate_by(JMV, _v, name))


_rules = [
    *core(
        requests=_counter("ray_serve_deployment_request_counter"),
        errors=_counter("ray_serve_deployment_error_counter"),
        mean=mean_by(JMV, _v, LATENCY, MS),
    ),
    *latency(others=[percentile(_v, LATENCY, MS)]),
    record("model_version:ml_inference_in_progress_requests:sum",
           sum_by(JMV, _v(selector("ray_serve_replica_processing_queries")))),
    record("model:ml_inference_queued_requests:sum",
           sum_by(JM, _v(selector("ray_serve_deployment_queued_queries")))),
    record("model:ml_inference_batch_size:mean5m", mean_by(JM, _v, "ray_serve_actual_batch_size")),
    loaded(_v(selector("ray_serve_deployment_replica_healthy"))),
]

groups = group(STACK, _rules)

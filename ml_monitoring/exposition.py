"""Serving /metrics from a model service, single-process or multi-process.

With several worker processes (gunicorn, uvicorn --workers) set PROMETHEUS_MULTIPROC_DIR to an
empty directory before the workers start: prometheus_client then writes every worker's values to
memory-mapped files there, and :func:`render` aggregates them on whichever worker is scraped.
Call :func:`worker_exit` from the server's worker-exit hook (gunicorn: `child_exit`) so gauges
of dead workers are dropped.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ml_monitoring.metrics import multiprocess_dir


def registry_to_serve(registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """The registry to expose: a multiprocess aggregate when multiprocess mode is on."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        return reg
    if registry is None:
        from prometheus_client import REGISTRY

        return REGISTRY
    return registry


def render(registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """(body, content type) of the Prometheus text exposition."""
    return generate_latest(registry_to_serve(registry)), CONTENT_TYPE_LATEST


def worker_exit(pid: int) -> None:
    """Forget a dead worker's live gauges (multiprocess mode); no-op otherwise."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)

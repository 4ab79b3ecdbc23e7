"""The demo's /metrics endpoint: 503 until the first full exposition is ready.

The port opens at once (so a bad --port fails fast, before the models train), but answering 200
with an empty or half-built registry while the simulation warms up would show Prometheus a
scrape with no samples: every series would look absent for those first scrapes. Until `ready`
is set, every request is answered `503 Service Unavailable` (Prometheus records up=0).
"""

from __future__ import annotations

import threading
from typing import Any
from wsgiref.simple_server import make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler


def start_metrics_server(port: int, host: str, registry: CollectorRegistry
                         ) -> tuple[Any, threading.Event]:
    """Serve /metrics of `registry` on host:port in a daemon thread; (server, ready event).

    Raises OSError when the port cannot be bound (the caller turns it into a usage error).
    """
    ready = threading.Event()
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if not ready.is_set():
            start_response("503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "1")])
            return [b"warming up: the first exposition is not ready yet\n"]
        return metrics(environ, start_response)

    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_SilentHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, ready

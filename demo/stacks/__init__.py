"""The demo's serving part in each serving stack's native metric names (`python -m demo --stack`).

One module per stack, each citing the stack's source (repository, path, commit) for every
name, label and unit it emits. `contract` (the default) keeps the project's own `ml_*` serving
series; any other stack replaces them (the ML quality, drift and fairness part stays `ml_*`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy stays out of `python -m demo --help`
    from demo.stacks.base import StackEmitter

CONTRACT = "contract"


def _registry() -> dict[str, Callable[[], StackEmitter]]:  # noqa: F821
    from demo.stacks.bentoml import BentoML
    from demo.stacks.kserve import KServe
    from demo.stacks.rayserve import RayServe
    from demo.stacks.seldon import Seldon
    from demo.stacks.tfserving import TFServing
    from demo.stacks.torchserve import TorchServe
    from demo.stacks.triton import Triton

    return {cls.name: cls for cls in (Triton, KServe, Seldon, BentoML, TorchServe, TFServing,
                                      RayServe)}


STACKS = (CONTRACT, "triton", "kserve", "seldon", "bentoml", "torchserve", "tfserving",
          "rayserve")


def create(name: str, instruments: Any = None) -> StackEmitter | None:
    """The emitter for `name` (None for the contract). /metrics then serves
    `emitter.without_contract(registry)`: the contract's serving families withdrawn."""
    if name == CONTRACT:
        return None
    return _registry()[name]()


def wrap_wsgi(app: Callable, emitter: StackEmitter) -> Callable:
    """The demo's WSGI app with the stack's exposition appended to /metrics and its extra
    endpoints served. The inner app is asked for the plain text format, uncompressed, so the
    stack's text can follow it."""

    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != "/metrics":
            text = emitter.render(path)
            if text is None:
                return app(environ, start_response)
            body = text.encode()
            start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; "
                                       "charset=utf-8"), ("Content-Length", str(len(body)))])
            return [body]
        inner = dict(environ, HTTP_ACCEPT="text/plain; version=0.0.4",
                     HTTP_ACCEPT_ENCODING="identity")
        captured: dict[str, Any] = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        chunks = list(app(inner, capture))
        status = captured.get("status", "500 Internal Server Error")
        if not status.startswith("200"):
            start_response(status, captured.get("headers", []))
            return chunks
        body = b"".join(chunks) + (emitter.render("/metrics") or "").encode()
        start_response(status, [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                                ("Content-Length", str(len(body)))])
        return [body]

    return wrapped

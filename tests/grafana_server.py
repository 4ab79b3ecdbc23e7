"""A faulty Grafana on a real loopback socket: FakeGrafana's state and contract checks, plus faults.

The in-process `responses` fake (tests/grafana_fake.py) cannot drop a connection, send half a
body or make the client wait; this server can. It answers every request from a FakeGrafana
(so requests AND normal responses are still validated against the OpenAPI subset), except where
a fault was queued for that method and path:

    server.fault("GET", "/api/health", "status", status=503, headers={"Retry-After": "3600"})
    server.fault("GET", "/api/dashboards/uid/x", "body", body=b'[1, 2]')    # malformed answer
    server.fault("GET", "/api/search", "truncate")        # Content-Length larger than what is sent
    server.fault("POST", "/api/dashboards/db", "drop")    # close without answering
    server.fault("GET", "/api/folders/f", "delay", seconds=2)   # answer late (then normally)
    server.fault("GET", "/api/search", "huge", size=10_000)     # an answer larger than a cap

A faulty answer is deliberately outside the contract, so only its request is validated (and
recorded in `fake.calls`); `fake.violations` stays the place where contract breaches land.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.grafana_fake import SECRET_TOKEN, FakeGrafana
from tests.openapi_contract import ContractViolation, OpenAPIContract

FAULT_KINDS = ("status", "body", "truncate", "drop", "delay", "huge", "chunked-cut")


@dataclass
class Fault:
    method: str
    path: str
    kind: str
    times: int
    params: dict[str, Any] = field(default_factory=dict)


class FaultyGrafana:
    """A ThreadingHTTPServer on 127.0.0.1 in front of a FakeGrafana."""

    def __init__(self, fake: FakeGrafana) -> None:
        self.fake = fake
        self.faults: list[Fault] = []
        self.faults_served: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                owner.handle(self)

            do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyGrafana:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fault(self, method: str, path: str, kind: str, times: int = 1, **params: Any) -> None:
        """Answer the next `times` requests of method + path (path with /api, no query) badly."""
        assert kind in FAULT_KINDS, kind
        with self._lock:
            self.faults.append(Fault(method, path, kind, times, params))

    # -- serving -------------------------------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and f.method == method and f.path == path:
                    f.times -= 1
                    self.faults_served.append((method, path, f.kind))
                    return f
        return None

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        request = SimpleNamespace(url=f"{self.url}{h.path}", method=h.command, body=raw,
                                  headers=dict(h.headers.items()))
        path = urlsplit(h.path).path
        fault = self._take_fault(h.command, path)
        if fault is None:
            status, headers, text = self.fake._callback(request)
            self._send(h, status, headers, text.encode())
            return
        self._record(request, path, raw)
        p = fault.params
        if fault.kind == "delay":
            time.sleep(p.get("seconds", 1.0))
            status, headers, text = self.fake._callback(request)
            self._send(h, status, headers, text.encode())
        elif fault.kind == "status":
            body = p.get("body", {"message": "injected fault"})
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self._send(h, p["status"], {"Content-Type": "application/json", **p.get("headers", {})},
                       data)
        elif fault.kind == "body":
            self._send(h, p.get("status", 200), {"Content-Type": "application/json"}, p["body"])
        elif fault.kind == "truncate":
            h.send_response(p.get("status", 200))
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(p.get("declared", 1000)))
            h.end_headers()
            h.wfile.write(p.get("sent", b'[{"uid": "a'))
            h.wfile.flush()
            h.close_connection = True
            self._hard_close(h)
        elif fault.kind == "drop":
            h.close_connection = True
            self._hard_close(h)
        elif fault.kind == "huge":
            size = p.get("size", 1 << 20)
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            if p.get("declare", True):
                h.send_header("Content-Length", str(size))
            else:
                h.send_header("Connection", "close")
            h.end_headers()
            chunk = b" " * 65536
            sent = 0
            try:
                while sent < size:
                    h.wfile.write(chunk[: size - sent])
                    sent += len(chunk)
            except OSError:
                pass  # the client stopped reading: what a cap should do
            h.close_connection = True
        elif fault.kind == "chunked-cut":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            h.wfile.write(b"10\r\n[{\"uid\": \"a\", \"t\r\n")  # one chunk, then the connection ends
            h.wfile.flush()
            h.close_connection = True
            self._hard_close(h)

    @staticmethod
    def _hard_close(h: BaseHTTPRequestHandler) -> None:
        try:
            h.wfile.flush()
            h.connection.shutdown(2)  # socket.SHUT_RDWR
        except OSError:
            pass

    def _record(self, request: Any, path: str, raw: bytes) -> None:
        body = json.loads(raw) if raw else None
        self.fake.calls.append((request.method, path, body))
        self.fake.urls.append(request.url)
        self.fake.headers_seen.append(dict(request.headers))
        try:
            self.fake.contract.validate_request(request.method, request.url, body,
                                                headers=dict(request.headers),
                                                has_body=bool(raw))
        except ContractViolation as exc:
            self.fake.violations.append(f"request: {exc}")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes) -> None:
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)
        h.close_connection = True


@pytest.fixture
def faulty(contract: OpenAPIContract) -> Iterator[FaultyGrafana]:
    """A FaultyGrafana taking SECRET_TOKEN; asserts no contract violation at the end."""
    fake = FakeGrafana(contract, token=SECRET_TOKEN)
    with FaultyGrafana(fake) as server:
        fake.base_url = server.url
        yield server
    assert fake.violations == [], "\n".join(fake.violations)

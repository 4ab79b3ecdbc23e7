"""GrafanaClient against real loopback sockets: refused, DNS, TLS, timeouts, sub-paths.

The tiny servers here answer like Grafana's /api/health; what they send back is checked against
the OpenAPI subset too.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grafana_sync.client import GrafanaClient
from grafana_sync.connection import ConnectionSettings
from grafana_sync.errors import GrafanaError
from tests.openapi_contract import OpenAPIContract

HEALTH = {"commit": "abc", "database": "ok", "version": "11.4.0"}


@pytest.fixture
def contract(contracts_dir: Path) -> OpenAPIContract:
    return OpenAPIContract.load(contracts_dir)


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path.startswith("/old/"):
            self.send_response(301)
            self.send_header("Location", "https://127.0.0.1/grafana" + self.path[4:])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(HEALTH).encode()
        status = 200 if self.path == "/grafana/api/health" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(server: ThreadingHTTPServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_port() -> Iterator[int]:
    yield from _serve(ThreadingHTTPServer(("127.0.0.1", 0), _Health))


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI)."""
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(crt)],
                       check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return crt, key


@pytest.fixture
def https_port(cert: tuple[Path, Path]) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


def client(url: str, **kw: object) -> GrafanaClient:
    settings = ConnectionSettings(url=url, token="glsa_secret_value_xyz",
                                  **kw)  # type: ignore[arg-type]
    return GrafanaClient(settings, retries=1, backoff_factor=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def error_of(c: GrafanaClient) -> str:
    with pytest.raises(GrafanaError) as exc:
        c.health()
    text = str(exc.value)
    assert "\n" not in text and "glsa_secret_value_xyz" not in text
    assert exc.value.exit_code == 1
    return text


def test_health_over_http_with_sub_path(http_port, contract):
    body = client(f"http://127.0.0.1:{http_port}/grafana").health()
    contract.validate_response("GET", "/api/health", 200, body)
    assert body["version"] == "11.4.0"


def test_wrong_sub_path_is_named(http_port):
    assert error_of(client(f"http://127.0.0.1:{http_port}")) == (
        f"check Grafana health: HTTP 404 at http://127.0.0.1:{http_port}/api/health: wrong URL "
        "or sub-path (give Grafana's base URL, e.g. https://host/grafana)")


def test_connection_refused():
    port = free_port()
    assert error_of(client(f"http://127.0.0.1:{port}")) == (
        f"check Grafana health: connection refused by http://127.0.0.1:{port}: is Grafana "
        "running there? check --url (gave up after 1 retry)")  # an error after retries says so


def test_dns_failure():
    text = error_of(client("http://no-such-grafana.invalid"))
    assert text == ("check Grafana health: cannot resolve host 'no-such-grafana.invalid' "
                    "(DNS lookup failed): check --url (gave up after 1 retry)")


def test_https_to_a_plain_http_port(http_port):
    text = error_of(client(f"https://127.0.0.1:{http_port}/grafana"))
    assert text.startswith(f"check Grafana health: TLS error connecting to "
                           f"https://127.0.0.1:{http_port}/grafana: ")


def test_self_signed_certificate_refused_then_trusted(https_port, cert, contract):
    url = f"https://127.0.0.1:{https_port}/grafana"
    text = error_of(client(url))
    assert text.startswith(f"check Grafana health: TLS error connecting to {url}: ")
    assert "--ca-cert" in text
    body = client(url, ca_cert=str(cert[0])).health()
    contract.validate_response("GET", "/api/health", 200, body)
    assert client(url, insecure=True).health() == HEALTH


def test_read_timeout():
    with socket.socket() as srv:  # accepts, never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        port = srv.getsockname()[1]
        c = GrafanaClient(ConnectionSettings(url=f"http://127.0.0.1:{port}", timeout=0.2),
                          retries=0)
        assert error_of(c) == (f"check Grafana health: timed out waiting for Grafana at "
                               f"http://127.0.0.1:{port} to answer (see --timeout)")


def test_redirect_is_reported_not_followed(http_port):
    assert error_of(client(f"http://127.0.0.1:{http_port}/old")) == (
        "check Grafana health: HTTP 301 redirect to https://127.0.0.1/grafana/api/health: give "
        "the final Grafana URL as --url (https://? sub-path?)")

"""BENCHMARK HARNESS ONLY: a local HTTP server answering Grafana's API shapes, for timing push.

It is not Grafana and is never used as a stand-in for Grafana in correctness tests (those use
`responses` with the OpenAPI contract, tests/grafana_fake.py). It keeps dashboards, folders and
datasources in memory, answers the endpoints `grafana-sync push` and a naive upload loop call,
sleeps a configurable latency before every answer (to model a remote Grafana), and counts
requests per method and route.

    with BenchGrafanaServer(latency_s=0.02) as server:
        server.url, server.token, server.total_requests(), server.counts
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "bench-token-not-a-secret"
LOGIN = "bench-push"


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.dashboards: dict[str, dict[str, Any]] = {}
        #: uid -> the GET answer, encoded once when saved: Grafana's own cost of answering is not
        #: what this harness measures, and re-encoding on every GET made the harness's CPU (one
        #: GIL, on the same 2 cores) the bottleneck of a 16-way concurrent read
        self.encoded: dict[str, bytes] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.next_id = 1
        self.counts: Counter[str] = Counter()

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


def _route(method: str, path: str) -> str:
    """'GET /api/dashboards/uid/{uid}' style keys for the request counter."""
    path = re.sub(r"^(/api/(?:dashboards/uid|folders|datasources/uid|datasources/name))/[^/]+$",
                  r"\1/{id}", path)
    return f"{method} {path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Grafana behind a proxy would
    # Like Go's net/http (Grafana): TCP_NODELAY and one write per response. Without both, a
    # keep-alive client stalls ~40 ms per request on Nagle + delayed ACK (measured: it made
    # `grafana-sync push`, which reuses connections, look 10x slower than it is).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _send(self, status: int, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if self.server.latency_s:
            time.sleep(self.server.latency_s)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n")  # end_headers() without its separate flush
        self._headers_buffer.append(data)
        self.flush_headers()

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        body = self._body() if self.command in ("POST", "PUT") else None
        state = self.server.state
        with state.lock:
            state.counts[_route(self.command, parts.path)] += 1
            if parts.path != "/api/health" and \
                    self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, payload = 401, {"message": "Invalid API key"}
            else:
                status, payload = _answer(state, self.command, parts.path, parts.query, body)
        self._send(status, payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - stdlib naming


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Go's net.Listen (Grafana) uses the system's somaxconn as its accept backlog; socketserver's
    # default of 5 overflows when 16 connections open at once on a loaded machine, and the
    # kernel then resets some of them: a POST on such a connection fails (it is never re-sent)
    request_queue_size = 1024

    def __init__(self, latency_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency_s = latency_s
        self.state = _State()


def _meta(state: _State, dash: dict[str, Any], folder_uid: str) -> dict[str, Any]:
    folder = state.folders.get(folder_uid)
    return {"slug": "bench", "url": f"/d/{dash['uid']}/bench", "type": "db", "canSave": True,
            "canEdit": True, "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
            "createdBy": LOGIN, "updatedBy": LOGIN, "version": dash["version"],
            "folderUid": folder_uid, "folderTitle": folder["title"] if folder else "General",
            "provisioned": False}


def _answer(state: _State, method: str, path: str, query: str, body: Any) -> tuple[int, Any]:
    if path == "/api/health":
        return 200, {"commit": "bench", "database": "ok", "version": "11.4.0"}
    if path == "/api/user":
        return 200, {"id": 1, "uid": "u1", "login": LOGIN, "name": LOGIN, "orgId": 1}
    if path == "/api/search":
        return 200, _search(state, parse_qs(query))
    m = re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)
    if m:
        uid = unquote(m.group(1))
        entry = state.dashboards.get(uid)
        if entry is None:
            return 404, {"message": "Dashboard not found"}
        if method == "DELETE":
            del state.dashboards[uid]
            del state.encoded[uid]
            return 200, {"uid": uid, "title": entry["dashboard"].get("title", ""),
                         "message": "Dashboard deleted"}
        return 200, state.encoded[uid]
    if path == "/api/dashboards/db" and method == "POST":
        return _save(state, body)
    m = re.fullmatch(r"/api/folders/([^/]+)", path)
    if m:
        folder = state.folders.get(unquote(m.group(1)))
        if folder is None:
            return 404, {"message": "folder not found"}
        if method == "PUT":
            folder.update(title=body["title"], version=folder["version"] + 1)
        return 200, copy.deepcopy(folder)
    if path == "/api/folders" and method == "POST":
        if body["uid"] in state.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        state.folders[body["uid"]] = {"id": state.new_id(), "uid": body["uid"],
                                      "title": body["title"], "url": "/dashboards/f/x/",
                                      "version": 1}
        return 200, copy.deepcopy(state.folders[body["uid"]])
    m = re.fullmatch(r"/api/datasources/(uid|name)/([^/]+)", path)
    if m and method == "GET":
        key = unquote(m.group(2))
        found = state.datasources.get(key) if m.group(1) == "uid" else next(
            (d for d in state.datasources.values() if d["name"] == key), None)
        return (200, copy.deepcopy(found)) if found else (404, {"message": "Data source not found"})
    if (path == "/api/datasources" and method == "POST") or (m and method == "PUT"):
        uid = body.get("uid") or (unquote(m.group(2)) if m else f"ds{state.new_id()}")
        old = state.datasources.get(uid, {})
        secure = {**old.get("secureJsonFields", {}),
                  **{k: True for k in body.get("secureJsonData") or {}}}
        stored = {k: v for k, v in body.items() if k != "secureJsonData"}
        stored.update(uid=uid, id=old.get("id") or state.new_id(), orgId=1, readOnly=False,
                      version=old.get("version", 0) + 1, secureJsonFields=secure)
        state.datasources[uid] = stored
        return 200, {"id": stored["id"], "name": stored.get("name", ""), "message": "ok",
                     "datasource": copy.deepcopy(stored)}
    return 404, {"message": "Not found"}


def _search(state: _State, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    tags = query.get("tag", [])
    uids = query.get("dashboardUIDs")
    hits = []
    for uid in sorted(state.dashboards) if uids is None else sorted(set(uids)):
        if uid not in state.dashboards:
            continue
        dash, meta = state.dashboards[uid]["dashboard"], state.dashboards[uid]["meta"]
        if any(t not in (dash.get("tags") or []) for t in tags):
            continue
        hits.append({"id": dash["id"], "uid": uid, "title": dash.get("title", ""),
                     "url": meta["url"], "type": "dash-db", "tags": list(dash.get("tags") or []),
                     "folderUid": meta["folderUid"], "isStarred": False})
    limit = int(query.get("limit", ["1000"])[0])
    page = int(query.get("page", ["1"])[0])
    return hits[(page - 1) * limit: page * limit]


def _save(state: _State, body: dict[str, Any]) -> tuple[int, Any]:
    dash = body["dashboard"]  # parsed from this request alone: nothing else holds it
    uid = dash.get("uid") or f"auto{state.new_id()}"
    dash["uid"] = uid
    folder_uid = body.get("folderUid") or ""
    if folder_uid and folder_uid not in state.folders:
        return 400, {"message": "folder not found"}
    existing = state.dashboards.get(uid)
    if existing is not None:
        if not body.get("overwrite") and dash.get("version") != existing["dashboard"]["version"]:
            return 412, {"message": "The dashboard has been changed by someone else",
                         "status": "version-mismatch"}
        dash["id"] = existing["dashboard"]["id"]
        dash["version"] = existing["dashboard"]["version"] + 1
    else:
        dash["id"], dash["version"] = state.new_id(), 1
    state.dashboards[uid] = {"dashboard": dash, "meta": _meta(state, dash, folder_uid)}
    state.encoded[uid] = json.dumps(state.dashboards[uid]).encode()
    return 200, {"id": dash["id"], "uid": uid, "url": f"/d/{uid}/bench", "status": "success",
                 "version": dash["version"], "slug": "bench", "folderUid": folder_uid}


class BenchGrafanaServer:
    """Start on 127.0.0.1:<free port> in a background thread; stop on exit."""

    token = TOKEN

    def __init__(self, latency_s: float = 0.0) -> None:
        self._server = _Server(latency_s)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def counts(self) -> Counter[str]:
        return self._server.state.counts

    def total_requests(self) -> int:
        with self._server.state.lock:
            return sum(self._server.state.counts.values())

    def reset_counts(self) -> None:
        with self._server.state.lock:
            self._server.state.counts.clear()

    def dashboard_count(self) -> int:
        return len(self._server.state.dashboards)

    def __enter__(self) -> BenchGrafanaServer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

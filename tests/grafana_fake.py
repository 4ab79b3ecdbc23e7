"""A small stateful fake of Grafana's HTTP API for `responses`, checked against the OpenAPI subset.

It is a test double, not a Grafana: it keeps dashboards, folders and datasources in memory and
answers the endpoints of ../shared/grafana-contracts/openapi/grafana-11.4.0-client-subset with the
behaviour the client relies on (version checks with `overwrite: false`, 404s, ownership
metadata such as `meta.updatedBy`). Every request it receives and every response it returns is
validated with tests/openapi_contract.py; violations are collected in `fake.violations` (the
fixture using it asserts the list is empty) and also reported in a 599 answer so a test fails
loudly.

    fake = FakeGrafana(contract, token="...")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        ...
    fake.fail("GET", "/api/health", 503, {"message": "down"}, times=1)   # one-off error answers
    fake.ui_edit("uid", lambda d: d["panels"][0].update(title="x"), user="alice")
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses

from tests.openapi_contract import ContractViolation, OpenAPIContract

NOW = "2026-01-01T00:00:00Z"


@dataclass
class _Override:
    method: str
    path: str
    status: int
    body: Any
    times: int


class FakeGrafana:
    def __init__(self, contract: OpenAPIContract, *, base_url: str = "http://grafana.test",
                 token: str | None = None, basic: tuple[str, str] | None = None,
                 login: str = "sa-1-ci-push", user_status: int = 200) -> None:
        self.contract = contract
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.basic = basic
        self.login = login
        self.user_status = user_status
        self.dashboards: dict[str, dict[str, Any]] = {}  # uid -> {"dashboard", "meta"}
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.secure: dict[str, dict[str, str]] = {}
        self.violations: list[str] = []
        self.calls: list[tuple[str, str, Any]] = []  # (method, path, decoded body)
        self.headers_seen: list[dict[str, str]] = []
        self.urls: list[str] = []  # full request URLs, query strings included
        self._overrides: list[_Override] = []
        self.ignore_page = False  # a faulty Grafana answering page 1 whatever `page` says
        self._next_id = 1

    # -- set-up helpers ------------------------------------------------------------------------
    def install(self, rsps: responses.RequestsMock) -> None:
        host = urlsplit(self.base_url)
        pattern = re.compile(re.escape(f"{host.scheme}://{host.netloc}") + r"(/.*)?$")
        for method in ("GET", "POST", "PUT", "DELETE"):
            rsps.add_callback(method, pattern, callback=self._callback)

    def fail(self, method: str, path: str, status: int, body: Any, times: int = 1) -> None:
        """Answer the next `times` calls of method+path (path with /api, no query) with this."""
        self._overrides.append(_Override(method, path, status, body, times))

    def add_folder(self, uid: str, title: str) -> None:
        self.folders[uid] = {"id": self._new_id(), "uid": uid, "title": title,
                             "url": f"/dashboards/f/{uid}/", "version": 1}

    def add_dashboard(self, dashboard: dict[str, Any], *, folder_uid: str = "",
                      updated_by: str = "admin", provisioned: bool = False) -> None:
        """Put a dashboard in Grafana as someone other than the tool would (UI, import...)."""
        dash = copy.deepcopy(dashboard)
        dash["id"] = self._new_id()
        dash["version"] = 1
        self.dashboards[dash["uid"]] = {"dashboard": dash,
                                        "meta": self._meta(dash, folder_uid, updated_by,
                                                           provisioned)}

    def ui_edit(self, uid: str, change: Callable[[dict[str, Any]], None],
                user: str = "alice") -> None:
        """Simulate a save from the Grafana UI by `user` (content changed, version bumped)."""
        entry = self.dashboards[uid]
        change(entry["dashboard"])
        entry["dashboard"]["version"] += 1
        entry["meta"]["updatedBy"] = user
        entry["meta"]["version"] = entry["dashboard"]["version"]

    def save_as(self, uid: str, new_uid: str, *, title: str | None = None,
                folder_uid: str | None = None, user: str = "alice") -> None:
        """Simulate the UI's "Save as": a copy under a new uid with the SAME tags (ownership and
        push-marker tags included), created by `user`; the title is kept unless given."""
        entry = self.dashboards[uid]
        dash = copy.deepcopy(entry["dashboard"])
        dash.update(uid=new_uid, id=self._new_id(), version=1)
        if title is not None:
            dash["title"] = title
        folder = entry["meta"]["folderUid"] if folder_uid is None else folder_uid
        self.dashboards[new_uid] = {"dashboard": dash, "meta": self._meta(dash, folder, user)}

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.calls if m != "GET"]

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.calls if m == method and p == path)

    # -- plumbing ------------------------------------------------------------------------------
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _meta(self, dash: dict[str, Any], folder_uid: str, updated_by: str,
              provisioned: bool = False) -> dict[str, Any]:
        folder = self.folders.get(folder_uid)
        meta = {"slug": re.sub(r"[^a-z0-9]+", "-", str(dash.get("title", "")).lower()),
                "url": f"/d/{dash['uid']}/x", "type": "db", "canSave": True, "canEdit": True,
                "created": NOW, "updated": NOW, "createdBy": updated_by,
                "updatedBy": updated_by, "version": dash.get("version", 1),
                "folderUid": folder_uid, "folderTitle": folder["title"] if folder else "General",
                "provisioned": provisioned}
        return meta

    def _callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        base_path = urlsplit(self.base_url).path
        if not parts.path.startswith(base_path + "/api/"):
            # Not Grafana's API: Grafana (or a proxy) answers its HTML 404 page.
            return 404, {"Content-Type": "text/html"}, "<html>Page not found</html>"
        api_path = parts.path[len(base_path):]
        raw = request.body
        body = None
        if raw:
            body = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        self.calls.append((request.method, api_path, body))
        self.urls.append(request.url)
        self.headers_seen.append(dict(request.headers))
        try:
            self.contract.validate_request(request.method, request.url, body,
                                           headers=dict(request.headers), has_body=bool(raw))
        except ContractViolation as exc:
            self.violations.append(f"request: {exc}")
            return 599, {}, json.dumps({"message": f"contract violation: {exc}"})
        status, answer = self._answer(request.method, api_path, parts.query, body,
                                      dict(request.headers))
        try:
            self.contract.validate_response(request.method, request.url, status, answer)
        except ContractViolation as exc:
            self.violations.append(f"response: {exc}")
            return 599, {}, json.dumps({"message": f"contract violation: {exc}"})
        return status, {"Content-Type": "application/json"}, json.dumps(answer)

    def _authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("Authorization", "")
        if self.token is not None:
            return auth == f"Bearer {self.token}"
        if self.basic is not None:
            user, password = self.basic
            return auth == "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return True

    def _answer(self, method: str, path: str, query: str, body: Any,
                headers: dict[str, str]) -> tuple[int, Any]:
        for o in self._overrides:
            if o.times > 0 and o.method == method and o.path == path:
                o.times -= 1
                return o.status, o.body
        if path == "/api/health" and method == "GET":
            return 200, {"commit": "abc1234", "database": "ok", "version": "11.4.0"}
        if not self._authorised(headers):
            return 401, {"message": "Invalid API key"}
        if path == "/api/user" and method == "GET":
            if self.user_status != 200:
                return self.user_status, {"message": "user not found"}
            return 200, {"id": 7, "uid": "u7", "login": self.login, "email": "",
                         "name": self.login, "orgId": 1, "isGrafanaAdmin": False}
        if path == "/api/search" and method == "GET":
            return 200, self._search(parse_qs(query))
        m = re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)
        if m:
            uid = unquote(m.group(1))
            entry = self.dashboards.get(uid)
            if entry is None:
                return 404, {"message": "Dashboard not found"}
            if method == "GET":
                return 200, copy.deepcopy(entry)
            if method == "DELETE":
                del self.dashboards[uid]
                title = entry["dashboard"].get("title", "")
                return 200, {"uid": uid, "title": title, "message": f"Dashboard {title} deleted"}
        if path == "/api/dashboards/db" and method == "POST":
            return self._save_dashboard(body)
        m = re.fullmatch(r"/api/folders/([^/]+)", path)
        if m:
            uid = unquote(m.group(1))
            folder = self.folders.get(uid)
            if folder is None:
                return 404, {"message": "folder not found"}
            if method == "GET":
                return 200, copy.deepcopy(folder)
            if method == "PUT":
                folder["title"] = body["title"]
                folder["version"] += 1
                return 200, copy.deepcopy(folder)
        if path == "/api/folders" and method == "POST":
            if body["uid"] in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            self.add_folder(body["uid"], body["title"])
            return 200, copy.deepcopy(self.folders[body["uid"]])
        m = re.fullmatch(r"/api/datasources/(uid|name)/([^/]+)", path)
        if m and method == "GET":
            key = unquote(m.group(2))
            found = (self.datasources.get(key) if m.group(1) == "uid" else
                     next((d for d in self.datasources.values() if d["name"] == key), None))
            if found is None:
                return 404, {"message": "Data source not found"}
            return 200, copy.deepcopy(found)
        if path == "/api/datasources" and method == "POST":
            if any(d["name"] == body["name"] for d in self.datasources.values()):
                return 409, {"message": "data source with the same name already exists"}
            return self._store_datasource(body, "Datasource added")
        if m and m.group(1) == "uid" and method == "PUT":
            uid = unquote(m.group(2))
            if uid not in self.datasources:
                return 404, {"message": "Data source not found"}
            return self._store_datasource({**body, "uid": uid}, "Datasource updated")
        return 404, {"message": "Not found"}

    def _search(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        tags = query.get("tag", [])
        folders = query.get("folderUIDs")
        uids = query.get("dashboardUIDs")
        hits = []
        for uid in sorted(self.dashboards):
            entry = self.dashboards[uid]
            dash, meta = entry["dashboard"], entry["meta"]
            if any(t not in (dash.get("tags") or []) for t in tags):
                continue
            if uids is not None and uid not in uids:
                continue
            if folders is not None and meta["folderUid"] not in folders:
                continue
            hit = {"id": dash["id"], "uid": uid, "title": dash.get("title", ""),
                   "uri": f"db/{meta['slug']}", "url": meta["url"], "slug": "",
                   "type": "dash-db", "tags": list(dash.get("tags") or []), "isStarred": False,
                   "sortMeta": 0}
            if meta["folderUid"]:
                hit.update(folderUid=meta["folderUid"], folderTitle=meta["folderTitle"],
                           folderUrl=f"/dashboards/f/{meta['folderUid']}/")
            hits.append(hit)
        limit = int(query.get("limit", ["1000"])[0])
        page = 1 if self.ignore_page else int(query.get("page", ["1"])[0])
        return hits[(page - 1) * limit: page * limit]

    def _save_dashboard(self, body: dict[str, Any]) -> tuple[int, Any]:
        dash = copy.deepcopy(body["dashboard"])
        uid = dash.get("uid")
        if not str(dash.get("title") or "").strip():
            return 400, {"message": "Dashboard title cannot be empty", "status": "empty-name"}
        if len(body.get("message", "")) > 500:
            return 400, {"message": "Dashboard message too long"}
        folder_uid = body.get("folderUid", "") or ""
        if folder_uid and folder_uid not in self.folders:
            return 400, {"message": "folder not found"}
        existing = self.dashboards.get(uid)
        if existing is not None:
            if existing["meta"]["provisioned"]:
                return 400, {"message": "Cannot save provisioned dashboard"}
            if not body.get("overwrite") and dash.get("version") != \
                    existing["dashboard"]["version"]:
                return 412, {"message": "The dashboard has been changed by someone else",
                             "status": "version-mismatch"}
            dash["id"] = existing["dashboard"]["id"]
            dash["version"] = existing["dashboard"]["version"] + 1
        else:
            dash["id"] = self._new_id()
            dash["version"] = 1
        self.dashboards[uid] = {"dashboard": dash,
                                "meta": self._meta(dash, folder_uid, self.login)}
        meta = self.dashboards[uid]["meta"]
        return 200, {"id": dash["id"], "uid": uid, "url": meta["url"], "status": "success",
                     "version": dash["version"], "slug": meta["slug"], "folderUid": folder_uid}

    def _store_datasource(self, body: dict[str, Any], message: str) -> tuple[int, Any]:
        uid = body.get("uid") or f"ds{self._new_id()}"
        previous = self.datasources.get(uid, {})
        secure = {**self.secure.get(uid, {}), **(body.get("secureJsonData") or {})}
        self.secure[uid] = secure
        stored = {k: v for k, v in body.items() if k != "secureJsonData"}
        stored.update(uid=uid, id=previous.get("id") or self._new_id(), orgId=1,
                      readOnly=previous.get("readOnly", False),
                      version=previous.get("version", 0) + 1,
                      secureJsonFields={k: True for k in secure})
        self.datasources[uid] = stored
        return 200, {"id": stored["id"], "name": stored["name"], "message": message,
                     "datasource": copy.deepcopy(stored)}


# -- pytest fixtures (import them into a test module to use them) ------------------------------
SECRET_TOKEN = "glsa_TOPSECRET_tok3n_0123456789abcdef"


@pytest.fixture
def contract(contracts_dir: Any) -> OpenAPIContract:
    return OpenAPIContract.load(contracts_dir)


@pytest.fixture
def grafana(contract: OpenAPIContract) -> Any:
    """A FakeGrafana at http://grafana.test taking SECRET_TOKEN; asserts no contract violation."""
    fake = FakeGrafana(contract, token=SECRET_TOKEN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake
    assert fake.violations == [], "\n".join(fake.violations)

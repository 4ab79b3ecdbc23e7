"""A small Grafana HTTP API client: dashboards, folders, datasources, search, health, user.

Every failure becomes a `GrafanaError` whose text is ONE line a user can act on. Secrets
(token, password, credentials embedded in the URL) never reach a message, a log line or a repr:
messages are built here from the method, the API path, the status and Grafana's own `message`,
never from the text of a requests/urllib3 exception (which may embed URLs and headers).

Retries: urllib3 `Retry` with exponential backoff on connection errors (a request that was never
sent is always safe to retry), and on 429/5xx and read errors for idempotent methods only. A POST
that may have reached Grafana is never re-sent.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from grafana_sync import __version__
from grafana_sync.connection import ConnectionSettings
from grafana_sync.errors import ConfigError, GrafanaError

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
RETRY_STATUSES = (429, 500, 502, 503, 504)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
SEARCH_PAGE_SIZE = 1000
_DNS_FAILURES = ("NameResolutionError", "Name or service not known", "nodename nor servname",
                 "getaddrinfo failed", "Temporary failure in name resolution",
                 "No address associated")


def _redact(url: str) -> str:
    """The URL with any user:password@ replaced, for error messages."""
    return re.sub(r"//[^/@?#]*@", "//***@", url)


def _split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Validate the base URL; return it without user:password@, plus those credentials.

    A malformed URL is a ConfigError (exit 2) whose text never contains the credentials.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise ConfigError(f"invalid Grafana URL {_redact(url)!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"invalid Grafana URL {_redact(url)!r}: expected "
                          "http(s)://host[:port][/sub-path]")
    if parts.query or parts.fragment:
        raise ConfigError(f"invalid Grafana URL {_redact(url)!r}: no query string or fragment, "
                          "just http(s)://host[:port][/sub-path]")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return clean, user, password


def _connection_failure(exc: requests.RequestException, base_url: str) -> str:
    """Name the kind of network failure without quoting the exception (it may embed URLs)."""
    text = repr(exc)
    host = urlsplit(base_url).hostname or base_url
    if isinstance(exc, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            if "Hostname mismatch" in text or "doesn't match" in text:
                why = "the certificate does not match the host name"
            elif "self-signed" in text or "self signed" in text:
                why = "self-signed certificate (use --ca-cert FILE, or --insecure)"
            else:
                why = "certificate verify failed (use --ca-cert FILE, or --insecure)"
        elif "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
            why = "the server does not speak TLS on that port (http:// instead of https://?)"
        else:
            why = "TLS handshake failed"
        return f"TLS error connecting to {base_url}: {why}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timed out connecting to {base_url}"
    if isinstance(exc, requests.exceptions.ReadTimeout | requests.exceptions.Timeout):
        return f"timed out waiting for Grafana at {base_url} to answer (see --timeout)"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if "ReadTimeoutError" in text or "Read timed out" in text:
            return f"timed out waiting for Grafana at {base_url} to answer (see --timeout)"
        if "ConnectTimeoutError" in text:
            return f"timed out connecting to {base_url}"
        if any(s in text for s in _DNS_FAILURES):
            return f"cannot resolve host {host!r} (DNS lookup failed): check --url"
        if "Connection refused" in text or "ConnectionRefusedError" in text or "refused" in text:
            return f"connection refused by {base_url}: is Grafana running there? check --url"
        if "Network is unreachable" in text:
            return f"network unreachable connecting to {base_url}"
        if "RemoteDisconnected" in text or "Connection aborted" in text:
            return f"Grafana at {base_url} closed the connection without answering"
        return f"cannot connect to {base_url}"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema |
                  requests.exceptions.InvalidSchema):
        return f"invalid Grafana URL {base_url!r}: expected http(s)://host[:port][/sub-path]"
    return f"request to {base_url} failed ({type(exc).__name__})"


def _grafana_status(response: requests.Response) -> str:
    """The `status` field of a Grafana error body ("version-mismatch", "name-exists", ...)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("status") or "") if isinstance(body, dict) else ""


def _grafana_message(response: requests.Response) -> str:
    """Grafana's own error text (`message`, plus `status` where it adds something)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    message = str(body.get("message") or "").strip()
    status = str(body.get("status") or "").strip()
    if status and status not in message:
        message = f"{message} ({status})" if message else status
    return " ".join(message.split())[:300]


# -- shapes of decoded answers -----------------------------------------------------------------
def _bad_shape(endpoint: str, what: str) -> GrafanaError:
    return GrafanaError(f"{endpoint}: Grafana's answer has an unexpected shape ({what}); "
                        "is --url a Grafana of a supported version?")


def _kind(value: Any) -> str:
    return "null" if value is None else {dict: "an object", list: "a list", str: "a string",
                                         bool: "a boolean"}.get(type(value), "a number")


def _check_search_hits(batch: Any, endpoint: str) -> None:
    if not isinstance(batch, list):
        raise _bad_shape(endpoint, f"{_kind(batch)}, not a list of hits")
    for i, hit in enumerate(batch):
        if not isinstance(hit, dict):
            raise _bad_shape(endpoint, f"hit #{i + 1} is {_kind(hit)}")
        if not isinstance(hit.get("uid"), str) or not hit["uid"]:
            raise _bad_shape(endpoint, f"hit #{i + 1} has no uid string")
        tags = hit.get("tags")
        if tags is not None and not (isinstance(tags, list)
                                     and all(isinstance(t, str) for t in tags)):
            raise _bad_shape(endpoint, f"hit #{i + 1} tags are not a list of strings")


def _check_dashboard_answer(body: Any, uid: str, endpoint: str) -> None:
    if not isinstance(body, dict):
        raise _bad_shape(endpoint, f"{_kind(body)}, not an object")
    dash, meta = body.get("dashboard"), body.get("meta", {})
    if not isinstance(dash, dict):
        raise _bad_shape(endpoint, f"`dashboard` is {_kind(dash)}, not an object")
    if not isinstance(meta, dict):
        raise _bad_shape(endpoint, f"`meta` is {_kind(meta)}, not an object")
    if dash.get("uid", uid) != uid:
        raise _bad_shape(endpoint, f"the dashboard's uid is {dash.get('uid')!r}, not {uid!r}")
    tags = dash.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise _bad_shape(endpoint, f"`dashboard.tags` is {_kind(tags)}, not a list of strings")
    panels = dash.get("panels")
    if panels is not None and not isinstance(panels, list):
        raise _bad_shape(endpoint, f"`dashboard.panels` is {_kind(panels)}, not a list")


class GrafanaClient:
    """Typed access to the Grafana endpoints grafana-sync uses.

    Thread-safe: each thread gets its own `requests.Session` (same settings), so a bounded pool
    may share one client.
    """

    def __init__(self, settings: ConnectionSettings, *, retries: int | None = None,
                 backoff_factor: float | None = None) -> None:
        self.settings = settings
        self.base_url, url_user, url_password = _split_credentials(settings.url)
        self._user = settings.user or url_user
        self._password = settings.password or url_password
        self._token = settings.token
        self._retries = DEFAULT_RETRIES if retries is None else retries
        self._backoff = DEFAULT_BACKOFF if backoff_factor is None else backoff_factor
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GrafanaClient(url={self.base_url!r})"

    # -- session -------------------------------------------------------------------------------
    def _make_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = True  # proxies from the environment; .netrc is overridden by auth
        retry = Retry(
            total=self._retries, connect=self._retries, read=self._retries,
            status=self._retries, other=0, backoff_factor=self._backoff,
            status_forcelist=RETRY_STATUSES, allowed_methods=IDEMPOTENT_METHODS,
            raise_on_status=False, respect_retry_after_header=True,
        )
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = f"grafana-sync/{__version__}"
        session.headers["Accept"] = "application/json"
        if self._token:
            session.headers["Authorization"] = f"Bearer {self._token}"
        elif self._user:
            session.auth = (self._user, self._password or "")
            if self.settings.org_id:
                session.headers["X-Grafana-Org-Id"] = str(self.settings.org_id)
        session.verify = self._verify
        return session

    @property
    def _verify(self) -> bool | str:
        """TLS verification: on by default, a CA bundle with --ca-cert, off with --insecure."""
        if self.settings.insecure:
            return False
        return self.settings.ca_cert or True

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._make_session()
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every thread's session."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    # -- core request --------------------------------------------------------------------------
    def request(self, method: str, path: str, *, action: str, params: Any = None,
                json: Any = None, ok_404: bool = False) -> Any:
        """Send one API call; return the decoded JSON body (None for a tolerated 404).

        `path` is relative to `<base url>/api` and already quoted; `action` names what we were
        doing ("save dashboard 'abc'"), for the error line.
        """
        url = f"{self.base_url}/api{path}"
        if self.settings.insecure:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        try:
            # verify per request: requests lets REQUESTS_CA_BUNDLE override session.verify
            # No redirects: a redirected POST turns into a GET, and credentials would follow
            # to wherever the redirect points; the user should give the final URL instead.
            response = self.session.request(method, url, params=params, json=json,
                                            timeout=self.settings.timeout, verify=self._verify,
                                            allow_redirects=False)
        except requests.RequestException as exc:
            raise GrafanaError(f"{action}: {_connection_failure(exc, self.base_url)}") from None
        log.debug("%s /api%s -> %s", method, path, response.status_code)
        if response.status_code == 404 and ok_404:
            return None
        if 300 <= response.status_code < 400:
            location = _redact(response.headers.get("Location", "?"))
            raise GrafanaError(f"{action}: HTTP {response.status_code} redirect to {location}: "
                               "give the final Grafana URL as --url (https://? sub-path?)")
        if response.status_code >= 400:
            raise GrafanaError(self._status_line(method, path, action, response))
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise GrafanaError(
                f"{action}: {self.base_url}/api{path} answered HTTP {response.status_code} "
                "with something that is not JSON: is --url Grafana's base URL "
                "(including any sub-path)?"
            ) from None

    def _status_line(self, method: str, path: str, action: str,
                     response: requests.Response) -> str:
        status = response.status_code
        message = _grafana_message(response)
        said = f": Grafana says {message!r}" if message else ""
        if status == 401:
            what = "token" if self._token else ("user/password" if self._user else "request")
            if not self._token and not self._user:
                return (f"{action}: HTTP 401 unauthorized: Grafana wants credentials "
                        "(--token / GRAFANA_TOKEN, or --user/--password)")
            return f"{action}: HTTP 401 unauthorized: the {what} was rejected by Grafana"
        if status == 403:
            if "quota" in message.lower():
                return f"{action}: HTTP 403: Grafana's quota is reached{said}"
            who = "token" if self._token else "user"
            return f"HTTP 403 forbidden: the {who} lacks permission to {action}{said}"
        if status == 404:
            if path in ("/health", "/user"):
                return (f"{action}: HTTP 404 at {self.base_url}/api{path}: wrong URL or sub-path "
                        "(give Grafana's base URL, e.g. https://host/grafana)")
            return f"{action}: HTTP 404 not found{said}"
        if status == 412:
            if _grafana_status(response) in ("", "version-mismatch"):
                return (f"{action}: HTTP 412 version mismatch: it was changed in Grafana while "
                        f"pushing; run again{said}")
            return f"{action}: HTTP 412 precondition failed{said}"
        if status in (400, 409, 422):
            return f"{action}: HTTP {status}{said or ': rejected by Grafana'}"
        if status == 429:
            return f"{action}: HTTP 429 too many requests (gave up after {self._retries} retries)"
        if status >= 500:
            retried = (f" (after {self._retries} retries)"
                       if method.upper() in IDEMPOTENT_METHODS and self._retries else "")
            return f"{action}: HTTP {status} server error from Grafana{retried}{said}"
        return f"{action}: HTTP {status}{said}"

    # -- endpoints -----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """GET /api/health (no auth): proves the URL points at a Grafana API."""
        body = self.request("GET", "/health", action="check Grafana health")
        if not isinstance(body, dict) or "database" not in body and "version" not in body:
            raise GrafanaError(
                f"{self.base_url}/api/health did not answer like Grafana: wrong URL or sub-path?"
            )
        return body

    def current_user(self) -> dict[str, Any] | None:
        """GET /api/user: who the credentials are (None where Grafana does not say, e.g. 404)."""
        body = self.request("GET", "/user", action="read the signed-in user", ok_404=True)
        return body if isinstance(body, dict) else None

    def search_dashboards(self, tag: str | None = None,
                          folder_uids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """GET /api/search?type=dash-db (every page); tag and folder uids filter."""
        hits: list[dict[str, Any]] = []
        page = 1
        while True:
            params: list[tuple[str, str]] = [("type", "dash-db"),
                                             ("limit", str(SEARCH_PAGE_SIZE)),
                                             ("page", str(page))]
            if tag:
                params.append(("tag", tag))
            for uid in folder_uids or ():  # repeated keys, not comma-separated
                params.append(("folderUIDs", uid))
            batch = self.request("GET", "/search", params=params, action="search dashboards")
            _check_search_hits(batch, f"GET /api/search (page {page})")
            hits.extend(batch)
            if len(batch) < SEARCH_PAGE_SIZE:
                return hits
            page += 1

    def get_dashboard(self, uid: str) -> dict[str, Any] | None:
        """GET /api/dashboards/uid/{uid}: `{"dashboard": …, "meta": …}`, None if absent.

        The answer's shape is checked: `dashboard` an object with this uid and a list of string
        tags (when present), `meta` an object (when present).
        """
        path = f"/dashboards/uid/{quote(uid, safe='')}"
        body = self.request("GET", path, action=f"read dashboard {uid!r}", ok_404=True)
        if body is not None:
            _check_dashboard_answer(body, uid, f"GET /api{path}")
        return body

    def save_dashboard(self, dashboard: dict[str, Any], *, folder_uid: str | None,
                       message: str = "", overwrite: bool = False) -> dict[str, Any]:
        """POST /api/dashboards/db (never retried: it may have applied)."""
        body: dict[str, Any] = {"dashboard": dashboard, "overwrite": overwrite,
                                "message": message[:500]}
        body["folderUid"] = folder_uid or ""  # "" = General: moves it there if elsewhere
        uid = dashboard.get("uid", "?")
        return self.request("POST", "/dashboards/db", json=body,
                            action=f"save dashboard {uid!r}")

    def delete_dashboard(self, uid: str) -> bool:
        """DELETE /api/dashboards/uid/{uid}; False when it was already gone."""
        result = self.request("DELETE", f"/dashboards/uid/{quote(uid, safe='')}",
                              action=f"delete dashboard {uid!r}", ok_404=True)
        return result is not None

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        return self.request("GET", f"/folders/{quote(uid, safe='')}",
                            action=f"read folder {uid!r}", ok_404=True)

    def create_folder(self, uid: str, title: str) -> dict[str, Any]:
        return self.request("POST", "/folders", json={"uid": uid, "title": title},
                            action=f"create folder {uid!r}")

    def update_folder(self, uid: str, title: str, version: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"title": title, "overwrite": True}
        if version is not None:
            body["version"] = version
        return self.request("PUT", f"/folders/{quote(uid, safe='')}", json=body,
                            action=f"retitle folder {uid!r}")

    def get_datasource(self, uid: str) -> dict[str, Any] | None:
        return self.request("GET", f"/datasources/uid/{quote(uid, safe='')}",
                            action=f"read datasource {uid!r}", ok_404=True)

    def get_datasource_by_name(self, name: str) -> dict[str, Any] | None:
        return self.request("GET", f"/datasources/name/{quote(name, safe='')}",
                            action=f"read datasource named {name!r}", ok_404=True)

    def create_datasource(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/datasources", json=body,
                            action=f"create datasource {body.get('uid') or body.get('name')!r}")

    def update_datasource(self, uid: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("PUT", f"/datasources/uid/{quote(uid, safe='')}", json=body,
                            action=f"update datasource {uid!r}")

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

import json as jsonlib
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

from grafana_sync import __version__
from grafana_sync.connection import ConnectionSettings
from grafana_sync.errors import ConfigError, GrafanaError
from grafana_sync.redact import public_url, register_secret, scrub, split_url

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
RETRY_STATUSES = (429, 500, 502, 503, 504)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
SEARCH_PAGE_SIZE = 1000
#: A server that ignores `page` would make paging endless: stop after this many pages.
MAX_SEARCH_PAGES = 100
#: Longest Retry-After honoured (seconds); a server asking for more gets an error instead.
MAX_RETRY_AFTER = 30.0
#: Longest exponential backoff between two attempts (seconds).
BACKOFF_MAX = 10.0
#: One API call (every attempt, every wait, reading the answer) ends after this many --timeout.
DEADLINE_TIMEOUTS = 4
#: Largest answer read (decoded bytes); Grafana's biggest real answers are a few MB.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_now = time.monotonic  # the clock of deadlines, and how the retry policy waits (tests patch them)
_sleep = time.sleep
_DNS_FAILURES = ("NameResolutionError", "Name or service not known", "nodename nor servname",
                 "getaddrinfo failed", "Temporary failure in name resolution",
                 "No address associated")


def _split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Validate the base URL; return it without user:password@, plus those credentials.

    The userinfo ends at the LAST `@` (grafana_sync.redact.split_url), so a password holding
    `/ # ? @` is taken whole. A malformed URL is a ConfigError (exit 2) that shows only the
    public part of the URL (no userinfo) or, when even that does not parse, no URL at all.
    """
    parts = split_url(url)
    if parts is None or parts.scheme not in ("http", "https"):
        raise ConfigError("invalid Grafana URL (not shown): expected "
                          "http(s)://host[:port][/sub-path]")
    register_secret(parts.password)
    try:
        inner = urlsplit(f"{parts.scheme}://{parts.rest}")
        port = inner.port
        host = inner.hostname
    except ValueError as exc:
        raise ConfigError(f"invalid Grafana URL (not shown): {exc}") from None
    if not host:
        raise ConfigError("invalid Grafana URL (not shown): expected http(s)://host[:port][/sub-path]")
    if inner.query or inner.fragment or "?" in parts.rest or "#" in parts.rest:
        raise ConfigError(f"invalid Grafana URL {public_url(url)!r}: no query string or fragment, "
                          "just http(s)://host[:port][/sub-path]")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    clean = urlunsplit((parts.scheme, netloc, inner.path, "", "")).rstrip("/")
    return clean, parts.user or None, parts.password


def _check_credentials(token: str | None, user: str | None) -> None:
    """A token must be sendable as an HTTP header as given: say what is wrong, never show it."""
    if token is not None:
        if token != token.strip():
            raise ConfigError("the Grafana token has leading or trailing whitespace (a newline "
                              "from a file?): remove it from --token / GRAFANA_TOKEN")
        bad = next((i for i, c in enumerate(token) if not 0x21 <= ord(c) <= 0x7E), None)
        if bad is not None:
            raise ConfigError(f"the Grafana token has a character that cannot be sent in an HTTP "
                              f"header (position {bad + 1}; tokens are printable ASCII): check "
                              "--token / GRAFANA_TOKEN")
    if user is not None and (":" in user or any(ord(c) < 0x20 or ord(c) == 0x7F for c in user)):
        raise ConfigError("the Grafana user name has a ':' or a control character, which basic "
                          "auth cannot carry: check --user / GRAFANA_USER")


def _basic_auth_part(value: str) -> str | bytes:
    """Basic-auth user/password as sent: ASCII as is, anything else as UTF-8 (what Grafana reads;
    requests would use latin-1 and fail on other characters)."""
    return value if value.isascii() else value.encode("utf-8")


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class _GiveUp(Exception):
    """Raised from the retry policy to stop retrying; the text is part of a GrafanaError."""


class BoundedRetry(Retry):
    """urllib3's Retry with limits: Retry-After honoured only up to `max_retry_after` seconds (a
    server asking for more gets an error at once), backoff capped, and no wait that would end
    after `deadline` (a time.monotonic() value): the end of the whole API call."""

    def __init__(self, *args: Any, deadline: float | None = None,
                 max_retry_after: float = MAX_RETRY_AFTER, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline
        self.max_retry_after = max_retry_after

    def new(self, **kwargs: Any) -> BoundedRetry:
        retry = super().new(**kwargs)
        retry.deadline, retry.max_retry_after = self.deadline, self.max_retry_after
        return retry

    def sleep(self, response: Any = None) -> None:
        attempts = len(self.history)
        what = f"HTTP {response.status}" if response is not None else "a failed attempt"
        wait = None
        if response is not None and self.respect_retry_after_header:
            try:
                wait = self.get_retry_after(response)
            except InvalidHeader:
                wait = None  # a malformed Retry-After: fall back to our own backoff
            if wait is not None and wait > self.max_retry_after:
                after = (f" after {_plural(attempts, 'attempt', 'attempts')}"
                         if attempts > 1 else "")
                raise _GiveUp(f"{what} and Grafana asks to retry after {wait:.0f} s; not waiting "
                              f"more than {self.max_retry_after:.0f} s, so giving up{after}")
        if wait is None:
            wait = self.get_backoff_time()
        if self.deadline is not None and _now() + wait > self.deadline:
            raise _GiveUp(f"{what}; gave up after {_plural(attempts, 'attempt', 'attempts')}: "
                          "retrying would pass the "
                          "time limit of one request (see --timeout)")
        if wait > 0:
            _sleep(wait)


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


def _grafana_status(body: Any) -> str:
    """The `status` field of a Grafana error body ("version-mismatch", "name-exists", ...)."""
    return str(body.get("status") or "") if isinstance(body, dict) else ""


def _grafana_message(body: Any) -> str:
    """Grafana's own error text (`message`, plus `status` where it adds something), scrubbed."""
    if not isinstance(body, dict):
        return ""
    message = str(body.get("message") or "").strip()
    status = str(body.get("status") or "").strip()
    if status and status not in message:
        message = f"{message} ({status})" if message else status
    printable = "".join(c if c.isprintable() else " " for c in message)
    return scrub(" ".join(printable.split()))[:300]


def _decode(raw: bytes) -> Any:
    """JSON of an answer body; ValueError when it is not JSON (or absurdly nested)."""
    try:
        return jsonlib.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None


# -- shapes of decoded answers -----------------------------------------------------------------
def _bad_shape(endpoint: str, what: str) -> GrafanaError:
    return GrafanaError(f"{endpoint}: Grafana's answer has an unexpected shape ({what}); "
                        "is --url a Grafana of a supported version?")


def _kind(value: Any) -> str:
    return "null" if value is None else {dict: "an object", list: "a list", str: "a string",
                                         bool: "a boolean"}.get(type(value), "a number")


def _check_object(body: Any, endpoint: str, fields: dict[str, type | tuple[type, ...]]) -> Any:
    """`body` if it is an object whose listed fields, when present and not null, have those types."""
    if not isinstance(body, dict):
        raise _bad_shape(endpoint, f"{_kind(body)}, not an object")
    for name, kind in fields.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)
                                  and bool not in (kind if isinstance(kind, tuple) else (kind,))):
            raise _bad_shape(endpoint, f"`{name}` is {_kind(value)}")
    return body


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
        _check_credentials(self._token, self._user)
        for secret in (self._token, self._password, settings.password):
            register_secret(secret)
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
        # Nothing from the environment but proxies: with trust_env, requests would replace our
        # Bearer token with a ~/.netrc entry for the host, and let REQUESTS_CA_BUNDLE override
        # --ca-cert. Proxies (HTTPS_PROXY, NO_PROXY, ...) are still honoured, read here.
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        adapter = HTTPAdapter(max_retries=self._retry_policy(None))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = f"grafana-sync/{__version__}"
        session.headers["Accept"] = "application/json"
        if self._token:
            session.headers["Authorization"] = f"Bearer {self._token}"
        elif self._user:
            session.auth = (_basic_auth_part(self._user), _basic_auth_part(self._password or ""))
            if self.settings.org_id:
                session.headers["X-Grafana-Org-Id"] = str(self.settings.org_id)
        session.verify = self._verify
        return session

    def _retry_policy(self, deadline: float | None) -> BoundedRetry:
        return BoundedRetry(
            total=self._retries, connect=self._retries, read=self._retries,
            status=self._retries, other=0, backoff_factor=self._backoff, backoff_max=BACKOFF_MAX,
            status_forcelist=RETRY_STATUSES, allowed_methods=IDEMPOTENT_METHODS,
            raise_on_status=False, respect_retry_after_header=True, deadline=deadline,
        )

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
        doing ("save dashboard 'abc'"), for the error line. Every error is a GrafanaError whose
        text went through `scrub` (no secret, Grafana's own words included).
        """
        try:
            return self._request(method, path, action=action, params=params, json=json,
                                 ok_404=ok_404)
        except GrafanaError as exc:
            raise GrafanaError(scrub(str(exc))) from None

    def _request(self, method: str, path: str, *, action: str, params: Any, json: Any,
                 ok_404: bool) -> Any:
        url = f"{self.base_url}/api{path}"
        endpoint = f"{method} /api{path}"
        if self.settings.insecure:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        deadline = _now() + DEADLINE_TIMEOUTS * self.settings.timeout
        session = self.session
        session.get_adapter(url).max_retries = self._retry_policy(deadline)  # this thread's own
        try:
            # verify per request: requests lets REQUESTS_CA_BUNDLE override session.verify
            # No redirects: a redirected POST turns into a GET, and credentials would follow
            # to wherever the redirect points; the user should give the final URL instead.
            response = session.request(method, url, params=params, json=json,
                                       timeout=self.settings.timeout, verify=self._verify,
                                       allow_redirects=False, stream=True)
        except _GiveUp as exc:
            raise GrafanaError(f"{action}: {exc}") from None
        except requests.RequestException as exc:
            retried = ""
            if exc.args and isinstance(exc.args[0], MaxRetryError) and self._retries:
                retried = f" (gave up after {_plural(self._retries, 'retry', 'retries')})"
            raise GrafanaError(f"{action}: {_connection_failure(exc, self.base_url)}{retried}") \
                from None
        try:
            raw = self._read_body(response, deadline, action, endpoint)
        finally:
            response.close()
        status = response.status_code
        log.debug("%s -> %s", endpoint, status)
        if status == 404 and ok_404:
            return None
        if 300 <= status < 400:
            location = public_url(response.headers.get("Location", "?"))
            raise GrafanaError(f"{action}: HTTP {status} redirect to {location}: "
                               "give the final Grafana URL as --url (https://? sub-path?)")
        if status >= 400:
            try:
                body = _decode(raw) if raw else None
            except ValueError:
                body = None
            raise GrafanaError(self._status_line(method, path, action, status, body))
        if not raw:
            return {}
        try:
            return _decode(raw)
        except ValueError:
            raise GrafanaError(
                f"{action}: {self.base_url}/api{path} answered HTTP {status} "
                "with something that is not JSON: is --url Grafana's base URL "
                "(including any sub-path)?"
            ) from None

    def _read_body(self, response: requests.Response, deadline: float, action: str,
                   endpoint: str) -> bytes:
        """The whole answer, within MAX_RESPONSE_BYTES and the call's deadline."""
        too_big = (f"{action}: {endpoint} answered more than {_size(MAX_RESPONSE_BYTES)}; "
                   "refusing to read it (is --url Grafana?)")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise GrafanaError(too_big)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise GrafanaError(too_big)
                if _now() > deadline:
                    raise GrafanaError(f"{action}: {endpoint} was still sending its answer when "
                                       "the time limit of one request passed (see --timeout)")
                chunks.append(chunk)
        except requests.exceptions.ContentDecodingError:
            raise GrafanaError(f"{action}: {endpoint} answered with a body that cannot be "
                               "decompressed") from None
        except requests.RequestException as exc:
            if "timed out" in repr(exc) or "Timeout" in repr(exc):
                raise GrafanaError(f"{action}: timed out reading the answer of {endpoint} "
                                   "(see --timeout)") from None
            got = f" after {size} bytes" if size else ""
            raise GrafanaError(f"{action}: the answer of {endpoint} was cut off{got} (the "
                               "connection closed before it was complete); run again") from None
        return b"".join(chunks)

    def _status_line(self, method: str, path: str, action: str, status: int, body: Any) -> str:
        message = _grafana_message(body)
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
            if _grafana_status(body) in ("", "version-mismatch"):
                return (f"{action}: HTTP 412 version mismatch: it was changed in Grafana while "
                        f"pushing; run again{said}")
            return f"{action}: HTTP 412 precondition failed{said}"
        if status in (400, 409, 422):
            return f"{action}: HTTP {status}{said or ': rejected by Grafana'}"
        if status == 429:
            return (f"{action}: HTTP 429 too many requests (gave up after "
                    f"{_plural(self._retries, 'retry', 'retries')})")
        if status >= 500:
            retried = (f" (after {_plural(self._retries, 'retry', 'retries')})"
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
        if body is None:
            return None
        return _check_object(body, "GET /api/user", {"login": str})

    def search_dashboards(self, tag: str | None = None,
                          folder_uids: Iterable[str] | None = None,
                          dashboard_uids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """GET /api/search?type=dash-db (every page); tag, folder uids and dashboard uids
        (`dashboardUIDs`) filter. Repeated keys, never comma-separated values."""
        filters: list[tuple[str, str]] = [("tag", tag)] if tag else []
        # repeated keys, not comma-separated (grafana-contracts README, relaxation 3)
        filters += [("folderUIDs", uid) for uid in folder_uids or ()]
        filters += [("dashboardUIDs", uid) for uid in dashboard_uids or ()]
        hits: list[dict[str, Any]] = []
        seen: set[str] = set()
        for page in range(1, MAX_SEARCH_PAGES + 1):
            params: list[tuple[str, str]] = [("type", "dash-db"),
                                             ("limit", str(SEARCH_PAGE_SIZE)),
                                             ("page", str(page)), *filters]
            batch = self.request("GET", "/search", params=params, action="search dashboards")
            _check_search_hits(batch, f"GET /api/search (page {page})")
            uids = {hit["uid"] for hit in batch}
            if uids & seen:
                raise GrafanaError(
                    f"search dashboards: page {page} repeats dashboards of an earlier page "
                    "(Grafana ignores the `page` parameter, or dashboards changed while paging): "
                    "cannot list every dashboard; stopping")
            seen |= uids
            hits.extend(batch)
            if len(batch) < SEARCH_PAGE_SIZE:
                return hits
        raise GrafanaError(f"search dashboards: more than {MAX_SEARCH_PAGES} pages of "
                           f"{SEARCH_PAGE_SIZE} dashboards; stopping (a search that does not end)")

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
        answer = self.request("POST", "/dashboards/db", json=body,
                              action=f"save dashboard {uid!r}")
        return _check_object(answer, "POST /api/dashboards/db", {"uid": str, "version": int})

    def delete_dashboard(self, uid: str) -> bool:
        """DELETE /api/dashboards/uid/{uid}; False when it was already gone."""
        path = f"/dashboards/uid/{quote(uid, safe='')}"
        result = self.request("DELETE", path, action=f"delete dashboard {uid!r}", ok_404=True)
        if result is not None:
            _check_object(result, f"DELETE /api{path}", {"title": str})
        return result is not None

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        path = f"/folders/{quote(uid, safe='')}"
        body = self.request("GET", path, action=f"read folder {uid!r}", ok_404=True)
        return None if body is None else _check_object(body, f"GET /api{path}", _FOLDER)

    def create_folder(self, uid: str, title: str) -> dict[str, Any]:
        body = self.request("POST", "/folders", json={"uid": uid, "title": title},
                            action=f"create folder {uid!r}")
        return _check_object(body, "POST /api/folders", _FOLDER)

    def update_folder(self, uid: str, title: str, version: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"title": title, "overwrite": True}
        if version is not None:
            body["version"] = version
        path = f"/folders/{quote(uid, safe='')}"
        answer = self.request("PUT", path, json=body, action=f"retitle folder {uid!r}")
        return _check_object(answer, f"PUT /api{path}", _FOLDER)

    def get_datasource(self, uid: str) -> dict[str, Any] | None:
        path = f"/datasources/uid/{quote(uid, safe='')}"
        body = self.request("GET", path, action=f"read datasource {uid!r}", ok_404=True)
        return None if body is None else _check_object(body, f"GET /api{path}", _DATASOURCE)

    def get_datasource_by_name(self, name: str) -> dict[str, Any] | None:
        path = f"/datasources/name/{quote(name, safe='')}"
        body = self.request("GET", path, action=f"read datasource named {name!r}", ok_404=True)
        return None if body is None else _check_object(body, f"GET /api{path}", _DATASOURCE)

    def create_datasource(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.request("POST", "/datasources", json=body,
                              action=f"create datasource {body.get('uid') or body.get('name')!r}")
        return _check_object(answer, "POST /api/datasources", {"message": str})

    def update_datasource(self, uid: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/datasources/uid/{quote(uid, safe='')}"
        answer = self.request("PUT", path, json=body, action=f"update datasource {uid!r}")
        return _check_object(answer, f"PUT /api{path}", {"message": str})


#: Field types checked in folder and datasource answers (where present).
_FOLDER: dict[str, type | tuple[type, ...]] = {"uid": str, "title": str, "version": int}
_DATASOURCE: dict[str, type | tuple[type, ...]] = {
    "uid": str, "name": str, "type": str, "url": str, "readOnly": bool, "isDefault": bool,
    "jsonData": dict, "secureJsonFields": dict, "basicAuth": bool,
}

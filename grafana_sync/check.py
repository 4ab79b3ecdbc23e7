"""Run a dashboard's queries against a Prometheus the way Grafana would, and say what is empty and why.

`grafana-sync check --prometheus URL` (contract: DESIGN.md "New entry points"). For each compiled
dashboard:

1. Variables are resolved in order, as Grafana does on load: `label_values(...)`,
   `label_names()`, `metrics(...)`, `query_result(...)` against the Prometheus API; custom,
   constant, interval and textbox variables from their definition; the saved `current` selection
   is kept when still valid ("All" -> the variable's `allValue`, else an alternation of every
   value, regex-escaped as Grafana's Prometheus datasource does), otherwise the first value.
2. Every visible panel target and every Prometheus annotation is run with Grafana's macros
   resolved: `$__interval` from the time range and the panel's data points (never below the
   scrape interval), `$__rate_interval` = max($__interval + scrape interval, 4 x scrape interval),
   `$__range`. Range targets run as range queries over the dashboard's time range, instant
   targets as instant queries at its end.
3. An empty target is diagnosed selector by selector: metric absent, label missing, selector
   matching nothing (with the values the label does have), or every selector matching but the
   expression as a whole returning nothing. A query whose `offset` reaches back before the
   oldest data Prometheus holds is reported as `no-history`, apart, and does not fail the check.

Knows nothing about what the dashboards show: it only speaks Grafana and Prometheus.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from grafana_sync.connection import redact_url
from grafana_sync.errors import ConfigError, SyncError
from grafana_sync.macros import substitute_macros
from grafana_sync.model import DatasourceResolver, walk_panels
from grafana_sync.shapes import classic

DATA, EMPTY, ERROR, NO_HISTORY = "data", "empty", "error", "no-history"
DEFAULT_SCRAPE_INTERVAL = 15.0  # Grafana's default datasource timeInterval
DEFAULT_RANGE = 6 * 3600.0  # Grafana's default dashboard time range (now-6h)
GRID_COLUMNS = 24
SCREEN_WIDTH_PX = 1920  # a panel's width in pixels bounds its data points, as in a browser
MAX_POINTS = 11000  # Prometheus refuses range queries with more points per series
HISTORY_PROBE = "up"
MAX_REASONS = 3  # selectors named per empty target  # every Prometheus that scrapes anything records `up`

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0,
          "y": 31536000.0}
_DURATION_RE = re.compile(r"^((\d+)(ms|s|m|h|d|w|y))+$")
_DURATION_PART_RE = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_RELATIVE_RE = re.compile(r"^now(?:-(\d+)([smhdwMy]))?(?:/[smhdwMy])?$")
_RELATIVE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0,
                   "M": 2592000.0, "y": 31536000.0}
_OFFSET_RE = re.compile(r"\boffset\s+(-?(?:\d+(?:ms|s|m|h|d|w|y))+)")
_LABEL_VALUES_RE = re.compile(r"^\s*label_values\s*\(\s*(?:(.*)\s*,\s*)?([a-zA-Z_][\w]*)\s*\)\s*$",
                              re.S)
_LABEL_NAMES_RE = re.compile(r"^\s*label_names\s*\(\s*(.*?)\s*\)\s*$", re.S)
_METRICS_RE = re.compile(r"^\s*metrics\s*\(\s*(.*?)\s*\)\s*$", re.S)
_QUERY_RESULT_RE = re.compile(r"^\s*query_result\s*\(\s*(.*)\s*\)\s*$", re.S)
_ALL = "$__all"
# Grafana's rangeutil.roundInterval: (below this many ms, use this interval in ms)
_ROUND_STEPS = (
    (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
    (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
    (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000),
    (1050000, 900000), (1500000, 1200000), (2700000, 1800000), (5400000, 3600000),
    (9000000, 7200000), (16200000, 10800000), (27000000, 21600000), (86400000, 43200000),
    (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000),
)


class CheckError(SyncError):
    """Prometheus could not be reached or answered nonsense (exit 2: fix the URL or options)."""

    exit_code = 2


class QueryError(Exception):
    """Prometheus rejected one query (bad PromQL, timeout, too many points): reported, not fatal."""


# --------------------------------------------------------------------------------- durations
def parse_duration(text: str) -> float:
    """'1m30s' -> 90.0 seconds. ValueError on anything else."""
    text = text.strip()
    if not _DURATION_RE.match(text):
        raise ValueError(f"not a duration: {text!r} (e.g. 15s, 1m, 6h)")
    return sum(int(n) * _UNITS[u] for n, u in _DURATION_PART_RE.findall(text))


def format_duration(seconds: float) -> str:
    """A duration Prometheus and Grafana both accept: whole ms below 1s, else whole seconds."""
    if seconds < 1:
        return f"{max(int(round(seconds * 1000)), 1)}ms"
    return f"{int(round(seconds))}s"


def round_interval(seconds: float) -> float:
    """Grafana's rangeutil.roundInterval: the 'nice' interval for a raw one."""
    ms = seconds * 1000
    for below, value in _ROUND_STEPS:
        if ms < below:
            return value / 1000
    return 31536000.0


def dashboard_range(dashboard: Mapping[str, Any]) -> float:
    """Seconds between the dashboard's `time.from` and `time.to` when both are relative to now."""
    window = dashboard.get("time") if isinstance(dashboard.get("time"), Mapping) else {}
    span = []
    for key in ("from", "to"):
        match = _RELATIVE_RE.match(str(window.get(key, "")))
        if not match:
            return DEFAULT_RANGE
        n, unit = match.groups()
        span.append(int(n) * _RELATIVE_UNITS[unit] if n else 0.0)
    return span[0] - span[1] if span[0] > span[1] else DEFAULT_RANGE


# --------------------------------------------------------------------------------- Prometheus
class PrometheusAPI:
    """The few Prometheus HTTP API calls the check needs (POST for queries, as Grafana does)."""

    def __init__(self, url: str, *, timeout: float = 30.0, ca_cert: str | None = None,
                 insecure: bool = False, session: requests.Session | None = None) -> None:
        if not re.match(r"^https?://[^/\s]+", url or ""):
            raise ConfigError(f"--prometheus {redact_url(url or '')!r}: expected http(s)://HOST:PORT")
        self.url = url.rstrip("/")
        self.shown_url = redact_url(self.url)
        self.timeout = timeout
        self.session = session or requests.Session()
        retry = Retry(total=2, connect=2, read=0, status=0, backoff_factor=0.2,
                      allowed_methods=None)
        self.session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=16))
        self.session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=16))
        self.verify: bool | str = False if insecure else (ca_cert or True)

    def _call(self, path: str, params: Sequence[tuple[str, str]], post: bool = False) -> Any:
        try:
            if post:
                resp = self.session.post(self.url + path, data=list(params),
                                         timeout=self.timeout, verify=self.verify)
            else:
                resp = self.session.get(self.url + path, params=list(params),
                                        timeout=self.timeout, verify=self.verify)
        except requests.exceptions.SSLError:
            raise CheckError(f"Prometheus {self.shown_url}: TLS verification failed "
                             "(--ca-cert FILE, or --insecure to skip)") from None
        except requests.RequestException as exc:
            raise CheckError(f"Prometheus {self.shown_url} unreachable: "
                             f"{type(exc).__name__}") from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if resp.status_code in (401, 403):
                raise CheckError(f"Prometheus {self.shown_url}: HTTP {resp.status_code} "
                                 "(authentication required)")
            raise CheckError(f"Prometheus {self.shown_url}{path}: HTTP {resp.status_code}, "
                             "not a Prometheus API answer")
        if body.get("status") != "success":
            error = str(body.get("error") or f"HTTP {resp.status_code}").splitlines()[0]
            raise QueryError(error)
        return body.get("data")

    def query(self, expr: str, at: float) -> list[dict]:
        data = self._call("/api/v1/query", [("query", expr), ("time", _ts(at))], post=True)
        return _vector(data)

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        data = self._call("/api/v1/query_range",
                          [("query", expr), ("start", _ts(start)), ("end", _ts(end)),
                           ("step", format_duration(step))], post=True)
        return _vector(data)

    def label_values(self, label: str, match: str | None, start: float, end: float) -> list[str]:
        params = [("start", _ts(start)), ("end", _ts(end))]
        if match:
            params.append(("match[]", match))
        data = self._call(f"/api/v1/label/{label}/values", params)
        return [str(v) for v in data or []]

    def label_names(self, match: str | None, start: float, end: float) -> list[str]:
        params = [("start", _ts(start)), ("end", _ts(end))]
        if match:
            params.append(("match[]", match))
        return [str(v) for v in self._call("/api/v1/labels", params) or []]

    def scrape_interval(self) -> float | None:
        """global.scrape_interval from the server's configuration, when it shares it."""
        try:
            data = self._call("/api/v1/status/config", [])
        except (QueryError, CheckError):
            return None
        match = re.search(r"^\s*scrape_interval:\s*(\S+)", str((data or {}).get("yaml", "")), re.M)
        try:
            return parse_duration(match.group(1)) if match else None
        except ValueError:
            return None

    def ping(self) -> None:
        """Fail fast (CheckError) when the URL is not a reachable Prometheus."""
        try:
            self.query("1", time.time())
        except QueryError as exc:
            raise CheckError(f"Prometheus {self.shown_url} refused a trivial query: {exc}") from None


def _ts(t: float) -> str:
    return f"{t:.3f}"


def _vector(data: Any) -> list[dict]:
    if not isinstance(data, dict):
        return []
    result = data.get("result")
    if data.get("resultType") in ("scalar", "string"):
        return [{"metric": {}, "value": result}] if result else []
    return result if isinstance(result, list) else []


# --------------------------------------------------------------------------------- report
@dataclass
class TargetReport:
    ref_id: str
    expr: str  # as written in the dashboard
    query: str  # as sent to Prometheus
    status: str
    series: int = 0
    reason: str = ""


@dataclass
class PanelReport:
    id: Any
    title: str
    status: str
    reason: str = ""
    targets: list[TargetReport] = field(default_factory=list)


@dataclass
class VariableReport:
    name: str
    type: str
    status: str
    values: int = 0
    selected: str = ""
    reason: str = ""


@dataclass
class DashboardReport:
    uid: str
    title: str
    source: str
    variables: list[VariableReport] = field(default_factory=list)
    panels: list[PanelReport] = field(default_factory=list)
    annotations: list[PanelReport] = field(default_factory=list)


@dataclass
class CheckReport:
    prometheus: str
    time: float
    range_seconds: float | None
    scrape_interval_seconds: float
    dashboards: list[DashboardReport] = field(default_factory=list)

    def panels(self) -> Iterable[PanelReport]:
        for dash in self.dashboards:
            yield from dash.panels

    def counts(self) -> dict[str, int]:
        counts = {DATA: 0, EMPTY: 0, ERROR: 0, NO_HISTORY: 0}
        for panel in self.panels():
            counts[panel.status] += 1
        return counts

    def failures(self) -> list[str]:
        """What makes the check fail (exit 1): panels without data (empty or failing)."""
        return [f"{dash.uid}: panel {panel.title!r}: {panel.status}"
                for dash in self.dashboards for panel in dash.panels
                if panel.status in (EMPTY, ERROR)]

    def warnings(self) -> list[str]:
        """Reported, not failing: variables without values, annotation queries that fail."""
        out = []
        for dash in self.dashboards:
            for var in dash.variables:
                if var.status in (EMPTY, ERROR):
                    out.append(f"{dash.uid}: variable {var.name}: {var.status}")
            for ann in dash.annotations:
                if ann.status == ERROR:
                    out.append(f"{dash.uid}: annotation {ann.title!r}: error")
        return out

    @property
    def ok(self) -> bool:
        return not self.failures()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = {"panels": self.counts(), "failures": self.failures(),
                           "warnings": self.warnings(), "ok": self.ok}
        return data


# --------------------------------------------------------------------------------- variables
def _regex_escape(value: str) -> str:
    """Grafana's prometheusRegularEscape for multi-value/All variables."""
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\1", value)


def _js_regex(text: str) -> re.Pattern[str] | None:
    """A Grafana variable regex (`/pattern/flags` or a bare pattern) as a Python pattern."""
    if not text:
        return None
    match = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.S)
    pattern, flags = (match.group(1), match.group(2)) if match else (text, "")
    pattern = re.sub(r"\(\?<(\w+)>", r"(?P<\1>", pattern)
    try:
        return re.compile(pattern, re.I if "i" in flags else 0)
    except re.error:
        return None


def _apply_regex(values: list[str], regex: str) -> list[str]:
    pattern = _js_regex(regex)
    if pattern is None:
        return values
    out: list[str] = []
    for value in values:
        match = pattern.search(value)
        if not match:
            continue
        groups = match.groupdict()
        picked = groups.get("value") or groups.get("text") or (
            match.group(1) if match.re.groups else value)
        if picked is not None and picked not in out:
            out.append(picked)
    return out


def _current(var: Mapping[str, Any]) -> list[str]:
    current = var.get("current") if isinstance(var.get("current"), Mapping) else {}
    value = current.get("value")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _query_text(var: Mapping[str, Any]) -> str:
    query = var.get("query")
    if isinstance(query, Mapping):
        query = query.get("query", "")
    return str(query or var.get("definition") or "")


def _custom_values(text: str) -> list[str]:
    values = []
    for part in re.split(r"(?<!\\),", text):
        part = part.strip().replace("\\,", ",")
        if " : " in part:
            part = part.split(" : ", 1)[1].strip()
        if part:
            values.append(part)
    return values


# --------------------------------------------------------------------------------- checker
@dataclass
class CheckOptions:
    range_seconds: float | None = None  # None: each dashboard's own time range
    at: float | None = None  # end of the time range (default: now)
    scrape_interval: float | None = None  # None: ask Prometheus, else Grafana's 15s
    workers: int = 8


class Checker:
    def __init__(self, api: PrometheusAPI, options: CheckOptions | None = None) -> None:
        self.api = api
        self.options = options or CheckOptions()
        self.scrape = self.options.scrape_interval or api.scrape_interval() \
            or DEFAULT_SCRAPE_INTERVAL
        self._history: dict[float, bool] = {}

    # -- entry point
    def run(self, dashboards: Sequence[tuple[str, Mapping[str, Any]]]) -> CheckReport:
        self.api.ping()
        end = self.options.at or time.time()
        report = CheckReport(self.api.shown_url, end, self.options.range_seconds, self.scrape)
        with ThreadPoolExecutor(max_workers=max(self.options.workers, 1)) as pool:
            for source, dash in dashboards:
                report.dashboards.append(self._dashboard(source, dash, end, pool))
        return report

    def _dashboard(self, source: str, dash: Mapping[str, Any], end: float,
                   pool: ThreadPoolExecutor) -> DashboardReport:
        dash = classic(dict(dash), source, strict=False)  # legacy rows, Kubernetes shapes
        resolver = DatasourceResolver.for_dashboard(dash)
        rng = self.options.range_seconds or dashboard_range(dash)
        start = end - rng
        out = DashboardReport(str(dash.get("uid", "")), str(dash.get("title", "")), source)
        values, empty_vars = self._variables(dash, start, end, out)
        jobs: list[tuple[PanelReport, list[Callable[[], TargetReport]]]] = []
        for ref in walk_panels(dash):
            if ref.is_row:
                continue
            panel = ref.raw
            targets = [t for t in panel.get("targets") or []
                       if isinstance(t, Mapping) and not t.get("hide")
                       and _is_prometheus(t, panel, resolver) and str(t.get("expr") or "").strip()]
            if not targets:
                continue
            interval = self._interval(panel, rng)
            report = PanelReport(panel.get("id"), str(panel.get("title") or ""), DATA)
            calls = [self._target_job(t, values, empty_vars, interval, rng, start, end)
                     for t in targets]
            jobs.append((report, calls))
            out.panels.append(report)
        for ann in (dash.get("annotations") or {}).get("list") or []:
            if (isinstance(ann, Mapping) and ann.get("enable", True) and str(ann.get("expr") or "")
                    and _is_prometheus(ann, {}, resolver)):
                report = PanelReport(None, str(ann.get("name") or ""), DATA)
                interval = max(round_interval(rng / 1000), self.scrape)
                target = dict(ann, refId="Anno", range=True, instant=False)
                if ann.get("step"):
                    target["interval"] = ann.get("step")
                jobs.append((report, [self._target_job(target, values, empty_vars, interval,
                                                       rng, start, end)]))
                out.annotations.append(report)
        futures = [(report, [pool.submit(c) for c in calls]) for report, calls in jobs]
        for report, futs in futures:
            report.targets = [f.result() for f in futs]
            _summarise(report)
        return out

    # -- variables
    def _variables(self, dash: Mapping[str, Any], start: float, end: float,
                   out: DashboardReport) -> tuple[dict[str, str], set[str]]:
        values: dict[str, str] = {}
        empty: set[str] = set()
        for var in (dash.get("templating") or {}).get("list") or []:
            if not isinstance(var, Mapping) or not isinstance(var.get("name"), str):
                continue
            name, vtype = var["name"], str(var.get("type") or "query")
            report = VariableReport(name, vtype, DATA)
            out.variables.append(report)
            if vtype == "datasource":
                values[name] = str(var.get("query") or "prometheus")
                report.values, report.selected = 1, "the checked Prometheus"
                continue
            if vtype == "adhoc":
                report.values, report.selected = 0, "(no filters)"
                continue
            try:
                options = self._variable_options(var, vtype, values, start, end)
            except QueryError as exc:
                report.status, report.reason = ERROR, str(exc)
                empty.add(name)
                values[name] = ""
                continue
            report.values = len(options)
            if not options and var.get("includeAll") and var.get("allValue"):
                # Grafana still offers "All" when the query finds nothing; with a custom all value
                # (`.*` matches a missing label too) the panels query as if everything were chosen.
                values[name] = str(var["allValue"])
                report.selected = f"All ({var['allValue']}; the query found no values)"
                continue
            if not options:
                report.status = EMPTY
                report.reason = self._why_variable_empty(var, values, start, end)
                empty.add(name)
                values[name] = ""
                continue
            chosen = self._select(var, options)
            values[name] = chosen
            report.selected = chosen
        return values, empty

    def _variable_options(self, var: Mapping[str, Any], vtype: str, values: Mapping[str, str],
                          start: float, end: float) -> list[str]:
        text = _query_text(var)
        if vtype == "custom":
            return _custom_values(text)
        if vtype in ("constant", "textbox"):
            return [text] if text or vtype == "constant" else (_current(var)[:1] or [""])
        if vtype == "interval":
            return _custom_values(text)
        expr = self._substitute(text, values, interval=self.scrape, rng=end - start)
        if m := _LABEL_VALUES_RE.match(expr):
            match, label = (m.group(1) or "").strip() or None, m.group(2)
            found = sorted(set(self.api.label_values(label, match, start, end)))
        elif m := _LABEL_NAMES_RE.match(expr):
            found = sorted(set(self.api.label_names(m.group(1) or None, start, end)))
        elif m := _METRICS_RE.match(expr):
            names = self.api.label_values("__name__", None, start, end)
            pattern = _js_regex(m.group(1)) if m.group(1) else None
            found = sorted(n for n in names if pattern is None or pattern.search(n))
        elif m := _QUERY_RESULT_RE.match(expr):
            found = []
            for item in self.api.query(m.group(1), end):
                labels = dict(item.get("metric") or {})
                name = labels.pop("__name__", "")
                label_text = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                value = (item.get("value") or [0, ""])[1]
                found.append(f"{name}{{{label_text}}} {value} {int(end * 1000)}")
        else:  # a bare PromQL query: Grafana lists the series' label sets
            found = [str(item.get("metric")) for item in self.api.query(expr, end)]
        return _apply_regex(found, str(var.get("regex") or ""))

    def _select(self, var: Mapping[str, Any], options: list[str]) -> str:
        multi_or_all = bool(var.get("multi") or var.get("includeAll"))
        current = _current(var)
        if var.get("includeAll") and (not current or _ALL in current):
            if var.get("allValue"):
                return str(var["allValue"])
            picked = options
        else:
            picked = [v for v in current if v in options] or options[:1]
        if not multi_or_all:
            return picked[0]
        escaped = [_regex_escape(v) for v in picked]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"

    def _why_variable_empty(self, var: Mapping[str, Any], values: Mapping[str, str],
                            start: float, end: float) -> str:
        expr = self._substitute(_query_text(var), values, interval=self.scrape, rng=end - start)
        m = _LABEL_VALUES_RE.match(expr)
        if not m:
            return "the variable's query returned no values"
        match, label = (m.group(1) or "").strip(), m.group(2)
        if not match:
            return f"no series has the label {label!r}"
        try:
            import promql_parser

            from grafana_sync.lint.promql import walk

            node = promql_parser.parse(match)
            selectors = [n for n, _ in walk(node) if isinstance(n, promql_parser.VectorSelector)]
        except Exception:  # noqa: BLE001 - an unparsable match[] is Prometheus's to report
            return f"no series of {match} has the label {label!r}"
        for sel in selectors:
            why = self._why_selector_empty(sel, end - start, end)
            if why:
                return why
        return f"the series of {match} have no label {label!r}"

    # -- targets
    def _interval(self, panel: Mapping[str, Any], rng: float) -> float:
        points = panel.get("maxDataPoints")
        if not isinstance(points, (int, float)) or points <= 0:
            width = (panel.get("gridPos") or {}).get("w") or GRID_COLUMNS
            points = max(int(width) * SCREEN_WIDTH_PX // GRID_COLUMNS, 1)
        interval = round_interval(rng / points)
        minimum = self.scrape
        raw_min = panel.get("interval")
        if isinstance(raw_min, str) and raw_min.strip():
            try:
                minimum = parse_duration(raw_min.lstrip(">"))
            except ValueError:
                pass
        return max(interval, minimum)

    def _substitute(self, expr: str, values: Mapping[str, str], *, interval: float,
                    rng: float) -> str:
        rate = max(interval + self.scrape, 4 * self.scrape)
        return substitute_macros(expr, dict(values), interval=format_duration(interval),
                                 rate_interval=format_duration(rate),
                                 range_=format_duration(rng))

    def _target_job(self, target: Mapping[str, Any], values: Mapping[str, str],
                    empty_vars: set[str], interval: float, rng: float, start: float,
                    end: float) -> Callable[[], TargetReport]:
        expr = str(target.get("expr"))
        raw_min = target.get("interval")
        if isinstance(raw_min, str) and raw_min.strip():
            try:
                interval = max(interval, parse_duration(raw_min.lstrip(">")))
            except ValueError:
                pass
        query = self._substitute(expr, values, interval=interval, rng=rng)
        instant = bool(target.get("instant")) and not target.get("range")
        used_empty = sorted(v for v in empty_vars if re.search(
            rf"\$\{{{v}\b|\${v}\b|\[\[{v}\b", expr))
        ref = str(target.get("refId") or "")

        def run() -> TargetReport:
            report = TargetReport(ref, expr, query, DATA)
            step = max(interval, rng / MAX_POINTS)
            try:
                result = (self.api.query(query, end) if instant
                          else self.api.query_range(query, start, end, step))
            except QueryError as exc:
                report.status, report.reason = ERROR, f"query error: {exc}"
                return report
            report.series = len(result)
            if result:
                return report
            report.status = EMPTY
            if used_empty:
                report.reason = "variable " + ", ".join(f"${v}" for v in used_empty) \
                    + " has no values"
                return report
            offsets = [parse_duration(o.lstrip("-")) for o in _OFFSET_RE.findall(query)]
            deepest = max(offsets, default=0.0)
            if deepest and not self._has_history(deepest, end):
                report.status = NO_HISTORY
                report.reason = (f"offset {format_duration(deepest)}: Prometheus holds no data "
                                 "that old yet (not counted as a failure)")
                return report
            report.reason = self._why_empty(query, rng, end)
            return report

        return run

    def _has_history(self, offset: float, end: float) -> bool:
        if offset not in self._history:
            try:
                found = self.api.query(f"count({HISTORY_PROBE} offset {format_duration(offset)})",
                                       end)
            except QueryError:
                found = []
            self._history[offset] = bool(found)
        return self._history[offset]

    def _why_empty(self, query: str, rng: float, end: float) -> str:
        try:
            import promql_parser

            from grafana_sync.lint.promql import walk

            node = promql_parser.parse(query)
        except Exception:  # noqa: BLE001 - Prometheus accepted it; the parser may be stricter
            return "the query returned no series"
        seen: set[str] = set()
        reasons: list[str] = []
        for sub, _parents in walk(node):
            if not isinstance(sub, promql_parser.VectorSelector):
                continue
            key = _selector_text(sub)
            if key in seen:
                continue
            seen.add(key)
            why = self._why_selector_empty(sub, rng, end)
            if why and why not in reasons:
                reasons.append(why)
        if reasons:  # every failing selector (an `a or b` fallback fails in each branch)
            return "; ".join(reasons[:MAX_REASONS]) + (
                f"; and {len(reasons) - MAX_REASONS} more" if len(reasons) > MAX_REASONS else "")
        return ("every selector matches series, but the expression returns nothing "
                "(a join, filter or comparison drops them, or too few samples in the window)")

    def _why_selector_empty(self, sel: Any, rng: float, end: float) -> str:
        """One line on why this selector matches nothing in the range, or '' when it matches."""
        from grafana_sync.lint.promql import selector_name

        name = selector_name(sel)
        window = format_duration(max(rng, self.scrape))
        matchers = [m for m in sel.matchers.matchers if m.name != "__name__"]

        def count(selector: str) -> int:
            try:
                found = self.api.query(f"count(last_over_time({selector}[{window}]))", end)
            except QueryError:
                return -1
            return int(float(found[0]["value"][1])) if found else 0

        base = f'{{__name__="{name}"}}' if name else _selector_text(sel)
        if name and count(base) == 0:
            hint = " (a recording rule: is its rule file loaded?)" if ":" in name else ""
            return f"metric absent: {name}{hint}"
        full = _selector_text(sel)
        if count(full) != 0:
            return ""
        for m in matchers:
            matches_empty = _matches(m, "")
            if matches_empty:
                continue  # satisfied by series without the label too
            if name and count(f'{{__name__="{name}",{m.name}!=""}}') == 0:
                return f"label missing: no {name} series has the label {m.name!r}"
            one = f'{{__name__="{name}",{_matcher_text(m)}}}' if name else None
            if one and count(one) == 0:
                try:
                    seen = self.api.label_values(m.name, base, end - max(rng, self.scrape), end)
                except QueryError:
                    seen = []
                shown = ", ".join(seen[:5]) + (", ..." if len(seen) > 5 else "")
                return (f"selector matches nothing: {name}{{{_matcher_text(m)}}}; "
                        f"{m.name} has {shown or 'no values'}")
        return f"selector matches nothing: {full} (no series has all of its labels at once)"


def _matches(matcher: Any, value: str) -> bool:
    op = str(matcher.op).rsplit(".", 1)[-1]
    if op == "Equal":
        return value == matcher.value
    if op == "NotEqual":
        return value != matcher.value
    try:
        hit = re.fullmatch(matcher.value, value) is not None
    except re.error:
        return False
    return hit if op == "Re" else not hit


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _matcher_text(matcher: Any) -> str:
    op = _OPS[str(matcher.op).rsplit(".", 1)[-1]]
    value = matcher.value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{matcher.name}{op}"{value}"'


def _selector_text(sel: Any) -> str:
    parts = []
    if sel.name:
        parts.append(f'__name__="{sel.name}"')
    parts += [_matcher_text(m) for m in sel.matchers.matchers
              if not (m.name == "__name__" and sel.name)]
    return "{" + ",".join(parts) + "}"


def _is_prometheus(target: Mapping[str, Any], panel: Mapping[str, Any],
                   resolver: DatasourceResolver) -> bool:
    """A target runs on Prometheus unless its (else its panel's) datasource has another type."""
    for holder in (target, panel):
        if holder.get("datasource") is None:
            continue
        ref = resolver.ref(holder.get("datasource")) or {}
        if ref.get("uid") in ("-- Grafana --", "grafana", "-- Dashboard --", "-- Mixed --"):
            return False
        return ref.get("type", "prometheus") == "prometheus"
    return True


def _summarise(report: PanelReport) -> None:
    statuses = [t.status for t in report.targets]
    if ERROR in statuses:
        report.status = ERROR
    elif DATA in statuses:
        report.status = DATA
    elif statuses and all(s == NO_HISTORY for s in statuses):
        report.status = NO_HISTORY
    elif NO_HISTORY in statuses and EMPTY not in statuses:
        report.status = NO_HISTORY
    else:
        report.status = EMPTY
    bad = [t for t in report.targets if t.status == report.status and t.reason]
    report.reason = "; ".join(f"{t.ref_id}: {t.reason}" for t in bad)


# --------------------------------------------------------------------------------- rendering
def render_text(report: CheckReport, verbose: bool = False) -> str:
    lines = [f"Prometheus {report.prometheus} (scrape interval "
             f"{format_duration(report.scrape_interval_seconds)})"]
    for dash in report.dashboards:
        lines.append(f"{dash.uid} ({dash.title})")
        for var in dash.variables:
            if var.status != DATA:
                lines.append(f"  variable ${var.name}: {var.status.upper()}: {var.reason}")
            elif verbose:
                lines.append(f"  variable ${var.name}: {var.values} value(s), {var.selected}")
        for kind, items in (("panel", dash.panels), ("annotation", dash.annotations)):
            for item in items:
                ident = f"{kind} {item.id} " if item.id is not None else f"{kind} "
                waiting = [t for t in item.targets if t.status == NO_HISTORY]
                if item.status == DATA and waiting:
                    lines.append(f"  {ident}{item.title!r}: data; waiting for history: "
                                 + "; ".join(f"{t.ref_id}: {t.reason}" for t in waiting))
                    continue
                if item.status == DATA and not verbose:
                    continue
                status = item.status if item.status == DATA else item.status.upper()
                series = sum(t.series for t in item.targets)
                detail = f"{series} series" if item.status == DATA else item.reason
                lines.append(f"  {ident}{item.title!r}: {status}: {detail}")
    counts = report.counts()
    total = sum(counts.values())
    waiting = sum(t.status == NO_HISTORY for p in report.panels() for t in p.targets)
    lines.append(f"{total} panels in {len(report.dashboards)} dashboard(s): {counts[DATA]} with "
                 f"data, {counts[EMPTY]} empty, {counts[ERROR]} error, {counts[NO_HISTORY]} "
                 f"waiting for history ({waiting} queries with an offset beyond the oldest data)")
    failures, warnings = report.failures(), report.warnings()
    if warnings:
        lines.append(f"{len(warnings)} warning(s): " + "; ".join(warnings))
    lines.append("OK" if not failures else f"FAILED: {len(failures)} panel(s) without data")
    return "\n".join(lines) + "\n"

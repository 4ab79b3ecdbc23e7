"""A real Prometheus scraping the reference exporter (`python -m demo`), for integration tests.

Fixtures (defined in tests/integration/conftest.py):

``prometheus_demo`` (session scope) -> :class:`PromStack`
    One `/usr/bin/prometheus` (Debian package) on a free loopback port, with a temp data dir
    and a generated config (scrape and evaluation interval 1 s), scraping:

    - job ``ml-model``: ``python -m demo --speed 60 --scenario ci`` on another free port
      (the job name of the model service in prometheus/prometheus.yml);
    - job ``node``: a real ``prometheus-node-exporter`` (a few collectors only), when the
      binary exists (required in CI);

    and loading every rule file in ``prometheus/rules/*.yml`` (the project's recording and
    alert rules; an invalid rule file fails the fixture with Prometheus's own message).
    The fixture returns once every target reports ``up == 1``; both processes are stopped
    (terminate, then kill) at the end of the session. With ``--speed 60`` one wall second is
    one simulated minute: in the ``ci`` scenario every incident starts 10 simulated minutes
    (10 s) after the demo started and stays (see demo/scenario.py); use
    :meth:`PromStack.wait_for_incident` / :meth:`PromStack.wait_for_sim_time` before looking.

``prometheus_stack_factory`` (function scope) -> callable(**kwargs) -> PromStack
    Starts a private stack with other options (same keyword arguments as :func:`run_stack`:
    ``speed``, ``scenario``, ``seed``, ``rule_files``, ``extra_targets``, ``node_exporter``,
    ``demo_args``, ``pushgateway``); stopped after the test. Use it only when the shared one cannot do (CPU).

:class:`PromStack` API (all times are Unix seconds, wall clock):

- ``prometheus_url``, ``demo_url`` (``http://127.0.0.1:PORT``), ``speed``, ``scenario``,
  ``demo_started_at`` (wall time of the demo's simulated t=0), ``config_path``, ``data_dir``.
- ``query(expr, at=None) -> list[dict]``: instant query (``/api/v1/query``); the ``result``
  list, each item ``{"metric": {...}, "value": [ts, "str"]}``. Raises :class:`PromQueryError`
  with Prometheus's message on a bad query.
- ``query_range(expr, start, end, step=1.0) -> list[dict]``: ``/api/v1/query_range``; items
  ``{"metric": {...}, "values": [[ts, "str"], ...]}``.
- ``grafana_query(expr, variables=None, **macro_kwargs) -> list[dict]``: substitutes Grafana's
  macros and template variables with :func:`grafana_sync.macros.substitute_macros` (unknown
  variables -> ``.*``, i.e. "All"; ``rate_interval`` defaults to ``1m``), then ``query``.
- ``grafana_expr(expr, variables=None, **macro_kwargs) -> str``: the substituted expression.
- ``wait_for(expr, timeout=30, predicate=None) -> list[dict]``: polls ``query(expr)`` until it
  returns a non-empty result (for which ``predicate(result)`` is true when given).
- ``sim_time() -> float``: the demo's current simulated time (seconds since its start).
- ``sim_to_wall(t_sim) -> float``: wall time at which the demo reaches simulated time t_sim.
- ``wait_for_sim_time(t_sim, timeout=None)``: sleeps until the demo reached it.
- ``wait_for_incident(kind, model=None, timeout=60)``: waits until the scenario's incident
  is active (``demo_incident_active == 1`` as scraped by Prometheus) and returns the
  :class:`demo.scenario.Incident`.
- ``alerts()`` (``/api/v1/alerts``), ``rules()`` (``/api/v1/rules``), ``targets()``
  (active targets), ``demo_metrics_text()`` (the demo's raw exposition).

Without pytest: ``with run_stack(speed=60) as stack: stack.query("up")``.
Binaries missing: a skip with the reason outside CI, a failure in CI (env ``CI=true``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PROMETHEUS_BIN = os.environ.get("PROMETHEUS_BIN", "prometheus")
NODE_EXPORTER_BIN = os.environ.get("NODE_EXPORTER_BIN", "prometheus-node-exporter")
PUSHGATEWAY_BIN = os.environ.get("PUSHGATEWAY_BIN", "prometheus-pushgateway")
DEMO_JOB = "ml-model"
NODE_JOB = "node"
PUSHGATEWAY_JOB = "pushgateway"
DEMO_TARGET = "demo"  # in extra_targets: the demo's host:port (e.g. a second /metrics path)
DEFAULT_SPEED = 60.0
DEFAULT_SCENARIO = "ci"
NODE_COLLECTORS = ("cpu", "meminfo", "loadavg", "filesystem", "netdev")


class PromQueryError(RuntimeError):
    """Prometheus rejected a query (message from its API)."""


class HarnessError(RuntimeError):
    """A process of the stack did not come up (message includes its log tail)."""


def find_binary(name: str) -> str | None:
    return shutil.which(name)


def require_binary(name: str) -> str:
    """Path of a binary; pytest skip (fail in CI) when it is missing."""
    import pytest

    path = find_binary(name)
    if path is None:
        msg = f"{name} not found on PATH (apt-get install prometheus prometheus-node-exporter)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def promtool_test(path: Path, rule_files, tests: list[dict], timeout: float = 120) -> None:
    """Write a promtool rule-test file (`rule_files`, 1m evaluations, `tests`) to `path` and run
    `promtool test rules` on it; an AssertionError carries promtool's report. Skips (fails in CI)
    without promtool."""
    import yaml

    path.write_text(yaml.safe_dump({"rule_files": [str(f) for f in rule_files],
                                    "evaluation_interval": "1m", "tests": tests}))
    run = subprocess.run([require_binary("promtool"), "test", "rules", str(path)],
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child before exec (Linux): no orphans
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort on non-Linux
        pass


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, n: int = 15) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self, timeout: float = 5.0) -> None:
        p = self.popen
        if p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=timeout)


def _spawn(name: str, argv: Sequence[str], workdir: Path, cwd: Path | None = None,
           env: Mapping[str, str] | None = None) -> _Proc:
    log = workdir / f"{name}.log"
    fh = open(log, "wb")  # noqa: SIM115 - closed when the child exits (inherited)
    try:
        popen = subprocess.Popen(
            list(argv), stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cwd, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            env={**os.environ, **env} if env else None,
        )
    finally:
        fh.close()
    return _Proc(name, popen, log)


def _wait_http(proc: _Proc, url: str, timeout: float, check: Callable[[str], bool] | None = None):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise HarnessError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            r = requests.get(url, timeout=2)
            if r.ok and (check is None or check(r.text)):
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.2)
    raise HarnessError(f"{proc.name} not ready at {url} after {timeout:g}s ({last}):\n"
                       f"{proc.tail()}")


def pushgateway_isolation(workdir: Path) -> list[str]:
    """Debian's pushgateway persists to /var/lib/prometheus/pushgateway.data by default: every
    test pushgateway would load the groups of earlier runs (and of other tests). Keep each one's
    persistence in its own temp dir."""
    return [f"--persistence.file={workdir / 'pushgateway.data'}"]


def project_rule_files() -> list[Path]:
    rules = REPO_ROOT / "prometheus" / "rules"
    return sorted([*rules.glob("*.yml"), *rules.glob("*.yaml")]) if rules.is_dir() else []


def prometheus_config(
    demo_target: str,
    node_target: str | None,
    rule_files: Iterable[Path | str] = (),
    extra_targets: Iterable[Mapping] = (),
    pushgateway_target: str | None = None,
    demo_job: str = DEMO_JOB,
    alertmanager_target: str | None = None,
    scrape_interval: str = "1s",
) -> dict:
    """The generated prometheus.yml (1 s scrape and evaluation interval).

    `extra_targets`: items ``{"job_name": str, "targets": ["host:port"], "honor_labels": bool,
    "metrics_path": str, "labels": {target labels}}`` (only job_name and targets required); the
    target ``DEMO_TARGET`` stands for the demo's own address (another endpoint of the demo).
    """
    scrape = [{"job_name": demo_job, "static_configs": [{"targets": [demo_target]}]}]
    if node_target:
        scrape.append({"job_name": NODE_JOB, "static_configs": [{"targets": [node_target]}]})
    if pushgateway_target:
        scrape.append({"job_name": PUSHGATEWAY_JOB, "honor_labels": True,
                       "static_configs": [{"targets": [pushgateway_target]}]})
    for extra in extra_targets:
        targets = [demo_target if t == DEMO_TARGET else t for t in extra["targets"]]
        static: dict = {"targets": targets}
        if extra.get("labels"):
            static["labels"] = dict(extra["labels"])
        job = {"job_name": extra["job_name"], "static_configs": [static]}
        for key in ("honor_labels", "metrics_path", "scrape_interval"):
            if key in extra:
                job[key] = extra[key]
        scrape.append(job)
    config = {
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": scrape_interval,
                   "evaluation_interval": scrape_interval},
        "rule_files": [str(Path(p).resolve()) for p in rule_files],
        "scrape_configs": scrape,
    }
    if alertmanager_target:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_target]}]}]}
    return config


@dataclass
class PromStack:
    prometheus_url: str
    demo_url: str
    speed: float
    scenario: str
    demo_started_at: float
    config_path: Path
    data_dir: Path
    jobs: tuple[str, ...]
    _procs: list[_Proc] = field(default_factory=list, repr=False)
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    # ---------------------------------------------------------------- PromQL
    def _api(self, path: str, params: Mapping) -> dict:
        r = self._session.post(f"{self.prometheus_url}/api/v1/{path}", data=params, timeout=10)
        try:
            body = r.json()
        except ValueError:
            raise PromQueryError(f"{path}: HTTP {r.status_code}: {r.text[:200]}") from None
        if body.get("status") != "success":
            raise PromQueryError(f"{params.get('query')!r}: {body.get('errorType')}: "
                                 f"{body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._api("query", params)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def query_range(self, expr: str, start: float, end: float, step: float = 1.0) -> list[dict]:
        return self._api("query_range", {"query": expr, "start": f"{start:.3f}",
                                         "end": f"{end:.3f}", "step": f"{step:g}"})["result"]

    def grafana_expr(self, expr: str, variables: Mapping | None = None, **macro_kwargs) -> str:
        from grafana_sync.macros import substitute_macros

        return substitute_macros(expr, variables, **macro_kwargs)

    def grafana_query(self, expr: str, variables: Mapping | None = None,
                      **macro_kwargs) -> list[dict]:
        return self.query(self.grafana_expr(expr, variables, **macro_kwargs))

    def wait_for(self, expr: str, timeout: float = 30.0,
                 predicate: Callable[[list[dict]], bool] | None = None) -> list[dict]:
        deadline = time.monotonic() + timeout
        result: list[dict] = []
        while True:
            result = self.query(expr)
            if result and (predicate is None or predicate(result)):
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expr!r}: no matching result after {timeout:g}s "
                                   f"(last: {result[:3]})")
            time.sleep(0.5)

    # ---------------------------------------------------------------- demo time
    def sim_time(self) -> float:
        return (time.time() - self.demo_started_at) * self.speed

    def sim_to_wall(self, t_sim: float) -> float:
        return self.demo_started_at + t_sim / self.speed

    def wait_for_sim_time(self, t_sim: float, timeout: float | None = None) -> None:
        delay = self.sim_to_wall(t_sim) - time.time()
        if timeout is not None and delay > timeout:
            raise TimeoutError(f"simulated t={t_sim:g}s is {delay:.0f}s away (> {timeout:g}s)")
        if delay > 0:
            time.sleep(delay)

    def wait_for_incident(self, kind: str, model: str | None = None, timeout: float = 60.0):
        from demo.scenario import SCENARIOS

        incident = SCENARIOS[self.scenario].incident(kind, model)
        self.wait_for(
            f'demo_incident_active{{incident="{kind}",model="{incident.model}"}} == 1',
            timeout=timeout)
        return incident

    # ---------------------------------------------------------------- misc API
    def alerts(self) -> list[dict]:
        return self._session.get(f"{self.prometheus_url}/api/v1/alerts",
                                 timeout=10).json()["data"]["alerts"]

    def rules(self) -> list[dict]:
        return self._session.get(f"{self.prometheus_url}/api/v1/rules",
                                 timeout=10).json()["data"]["groups"]

    def targets(self) -> list[dict]:
        return self._session.get(f"{self.prometheus_url}/api/v1/targets",
                                 timeout=10).json()["data"]["activeTargets"]

    def demo_metrics_text(self) -> str:
        r = self._session.get(f"{self.demo_url}/metrics", timeout=10)
        r.raise_for_status()
        return r.text

    def stop(self) -> None:
        for proc in reversed(self._procs):
            proc.stop()
        self._procs.clear()
        self._session.close()


def _demo_start_time(text: str, speed: float) -> float | None:
    """Wall time of the demo's t=0, from its demo_simulated_time_seconds sample."""
    for line in text.splitlines():
        if line.startswith("demo_simulated_time_seconds"):
            return time.time() - float(line.rsplit(" ", 1)[1]) / speed
    return None


@contextlib.contextmanager
def run_stack(
    speed: float = DEFAULT_SPEED,
    scenario: str = DEFAULT_SCENARIO,
    seed: int = 7,
    rule_files: Iterable[Path | str] | None = None,
    extra_targets: Iterable[Mapping] = (),
    node_exporter: bool | None = None,
    demo_args: Sequence[str] = (),
    prometheus_bin: str | None = None,
    startup_timeout: float = 60.0,
    pushgateway: bool = False,
    demo_job: str = DEMO_JOB,
    demo_env: Mapping[str, str] | None = None,
    alertmanager: str | None = None,
    scrape_interval: str = "1s",
) -> Iterator[PromStack]:
    """Start demo (+ node_exporter) + Prometheus; yield a PromStack; stop everything after.

    `rule_files=None` loads the project's prometheus/rules/*.yml; pass [] for none.
    `node_exporter=None` starts it when the binary exists (it is required in CI).
    `pushgateway=True` also starts `prometheus-pushgateway` (job `pushgateway`,
    honor_labels) and runs the demo with `--pushgateway` (its batch-evaluation metrics then
    arrive through the Pushgateway with `job="ml_evaluation"`).
    `demo_job` names the demo's scrape job; `demo_env` adds environment variables to the demo
    (e.g. MONITORING_CONFIG: a renamed setup end to end). `alertmanager` ("host:port" of a
    running Alertmanager) makes Prometheus send its alerts there; `scrape_interval` (also the
    scrape timeout and evaluation interval) is 1s unless given.
    Raises HarnessError when a process does not come up.
    """
    prom = prometheus_bin or find_binary(PROMETHEUS_BIN)
    if prom is None:
        raise HarnessError(f"{PROMETHEUS_BIN} not found on PATH")
    node_bin = find_binary(NODE_EXPORTER_BIN)
    if node_exporter is None:
        node_exporter = node_bin is not None or IN_CI
    if node_exporter and node_bin is None:
        raise HarnessError(f"{NODE_EXPORTER_BIN} not found on PATH")
    rules = project_rule_files() if rule_files is None else [Path(p) for p in rule_files]
    extra_targets = list(extra_targets)
    workdir = Path(tempfile.mkdtemp(prefix="promharness-"))
    procs: list[_Proc] = []
    stack: PromStack | None = None
    try:
        push_target = None
        if pushgateway:
            push_bin = find_binary(PUSHGATEWAY_BIN)
            if push_bin is None:
                raise HarnessError(f"{PUSHGATEWAY_BIN} not found on PATH")
            push_target = f"127.0.0.1:{free_port()}"
            push_proc = _spawn("pushgateway", [push_bin, f"--web.listen-address={push_target}",
                                               *pushgateway_isolation(workdir)], workdir)
            procs.append(push_proc)
            _wait_http(push_proc, f"http://{push_target}/-/ready", startup_timeout)
            demo_args = [*demo_args, "--pushgateway", f"http://{push_target}"]
        demo_port = free_port()
        demo = _spawn("demo", [sys.executable, "-m", "demo", "--port", str(demo_port),
                               "--speed", f"{speed:g}", "--scenario", scenario,
                               "--seed", str(seed), *demo_args], workdir, cwd=REPO_ROOT,
                      env=demo_env)
        procs.append(demo)
        node_target = None
        if node_exporter:
            node_port = free_port()
            argv = [node_bin, f"--web.listen-address=127.0.0.1:{node_port}",
                    "--collector.disable-defaults",
                    *(f"--collector.{c}" for c in NODE_COLLECTORS)]
            procs.append(_spawn("node_exporter", argv, workdir))
            node_target = f"127.0.0.1:{node_port}"
        config = prometheus_config(f"127.0.0.1:{demo_port}", node_target, rules, extra_targets,
                                   push_target, demo_job, alertmanager, scrape_interval)
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        data_dir = workdir / "data"
        prom_port = free_port()
        procs.append(_spawn("prometheus", [
            prom, f"--config.file={config_path}", f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ], workdir))
        demo_url = f"http://127.0.0.1:{demo_port}"
        _wait_http(demo, f"{demo_url}/metrics", startup_timeout,
                   check=lambda text: "demo_simulated_time_seconds" in text)
        started = _demo_start_time(requests.get(f"{demo_url}/metrics", timeout=5).text, speed)
        prometheus_url = f"http://127.0.0.1:{prom_port}"
        _wait_http(procs[-1], f"{prometheus_url}/-/ready", startup_timeout)
        jobs = (demo_job, *((NODE_JOB,) if node_target else ()),
                *((PUSHGATEWAY_JOB,) if push_target else ()),
                *(e["job_name"] for e in extra_targets))
        stack = PromStack(prometheus_url, demo_url, speed, scenario, started or time.time(),
                          config_path, data_dir, jobs, procs)
        deadline = time.monotonic() + startup_timeout
        while True:
            up = {r["metric"].get("job"): r["value"][1] for r in stack.query("up")}
            if all(up.get(job) == "1" for job in jobs):
                break
            for proc in procs:
                if proc.popen.poll() is not None:
                    raise HarnessError(f"{proc.name} exited with {proc.popen.returncode}:\n"
                                       f"{proc.tail()}")
            if time.monotonic() > deadline:
                raise HarnessError(f"targets not up after {startup_timeout:g}s: {up}")
            time.sleep(0.3)
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)

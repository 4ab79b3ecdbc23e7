"""Several clusters, one view: Prometheus agents remote-writing to a central Prometheus.

The topology docs/scale-out.md describes, with real binaries on loopback:

- per cluster: ``python -m demo`` (its own seed, so the clusters' numbers differ), a real
  ``prometheus-node-exporter`` when the binary exists, and a Prometheus in **agent mode**
  (``--enable-feature=agent``) scraping them with ``external_labels: {<cluster label>: NAME}``
  and remote-writing everything to the central server;
- one central Prometheus started with ``--web.enable-remote-write-receiver`` that stores what the
  agents send and evaluates the project's compiled rules (``prometheus/rules/*.yml``).

``run_multicluster(("eu-west", "us-east"))`` yields a :class:`MultiClusterStack`; its
``central`` is a :class:`tests.promharness.PromStack` pointed at the central server (``query``,
``wait_for``, ``grafana_expr``… all work; its demo clock is the first cluster's demo). Every
process is stopped and the temp dir removed at the end. Missing binaries raise HarnessError.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from tests.promharness import (
    DEMO_JOB,
    NODE_COLLECTORS,
    NODE_EXPORTER_BIN,
    NODE_JOB,
    PROMETHEUS_BIN,
    REPO_ROOT,
    HarnessError,
    PromStack,
    _demo_start_time,
    _Proc,
    _spawn,
    _wait_http,
    find_binary,
    free_port,
    project_rule_files,
)


def cluster_label() -> str:
    """The cluster label name from the monitoring config (default ``cluster``)."""
    try:
        from ml_monitoring.config import load_config
    except ImportError:  # config module not there: the documented default
        return "cluster"
    return load_config().labels.cluster


@dataclass
class MultiClusterStack:
    central: PromStack
    clusters: tuple[str, ...]
    label: str
    demo_urls: dict[str, str]
    agent_urls: dict[str, str]


def agent_config(cluster: str, label: str, targets: dict[str, str], write_url: str) -> dict:
    """prometheus.yml of one cluster's agent: scrape its targets, remote-write to the centre."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                   "external_labels": {label: cluster}},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}
                           for job, target in targets.items()],
        # 1 s batches keep the central view within a couple of seconds of the agents.
        "remote_write": [{"url": write_url,
                          "queue_config": {"batch_send_deadline": "1s", "max_backoff": "1s"}}],
    }


def central_config(rule_files: Sequence[Path]) -> dict:
    return {"global": {"evaluation_interval": "1s"},
            "rule_files": [str(Path(p).resolve()) for p in rule_files]}


@contextlib.contextmanager
def run_multicluster(
    clusters: Sequence[str] = ("eu-west", "us-east"),
    speed: float = 60.0,
    scenario: str = "ci",
    rule_files: Sequence[Path | str] | None = None,
    node_exporter: bool | None = None,
    startup_timeout: float = 90.0,
) -> Iterator[MultiClusterStack]:
    prom = find_binary(PROMETHEUS_BIN)
    if prom is None:
        raise HarnessError(f"{PROMETHEUS_BIN} not found on PATH")
    node_bin = find_binary(NODE_EXPORTER_BIN)
    if node_exporter is None:
        node_exporter = node_bin is not None
    if node_exporter and node_bin is None:
        raise HarnessError(f"{NODE_EXPORTER_BIN} not found on PATH")
    label = cluster_label()
    rules = project_rule_files() if rule_files is None else [Path(p) for p in rule_files]
    workdir = Path(tempfile.mkdtemp(prefix="multicluster-"))
    procs: list[_Proc] = []
    session = requests.Session()
    try:
        central_port = free_port()
        central_url = f"http://127.0.0.1:{central_port}"
        cfg = workdir / "central.yml"
        cfg.write_text(yaml.safe_dump(central_config(rules), sort_keys=False))
        central = _spawn("central", [
            prom, f"--config.file={cfg}", f"--storage.tsdb.path={workdir / 'central-data'}",
            f"--web.listen-address=127.0.0.1:{central_port}", "--web.enable-remote-write-receiver",
            "--storage.tsdb.retention.time=1d", "--log.level=warn"], workdir)
        procs.append(central)
        _wait_http(central, f"{central_url}/-/ready", startup_timeout)

        demo_urls: dict[str, str] = {}
        agent_urls: dict[str, str] = {}
        demos: dict[str, _Proc] = {}
        for i, cluster in enumerate(clusters):
            demo_port = free_port()
            demo = _spawn(f"demo-{cluster}", [
                sys.executable, "-m", "demo", "--port", str(demo_port), "--speed", f"{speed:g}",
                "--scenario", scenario, "--seed", str(7 + i)], workdir, cwd=REPO_ROOT)
            procs.append(demo)
            demos[cluster] = demo
            demo_urls[cluster] = f"http://127.0.0.1:{demo_port}"
            targets = {DEMO_JOB: f"127.0.0.1:{demo_port}"}
            if node_exporter:
                node_port = free_port()
                procs.append(_spawn(f"node-{cluster}", [
                    node_bin, f"--web.listen-address=127.0.0.1:{node_port}",
                    "--collector.disable-defaults",
                    *(f"--collector.{c}" for c in NODE_COLLECTORS)], workdir))
                targets[NODE_JOB] = f"127.0.0.1:{node_port}"
            agent_port = free_port()
            acfg = workdir / f"agent-{cluster}.yml"
            acfg.write_text(yaml.safe_dump(
                agent_config(cluster, label, targets, f"{central_url}/api/v1/write"),
                sort_keys=False))
            agent = _spawn(f"agent-{cluster}", [
                prom, "--enable-feature=agent", f"--config.file={acfg}",
                f"--storage.agent.path={workdir / f'agent-{cluster}-wal'}",
                f"--web.listen-address=127.0.0.1:{agent_port}", "--log.level=warn"], workdir)
            procs.append(agent)
            agent_urls[cluster] = f"http://127.0.0.1:{agent_port}"

        first = clusters[0]
        for cluster, demo in demos.items():
            _wait_http(demo, f"{demo_urls[cluster]}/metrics", startup_timeout,
                       check=lambda text: "demo_simulated_time_seconds" in text)
        started = _demo_start_time(session.get(f"{demo_urls[first]}/metrics", timeout=5).text,
                                   speed)
        jobs = (DEMO_JOB, *((NODE_JOB,) if node_exporter else ()))
        stack = PromStack(central_url, demo_urls[first], speed, scenario, started or time.time(),
                          cfg, workdir / "central-data", jobs, [])
        want = {(c, j) for c in clusters for j in jobs}
        deadline = time.monotonic() + startup_timeout
        while True:
            up = {(r["metric"].get(label), r["metric"].get("job")): r["value"][1]
                  for r in stack.query("up")}
            if all(up.get(k) == "1" for k in want):
                break
            for proc in procs:
                if proc.popen.poll() is not None:
                    raise HarnessError(f"{proc.name} exited with {proc.popen.returncode}:\n"
                                       f"{proc.tail()}")
            if time.monotonic() > deadline:
                raise HarnessError(f"central Prometheus did not receive every cluster's `up` "
                                   f"after {startup_timeout:g}s: {up}")
            time.sleep(0.5)
        yield MultiClusterStack(stack, tuple(clusters), label, demo_urls, agent_urls)
    finally:
        session.close()
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)

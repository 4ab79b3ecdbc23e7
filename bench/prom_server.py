"""Start and stop a real Prometheus (/usr/bin/prometheus) on a free loopback port, and backfill.

Benchmark plumbing: a temp data dir, no scrape targets, stopped (and waited for) on exit.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

import requests

from bench.common import free_port, log

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def version(binary: str = PROMETHEUS) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return "not installed"
    first = (out.stdout or out.stderr).splitlines()
    return first[0] if first else "unknown"


def backfill_openmetrics(source: Path, data_dir: Path) -> float:
    """`promtool tsdb create-blocks-from openmetrics`; 24 h blocks, so promtool reads the input
    twice rather than once per 2 h block. Returns wall seconds."""
    start = time.perf_counter()
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics",
                    "--max-block-duration=24h", str(source), str(data_dir)],
                   check=True, capture_output=True, text=True)
    return time.perf_counter() - start


class Prometheus:
    """`with Prometheus(data_dir) as prom: prom.url` — a real server on 127.0.0.1:<free port>."""

    def __init__(self, data_dir: Path, config_text: str = "global:\n  scrape_interval: 15s\n",
                 extra_args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.config_text = config_text
        self.extra_args = extra_args
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Path = data_dir.parent / f"prometheus-{data_dir.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        config = self.data_dir.parent / f"prometheus-{self.data_dir.name}.yml"
        config.write_text(self.config_text, encoding="utf-8")
        self.port = free_port()
        with self._log.open("wb") as log_file:
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.data_dir}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--storage.tsdb.retention.time=3650d", "--log.level=warn", *self.extra_args],
                stdout=subprocess.DEVNULL, stderr=log_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited ({self.proc.returncode}): "
                                   f"{self._log.read_text(errors='replace')[-500:]}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Prometheus:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def backfill_rules(prom_url: str, rules_file: Path, start: int, end: int, out_dir: Path,
                   eval_interval: str = "15s") -> float:
    """`promtool tsdb create-blocks-from rules` against a running server. Returns wall seconds."""
    began = time.perf_counter()
    out = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "rules", f"--start={start}",
                          f"--end={end}", f"--url={prom_url}", f"--output-dir={out_dir}",
                          f"--eval-interval={eval_interval}", str(rules_file)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"rules backfill failed: {(out.stderr or out.stdout).strip()[-500:]}")
    log(f"query: backfilled {rules_file.name} in {time.perf_counter() - began:.1f} s")
    return time.perf_counter() - began

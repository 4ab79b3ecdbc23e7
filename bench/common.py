"""Shared helpers: timing child processes (wall time + peak RSS), medians, tables, ports."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ProcResult:
    """One child process run: wall seconds, peak resident memory (MiB), exit code, output."""

    wall_s: float
    maxrss_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(argv: Sequence[str], cwd: Path | None = None,
                 env: dict[str, str] | None = None, timeout: float = 900) -> ProcResult:
    """Run argv and measure that child alone (os.wait4 gives its own rusage, not all children's)."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    chunks: dict[str, str] = {}

    def read(name: str, stream: IO[str]) -> None:
        chunks[name] = stream.read()

    readers = [threading.Thread(target=read, args=("out", proc.stdout)),
               threading.Thread(target=read, args=("err", proc.stderr))]
    for t in readers:
        t.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout)
            time.sleep(0.002)
    except BaseException:
        proc.kill()
        os.waitpid(proc.pid, 0)
        raise
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    for t in readers:
        t.join()
    return ProcResult(wall, usage.ru_maxrss / 1024, proc.returncode,
                      chunks.get("out", ""), chunks.get("err", ""))


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """Noise as 'min–max' (relative to the median), e.g. '±4 %'."""
    if len(values) < 2:
        return "n=1"
    med = median(values)
    if med == 0:
        return "±0 %"
    rel = max(abs(max(values) - med), abs(med - min(values))) / med * 100
    return f"±{rel:.0f} %"


def fmt_s(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ours: float, theirs: float) -> str:
    if not theirs or ours != ours or theirs != theirs:
        return "–"
    return f"{ours / theirs:.2f}×"


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(message: str) -> None:
    """Progress on stderr, so a 15-minute run shows where it is."""
    import sys

    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

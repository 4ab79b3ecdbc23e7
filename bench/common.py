"""Shared helpers: timing child processes (wall time + peak RSS), medians, tables, ports."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ProcResult:
    """One child process run: wall seconds, peak resident memory (MiB), exit code, output, and
    CPU seconds (user + system, the child's own rusage)."""

    wall_s: float
    maxrss_mib: float
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float = float("nan")


# A tiny launcher (python -I -S) forks and execs the measured command and reports its wall time
# and peak RSS. Measuring through it matters: Linux carries the *parent's* peak RSS into a child
# across fork/vfork + exec (ru_maxrss is a high-water mark kept over exec), so a child spawned
# straight from a big benchmark process would report at least the benchmark's own size.
_LAUNCHER = """
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(out, "w") as fh:
    fh.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)} "
             f"{usage.ru_utime + usage.ru_stime}")
"""


def run_measured(argv: Sequence[str], cwd: Path | None = None,
                 env: dict[str, str] | None = None, timeout: float = 900) -> ProcResult:
    """Run argv; its own wall time and peak RSS (see _LAUNCHER), exit code and output."""
    with tempfile.TemporaryDirectory(prefix="bench-measure-") as tmp:
        report = Path(tmp) / "rusage"
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report),
                                 *argv], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        if proc.returncode != 0 or not report.exists():
            return ProcResult(float("nan"), float("nan"), proc.returncode or 1, out, err)
        wall, maxrss_kib, code, cpu = report.read_text().split()
    return ProcResult(float(wall), int(maxrss_kib) / 1024, int(code), out, err, float(cpu))


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

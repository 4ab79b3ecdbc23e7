"""Start-up before/after (issue #18), interleaved in one run: `.venv/bin/python bench/startup_ab.py
[N]` from the repository root. A = as before this change (every command module imported, the
rules round-trip parsed by PyYAML's pure-Python loader); B = as now. CPU = user + sys of each
child process (os.wait4), medians of N interleaved runs; prints markdown table rows."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD = ("import yaml, grafana_sync.rules as r; r._SAFE_LOADER = yaml.SafeLoader\n"
       "import grafana_sync.commands.build, grafana_sync.commands.check, grafana_sync.commands.diff,"
       " grafana_sync.commands.import_, grafana_sync.commands.lint, grafana_sync.commands.pull,"
       " grafana_sync.commands.push\n")
RUN = "import sys\nfrom grafana_sync.cli import main\nmain(sys.argv[1:])\n"


def child(code: str, args: list[str]) -> tuple[float, float]:
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"grafana-sync {' '.join(args)} failed")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - began


def main(runs: int) -> None:
    for args in (["build", "--check"], ["lint"], ["--version"]):
        a, b = [], []
        for _ in range(runs):
            a.append(child(OLD + RUN, args))
            b.append(child(RUN, args))
        ca, cb = (statistics.median(x[0] for x in s) for s in (a, b))
        wa, wb = (statistics.median(x[1] for x in s) for s in (a, b))
        print(f"| `grafana-sync {' '.join(args)}` | {ca * 1000:.0f} ms | {cb * 1000:.0f} ms | "
              f"{cb / ca:.2f}× | {wa * 1000:.0f} ms | {wb * 1000:.0f} ms |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)

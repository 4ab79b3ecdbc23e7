"""The header of a results section: when, on what machine, with which versions, which command."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata

from bench.common import REPO_ROOT
from bench.prom_server import PROMETHEUS, PROMTOOL, version


def _meminfo_gib() -> str:
    try:
        for line in open("/proc/meminfo", encoding="ascii"):
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "?"


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except OSError:
        return "?"


def _pkg(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def command_line(argv: list[str]) -> str:
    python = os.path.relpath(sys.executable, REPO_ROOT) if sys.executable.startswith(
        str(REPO_ROOT)) else sys.executable
    return shlex.join([python, "bench/run.py", *argv])


def header(argv: list[str], label: str) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    lines = [
        f"## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — {label}",
        "",
        f"- Command: `{command_line(argv)}`" + (" (what `make bench` runs)" if not argv else ""),
        f"- Machine: {os.cpu_count()} CPUs ({_cpu_model()}), {_meminfo_gib()} RAM, "
        f"{platform.system()} {platform.release()}; load average at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        f"- Python {platform.python_version()}, grafanalib {_pkg('grafanalib')}, requests "
        f"{_pkg('requests')}; {version(PROMETHEUS)}; promtool: {version(PROMTOOL)}",
        f"- Repository commit: {_git_commit()}",
        "",
    ]
    return "\n".join(lines)

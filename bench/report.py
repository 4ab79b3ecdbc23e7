"""The header of a results section: when, on what machine, with which versions, which command."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

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


RESULTS_MARKER = "# Results"


def history_path(output: Path) -> Path:
    """Where older runs of `output` go: `docs/benchmarks.md` -> `docs/benchmarks-history.md`."""
    return output.with_name(f"{output.stem}-history{output.suffix}")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    if path.exists():
        os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)


def record(output: Path, body: str, *, full: bool) -> Path | None:
    """Write a results section to `output`, which keeps only the latest full run.

    `output` is its own prose (everything above a `# Results` line) followed by the results of
    the latest full run and of any partial (`--only`) runs made after it. A full run moves every
    section below `# Results` to the history file (see `history_path`, newest first) and takes
    their place; a partial run is appended below the latest full run. Returns the history file
    when one was written. Both writes are atomic and keep the files' permissions.
    """
    text = output.read_text(encoding="utf-8") if output.exists() else \
        "# Benchmarks\n\nResults written by `make bench`.\n"
    head, marker, old = text.partition("\n" + RESULTS_MARKER + "\n")
    if not marker:
        head, old = text, ""
    head = head.rstrip("\n") + "\n\n" + RESULTS_MARKER + "\n\n"
    old = old.strip("\n")
    moved = None
    if full and old:
        moved = history_path(output)
        if moved.exists():
            hist = moved.read_text(encoding="utf-8")
        else:
            hist = (f"# Benchmark history\n\nOlder runs moved out of `{output.name}` by "
                    "`make bench` (newest first).\n\n")
        hist_head, sep, hist_rest = hist.partition("\n## ")
        hist_text = hist_head.rstrip("\n") + "\n\n" + old + "\n\n"
        if sep:
            hist_text += "## " + hist_rest
        _atomic_write(moved, hist_text.rstrip("\n") + "\n")
        old = ""
    new = head + (old + "\n\n" if old else "") + body.strip("\n") + "\n"
    _atomic_write(output, new)
    return moved

"""Push benchmark: `grafana-sync push` (a subprocess, as a user runs it) vs a naive upload loop.

Against bench/fake_grafana_server.py (benchmark harness) with a per-request latency, for each
dashboard count: first push into an empty server, no-op push (nothing changed), one dashboard
changed; the naive loop (bench/naive_upload.py) re-posts everything every time. Reported: wall
time (median of `runs`, a fresh server per run) and HTTP requests the server received.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO_ROOT, fmt_ratio, fmt_s, log, md_table, median, run_measured, spread
from bench.fake_grafana_server import BenchGrafanaServer
from bench.gen_dashboards import write_definitions

BIN = Path(sys.executable).parent
FOLDER = "ml-monitoring"
SCENARIOS = ("first push", "no-op push", "one changed")
LARGE = 500  # sets this big get at most two runs
TUNED_JOBS = 16  # push's --jobs default (4 writes in flight) vs 16
#: Issue #18's push targets: (dashboards, latency ms, scenario, wall limit s or None, ratio limit)
TARGETS = ((100, 20, "no-op push", 0.5, 0.2), (500, 20, "first push", None, 0.3))


@dataclass
class Cell:
    walls: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)


@dataclass
class PushResult:
    count: int
    latency_ms: int
    ours: dict[str, Cell] = field(default_factory=lambda: {s: Cell() for s in SCENARIOS})
    tuned: dict[str, Cell] = field(default_factory=lambda: {s: Cell() for s in SCENARIOS})
    naive: dict[str, Cell] = field(default_factory=lambda: {s: Cell() for s in SCENARIOS})


def compile_dashboards(work: Path, count: int) -> list[Path]:
    """Compile `count` generated dashboards once; return the JSON files."""
    ours, _theirs = write_definitions(work / "defs", count)
    out = work / "compiled"
    result = run_measured([str(BIN / "grafana-sync"), "build", "--dashboards-dir", str(ours),
                           "--output-dir", str(out)], cwd=work)
    if result.returncode != 0:
        raise RuntimeError(f"build for the push benchmark failed: {result.stderr.strip()[-300:]}")
    return sorted(out.rglob("*.json"))


def make_project(root: Path, files: list[Path]) -> Path:
    """A project folder push can run in: compiled JSON in a folder, provider and datasource."""
    dash_dir = root / "provisioning" / "dashboards" / FOLDER
    dash_dir.mkdir(parents=True)
    for path in files:
        shutil.copy(path, dash_dir / path.name)
    for sub in ("dashboards", "datasources"):
        (root / "provisioning" / sub).mkdir(parents=True, exist_ok=True)
        for yml in sorted((REPO_ROOT / "provisioning" / sub).glob("*.yaml")):
            shutil.copy(yml, root / "provisioning" / sub / yml.name)
    return dash_dir


def change_one(dash_dir: Path) -> None:
    first = sorted(dash_dir.glob("*.json"))[0]
    data = json.loads(first.read_text(encoding="utf-8"))
    data["title"] = data["title"] + " (changed)" if not data["title"].endswith(")") else \
        data["title"].removesuffix(" (changed)")
    first.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _push(server: BenchGrafanaServer, project: Path, jobs: int | None = None) -> tuple[float, int]:
    env = {**os.environ, "PROMETHEUS_URL": "http://prometheus:9090"}
    env.pop("GRAFANA_TOKEN", None)
    server.reset_counts()
    result = run_measured([str(BIN / "grafana-sync"), "push", "--url", server.url, "--token",
                           server.token, "--message", "bench",
                           *(["--jobs", str(jobs)] if jobs else [])], cwd=project, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"grafana-sync push failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()[-400:]}")
    return result.wall_s, server.total_requests()


def _naive(server: BenchGrafanaServer, dash_dir: Path) -> tuple[float, int]:
    server.reset_counts()
    files = [str(p) for p in sorted(dash_dir.glob("*.json"))]
    result = run_measured([sys.executable, str(Path(__file__).with_name("naive_upload.py")),
                           server.url, server.token, FOLDER, *files])
    if result.returncode != 0:
        raise RuntimeError(f"naive upload failed: {result.stderr.strip()[-300:]}")
    return result.wall_s, server.total_requests()


def _one_tool(tool: str, files: list[Path], latency_ms: int, cells: dict[str, Cell]) -> None:
    """First push, no-op push, one changed — against one fresh server."""
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp, \
            BenchGrafanaServer(latency_ms / 1000) as server:
        dash_dir = make_project(Path(tmp), files)
        for scenario in SCENARIOS:
            if scenario == "one changed":
                change_one(dash_dir)
            if tool == "naive":
                wall, requests_made = _naive(server, dash_dir)
            else:
                wall, requests_made = _push(server, Path(tmp),
                                            TUNED_JOBS if tool == "tuned" else None)
            cells[scenario].walls.append(wall)
            cells[scenario].requests.append(requests_made)
        if server.dashboard_count() != len(files):
            raise RuntimeError(f"{tool}: server holds {server.dashboard_count()} dashboards, "
                               f"expected {len(files)}")


def bench_one(files: list[Path], latency_ms: int, runs: int) -> PushResult:
    res = PushResult(len(files), latency_ms)
    for _ in range(runs):
        for tool, cells in (("ours", res.ours), ("tuned", res.tuned), ("naive", res.naive)):
            _one_tool(tool, files, latency_ms, cells)
    return res


def run(sizes: list[int], latencies_ms: list[int], runs: int) -> tuple[str, list[PushResult]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-push-src-") as tmp:
        files = compile_dashboards(Path(tmp), max(sizes))
        for count in sizes:
            # the 500-dashboard set at 20 ms takes ~100 s per run (the naive loop alone posts
            # 1,500 times): two runs there keep `make bench` within its 15 minutes
            size_runs = runs if count < LARGE else min(runs, 2)
            for latency in latencies_ms:
                log(f"push: {count} dashboards, {latency} ms latency, {size_runs} run(s)")
                results.append(bench_one(files[:count], latency, size_runs))
    return render(results, runs), results


def render(results: list[PushResult], runs: int) -> str:
    rows = []
    for r in results:
        for scenario in SCENARIOS:
            o, t, n = r.ours[scenario], r.tuned[scenario], r.naive[scenario]
            rows.append([r.count, f"{r.latency_ms} ms", scenario,
                         f"{fmt_s(median(o.walls))} ({spread(o.walls)})", int(median(o.requests)),
                         f"{fmt_s(median(t.walls))} "
                         f"({fmt_ratio(median(t.walls), median(o.walls))})",
                         f"{fmt_s(median(n.walls))} ({spread(n.walls)})", int(median(n.requests)),
                         fmt_ratio(median(o.walls), median(n.walls))])
    text = (f"Median of {runs} run(s) (at most 2 for {LARGE}+ dashboards), each against a "
            "fresh bench/fake_grafana_server.py "
            "(benchmark harness: Grafana's API shapes, in memory, with the given latency added "
            "to every answer). `grafana-sync push --url … --token …` runs as a subprocess with "
            "its defaults (`--jobs 4` writes and `--read-jobs 16` reads in flight, datasource "
            "from provisioning/datasources); the naive loop "
            "is bench/naive_upload.py (sequential `requests.post` of every file with "
            "`overwrite: true`). Wall time includes interpreter start-up. The server sets "
            "TCP_NODELAY and writes each answer at once, as Go's net/http does.\n\n")
    text += md_table(["dashboards", "latency", "scenario", "grafana-sync push (--jobs 4)",
                      "requests", f"push --jobs {TUNED_JOBS} (vs 4)", "naive POST loop",
                      "requests", "ratio push/naive"], rows)
    return text + render_targets(results)


def render_targets(results: list[PushResult]) -> str:
    """Issue #18's push targets, read off this run's table (wall medians, interpreter start-up
    included; the ratio is push / naive loop in the same run)."""
    rows = []
    for count, latency, scenario, wall_limit, ratio_limit in TARGETS:
        r = next((x for x in results if x.count == count and x.latency_ms == latency), None)
        if r is None:
            continue
        ours, naive = median(r.ours[scenario].walls), median(r.naive[scenario].walls)
        ratio = ours / naive
        met = ratio <= ratio_limit and (wall_limit is None or ours <= wall_limit)
        limits = (f"≤ {wall_limit} s and " if wall_limit is not None else "") + \
            f"≤ {ratio_limit}× naive"
        rows.append([f"{scenario} of {count} at {latency} ms", limits,
                     f"{fmt_s(ours)}, {fmt_ratio(ours, naive)}", "met" if met else "**not met**"])
    if not rows:
        return ""
    return "\n\nIssue #18 push targets in this run:\n\n" + md_table(
        ["target", "limit", "measured (push, push/naive)", "status"], rows)

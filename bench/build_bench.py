"""Build benchmark: `grafana-sync build` vs grafanalib's `generate-dashboards`, same definitions.

Cases per dashboard set: full build (empty output folder, so no incremental cache either),
no-op rebuild (nothing changed: the incremental build skips every source), one definition
changed (exactly one source must be compiled: the count is read from build's summary line);
grafanalib's CLI has no notion of "unchanged", so it is timed once per run (it rewrites every
file every time). Full build, no-op rebuild and generate-dashboards alternate run by run, so
their ratios are taken under the same machine load. Every timing is a separate child process,
measured alone (wall time, CPU time and its own peak RSS via wait4).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    REPO_ROOT,
    ProcResult,
    fmt_ratio,
    fmt_s,
    log,
    md_table,
    median,
    run_measured,
    spread,
)
from bench.gen_dashboards import toggle_one, write_definitions

BIN = Path(sys.executable).parent


@dataclass
class Case:
    """Repeated measurements of one (dashboard set, tool, scenario)."""

    walls: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # sources the incremental build skipped

    def add(self, result: ProcResult, what: str) -> None:
        if result.returncode != 0:
            raise RuntimeError(f"{what} failed (exit {result.returncode}): "
                               f"{(result.stderr or result.stdout).strip()[-400:]}")
        self.walls.append(result.wall_s)
        self.rss.append(result.maxrss_mib)
        self.cpus.append(result.cpu_s)
        found = re.search(r"(\d+) source\(s\) skipped", result.stdout)
        self.skipped.append(int(found.group(1)) if found else 0)


@dataclass
class SetResult:
    name: str
    dashboards: int
    panels: int
    ours_first: Case = field(default_factory=Case)
    ours_noop: Case = field(default_factory=Case)
    ours_one_changed: Case = field(default_factory=Case)
    theirs: Case = field(default_factory=Case)
    theirs_note: str = ""


def _ours(defs: Path, out: Path, cwd: Path) -> ProcResult:
    return run_measured([str(BIN / "grafana-sync"), "build", "--dashboards-dir", str(defs),
                         "--output-dir", str(out)], cwd=cwd)


def _theirs(files: list[Path], cwd: Path, pythonpath: Path | None = None) -> ProcResult:
    env = dict(os.environ)
    if pythonpath is not None:  # generate-dashboards does not put the module's folder on sys.path
        env["PYTHONPATH"] = str(pythonpath)
    return run_measured([str(BIN / "generate-dashboards"), *map(str, files)], cwd=cwd, env=env)


def _measure(result: SetResult, defs: Path, theirs_files: list[Path], work: Path, runs: int,
             pythonpath: Path | None = None) -> None:
    out = work / "out"
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        result.ours_first.add(_ours(defs, out, work), f"grafana-sync build ({result.name})")
        result.ours_noop.add(_ours(defs, out, work), f"grafana-sync build no-op ({result.name})")
        if theirs_files:
            result.theirs.add(_theirs(theirs_files, work, pythonpath),
                              f"generate-dashboards ({result.name})")
    for _ in range(runs):
        toggle_one(defs)
        result.ours_one_changed.add(_ours(defs, out, work), f"one changed ({result.name})")


def bench_generated(count: int, runs: int, panels: int = 20) -> SetResult:
    result = SetResult(f"generated {count}", count, count * panels)
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        work = Path(tmp)
        ours, theirs = write_definitions(work, count, panels)
        _measure(result, ours, sorted(theirs.glob("*.dashboard.py")), work, runs)
    return result


def bench_repository(runs: int) -> SetResult | None:
    """The repository's own dashboards/; modules exposing a `dashboards` list are skipped by
    generate-dashboards (it only reads a variable called `dashboard`)."""
    source = REPO_ROOT / "dashboards"
    if not source.is_dir():
        return None
    modules = sorted(p for p in source.glob("*.py") if not p.name.startswith("_"))
    if not modules:
        return None
    with tempfile.TemporaryDirectory(prefix="bench-build-repo-") as tmp:
        work = Path(tmp)
        defs = work / "dashboards"
        shutil.copytree(source, defs, ignore=shutil.ignore_patterns("__pycache__"))
        theirs_dir = work / "theirs"
        shutil.copytree(source, theirs_dir, ignore=shutil.ignore_patterns("__pycache__"))
        theirs_files, skipped = [], []
        for module in modules:
            text = module.read_text(encoding="utf-8")
            if "\ndashboard =" in text or "\ndashboard: " in text:
                target = theirs_dir / f"{module.stem}.dashboard.py"
                (theirs_dir / module.name).rename(target)
                theirs_files.append(target)
            else:
                skipped.append(module.name)
        probe = _ours(defs, work / "probe", work)
        count = probe.stdout.count("created ")
        shutil.rmtree(work / "probe", ignore_errors=True)
        result = SetResult("repository dashboards/", count, _panel_count(work, defs))
        if skipped:
            result.theirs_note = (f"generate-dashboards skipped {', '.join(skipped)} "
                                  "(no `dashboard` variable)")
        _measure_repo(result, defs, theirs_files, work, runs, theirs_dir)
    return result


def _panel_count(work: Path, defs: Path) -> int:
    """Panels (rows excluded) in the compiled output of defs."""
    import json

    out = work / "count"
    _ours(defs, out, work)
    total = 0
    for path in out.rglob("*.json"):
        for panel in json.loads(path.read_text()).get("panels", []):
            nested = panel.get("panels", []) if panel.get("type") == "row" else []
            total += len(nested) if panel.get("type") == "row" else 1
    shutil.rmtree(out, ignore_errors=True)
    return total


def _measure_repo(result: SetResult, defs: Path, theirs_files: list[Path], work: Path,
                  runs: int, theirs_dir: Path) -> None:
    out = work / "out"
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        result.ours_first.add(_ours(defs, out, work), "grafana-sync build (repository)")
        result.ours_noop.add(_ours(defs, out, work), "grafana-sync build no-op (repository)")
        if theirs_files:
            result.theirs.add(_theirs(theirs_files, work, theirs_dir),
                              "generate-dashboards (repository)")


def run(sizes: list[int], runs: int, include_repo: bool = True) -> tuple[str, list[SetResult]]:
    results: list[SetResult] = []
    if include_repo:
        log("build: repository dashboards")
        repo = bench_repository(runs)
        if repo is not None:
            results.append(repo)
    for count in sizes:
        log(f"build: {count} generated dashboards x {runs} runs")
        results.append(bench_generated(count, runs))
    return render(results, runs), results


def _ratio_cell(ours: Case, theirs: Case) -> str:
    """'wall ratio (CPU ratio)' of the medians."""
    if not ours.walls or not theirs.walls:
        return "–"
    return (f"{fmt_ratio(median(ours.walls), median(theirs.walls))} "
            f"(CPU {fmt_ratio(median(ours.cpus), median(theirs.cpus))})")


def render(results: list[SetResult], runs: int) -> str:
    rows = []
    for r in results:
        ours, theirs = median(r.ours_first.walls), median(r.theirs.walls)
        compiled = (f"{r.dashboards - max(r.ours_one_changed.skipped)} of {r.dashboards}"
                    if r.ours_one_changed.walls else "–")
        rows.append([
            r.name, r.dashboards, r.panels,
            f"{fmt_s(ours)} ({spread(r.ours_first.walls)})",
            f"{fmt_s(theirs)} ({spread(r.theirs.walls)})" if r.theirs.walls else "–",
            _ratio_cell(r.ours_first, r.theirs),
            f"{fmt_s(median(r.ours_noop.walls))} ({spread(r.ours_noop.walls)})",
            _ratio_cell(r.ours_noop, r.theirs),
            fmt_s(median(r.ours_one_changed.walls)) if r.ours_one_changed.walls else "–",
            _ratio_cell(r.ours_one_changed, r.theirs) if r.ours_one_changed.walls else "–",
            compiled,
            f"{median(r.ours_first.rss):.0f}",
            f"{median(r.theirs.rss):.0f}" if r.theirs.rss else "–",
            fmt_ratio(median(r.ours_first.rss), median(r.theirs.rss)) if r.theirs.rss else "–",
        ])
    notes = [f"- {r.name}: {r.theirs_note}" for r in results if r.theirs_note]
    text = (f"Median of {runs} run(s) per cell, each a fresh child process (interpreter start and "
            "imports included); ± is the largest deviation from the median. Ratios are ours / "
            "generate-dashboards, wall time (CPU time = user + system in brackets). Full build "
            "= empty output folder (no incremental cache); no-op = nothing changed; one changed = "
            "one definition edited, \"compiled\" = sources the build compiled then (the rest it "
            "proved unchanged). Peak RSS is the child's own `ru_maxrss` (wait4), full build.\n\n")
    text += md_table(
        ["dashboard set", "dashboards", "panels", "grafana-sync build (full)",
         "generate-dashboards", "full / theirs", "no-op rebuild", "no-op / theirs",
         "one changed", "one changed / theirs", "compiled", "peak RSS ours (MiB)",
         "peak RSS theirs (MiB)", "RSS ours / theirs"], rows)
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    return text

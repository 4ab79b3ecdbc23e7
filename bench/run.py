"""`make bench`: measure build, push, dashboard query cost and the instrumentation library;
write the tables to docs/benchmarks.md (latest full run; older runs go to
docs/benchmarks-history.md). `--quick` writes nothing tracked.

Run as `.venv/bin/python bench/run.py [--quick] [--only build|push|query|instr] ...` from the
repo root.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click  # noqa: E402

from bench.common import REPO_ROOT, log  # noqa: E402

PARTS = ("build", "push", "query", "instr", "sizing")
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "benchmarks.md"


def _sizes(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--quick", is_flag=True,
              help="Smoke run: small sizes, one run each, tiny TSDB (about a minute).")
@click.option("--only", "only", multiple=True, type=click.Choice(PARTS),
              help="Run only this part (repeatable). Default: all of them.")
@click.option("--runs", type=click.IntRange(1, 20), default=None,
              help="Repetitions per measurement (default 3, --quick 1).")
@click.option("--build-sizes", default=None,
              help="Generated dashboard counts (default 10,100,1000).")
@click.option("--push-sizes", default=None, help="Dashboard counts to push (default 10,100,500).")
@click.option("--latencies-ms", default="0,20", show_default=True,
              help="Per-request latency of the fake Grafana server, in ms.")
@click.option("--models", type=int, default=None, help="Query bench: models (default 10).")
@click.option("--versions", type=int, default=3, show_default=True,
              help="Query bench: versions per model.")
@click.option("--features", type=int, default=30, show_default=True,
              help="Query bench: features per model.")
@click.option("--hours", type=float, default=24.0, show_default=True,
              help="Query bench: hours of history.")
@click.option("--query-baseline", default=None, metavar="GITREF",
              help="Query bench: also measure the dashboards (and recording rules) committed at "
                   "GITREF, in the same passes, and report before/after per dashboard.")
@click.option("--no-evidently", is_flag=True,
              help="Instrumentation bench: skip Evidently (otherwise installed once in "
                   ".venv-bench-evidently).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Markdown file the results are written to (default docs/benchmarks.md; "
                   "a full run moves the previous runs to its -history file). --quick writes "
                   "nothing unless --output is given.")
@click.option("--no-write", is_flag=True, help="Print the results only; write nothing.")
def main(quick: bool, only: tuple[str, ...], runs: int | None, build_sizes: str | None,
         push_sizes: str | None, latencies_ms: str, models: int | None, versions: int,
         features: int, hours: float, query_baseline: str | None, no_evidently: bool,
         output: Path,
         no_write: bool) -> None:
    """Benchmark `grafana-sync build` and `push` against the obvious alternatives, and the
    dashboards' query cost on a real, backfilled Prometheus, with and without recording rules.

    Results (markdown tables: medians, noise, ratios) go to stdout and to --output with the date,
    machine, versions and the exact command: a full run replaces the previous runs there (moved
    to the -history file), a partial run (--only) is added below the latest full run; --quick
    writes nothing unless --output is given.
    """
    from bench import report
    from bench.gen_openmetrics import Scale

    parts = only or PARTS
    runs = runs or (1 if quick else 3)
    began = time.perf_counter()
    sections: list[str] = []
    if "build" in parts:
        from bench import build_bench

        sizes = _sizes(build_sizes or ("10,100" if quick else "10,100,1000"))
        text, _ = build_bench.run(sizes, runs)
        sections.append("### Build\n\n" + text)
    if "push" in parts:
        from bench import push_bench

        sizes = _sizes(push_sizes or ("10,100" if quick else "10,100,500"))
        text, _ = push_bench.run(sizes, _sizes(latencies_ms), runs)
        sections.append("### Push\n\n" + text)
    if "query" in parts:
        from bench import query_bench

        scale = Scale(models=models or (2 if quick else 10), versions=2 if quick else versions,
                      features=6 if quick else features, hours=hours)
        text, _ = query_bench.run(scale, runs, baseline=query_baseline)
        sections.append("### Dashboard query cost\n\n" + text)
    if "instr" in parts:
        from bench import instr_bench

        text, _ = instr_bench.run(runs, quick=quick, with_evidently=not no_evidently)
        sections.append("### Instrumentation library (ml_monitoring)\n\n" + text)
    if "sizing" in parts:
        from bench import sizing
        from bench.query_bench import rule_files

        fleet = [2, 4] if quick else [10, 50]
        text, _ = sizing.run(fleet, 6 if quick else features, rule_files(),
                             settle_s=15 if quick else 45)
        sections.append("### Sizing (when one Prometheus stops being enough)\n\n" + text)
    elapsed = time.perf_counter() - began
    label = "quick smoke run" if quick else "full run"
    if only:
        label += f" ({', '.join(parts)})"
    body = report.header(sys.argv[1:], label) + "\n" + "\n".join(sections) + \
        f"\nTotal benchmark wall time: {elapsed / 60:.1f} min.\n\n"
    click.echo(body)
    if quick and output is None:
        no_write = True  # a smoke run never touches tracked files
    if not no_write:
        output = output or DEFAULT_OUTPUT
        moved = report.record(output, body, full=not (only or quick))
        if moved is not None:
            log(f"moved the previous runs to {moved}")
        log(f"wrote results to {output}")

if __name__ == "__main__":
    main()

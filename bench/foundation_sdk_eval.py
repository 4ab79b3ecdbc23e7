"""Would the panel library be better on Grafana's foundation SDK? Measure, don't guess.

The same dashboard (N time series + N stat panels with unit, thresholds, legend and tooltip, one
Prometheus query each) is written twice: with this project's panel library (grafanalib
`ModernPanel`, dashboards/_lib/panels.py) and with the foundation SDK's builders. For each:
import time (fresh interpreter), time to construct and encode, time to compile (normalise +
layout), how many leaf values the normaliser still has to add, change or remove, and how much
the installed library weighs. Run: .venv/bin/python bench/foundation_sdk_eval.py [--panels N]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "dashboards"))

from grafana_sync.compile import compile_dashboard  # noqa: E402
from grafana_sync.sources import to_raw_json  # noqa: E402

UNIT, WARN, CRIT = "s", 0.5, 1.0


def ours(n: int) -> Any:
    from _lib.layout import layout, section
    from _lib.panels import higher_is_bad, q, stat, timeseries
    from grafanalib.core import Dashboard

    panels = []
    for i in range(n):
        panels.append(timeseries(f"Latency {i}", "p95 latency; bad: above 0.5 s.",
                                 [q(f"histogram_quantile(0.95, sum by (le) (rate(x{i}_bucket"
                                    "[$__rate_interval])))", "p95")],
                                 unit=UNIT, steps=higher_is_bad(WARN, CRIT), w=12, h=8))
        panels.append(stat(f"Errors {i}", "Error ratio; bad: above 1 %.",
                           [q(f"sum(rate(e{i}_total[$__rate_interval]))")], unit="percentunit",
                           steps=higher_is_bad(0.01, 0.05), w=12, h=8))
    return Dashboard(title="eval", uid="eval-ours", panels=layout([section("eval", *panels)]))


def sdk(n: int) -> Any:
    from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, timeseries
    from grafana_foundation_sdk.models import common as cm
    from grafana_foundation_sdk.models import dashboard as dm

    def steps(warn: float, crit: float) -> Any:
        return (dashboard.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps([
            dm.Threshold(color="green", value=None), dm.Threshold(color="orange", value=warn),
            dm.Threshold(color="red", value=crit)]))

    builder = dashboard.Dashboard("eval").uid("eval-sdk").with_row(dashboard.Row("eval"))
    for i in range(n):
        builder = builder.with_panel(
            timeseries.Panel().title(f"Latency {i}").description("p95 latency; bad: above 0.5 s.")
            .unit(UNIT).thresholds(steps(WARN, CRIT)).height(8).span(12)
            .legend(common.VizLegendOptions().show_legend(True).display_mode(
                cm.LegendDisplayMode.TABLE).placement(cm.LegendPlacement.BOTTOM)
                .calcs(["lastNotNull", "max"]))
            .tooltip(common.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI)
                     .sort(cm.SortOrder.DESCENDING))
            .with_target(prometheus.Dataquery().expr(
                f"histogram_quantile(0.95, sum by (le) (rate(x{i}_bucket[$__rate_interval])))")
                .legend_format("p95")))
        builder = builder.with_panel(
            stat.Panel().title(f"Errors {i}").description("Error ratio; bad: above 1 %.")
            .unit("percentunit").thresholds(steps(0.01, 0.05)).height(8).span(12)
            .with_target(prometheus.Dataquery().expr(f"sum(rate(e{i}_total[$__rate_interval]))")))
    return builder


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, val in value.items():
            out.update(leaves(val, f"{path}.{key}"))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, val in enumerate(value):
            out.update(leaves(val, f"{path}[{i}]"))
        return out
    return {path: value}


def normaliser_edits(raw: dict[str, Any], compiled: dict[str, Any]) -> tuple[int, int]:
    """(edits in panels, panels): leaves added, changed or removed under `panels`."""
    before = {k: v for k, v in leaves(raw).items() if k.startswith(".panels")}
    after = {k: v for k, v in leaves(compiled).items() if k.startswith(".panels")}
    edits = sum(1 for k in before.keys() | after.keys() if before.get(k, object()) != after.get(k))
    return edits, len(compiled.get("panels", []))


def median_time(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_time(stmt: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", stmt], check=True, cwd=REPO / "dashboards")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def installed_kb(module: str) -> int:
    spec = __import__(module)
    root = Path(spec.__file__).parent
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--panels", type=int, default=100, help="panels of each kind")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    n, runs = args.panels, args.runs
    rows = []
    for name, make, imports, module in (
        ("panel library (grafanalib)", ours, "import grafanalib.core", "grafanalib"),
        ("foundation SDK builders", sdk, "from grafana_foundation_sdk.builders import common, "
         "dashboard, prometheus, stat, timeseries", "grafana_foundation_sdk"),
    ):
        obj = make(n)
        raw = to_raw_json(obj, Path(f"{name}.py"))
        compiled = compile_dashboard(obj, Path(f"{name}.py"), None).data
        edits, panels = normaliser_edits(raw, compiled)
        rows.append({
            "source": name,
            "import_s": import_time(imports, runs),
            "construct_encode_s": median_time(lambda make=make: to_raw_json(make(n), Path("x.py")),
                                              runs),
            "compile_s": median_time(lambda obj=obj: compile_dashboard(obj, Path("x.py"), None),
                                     runs),
            "normaliser_edits_per_panel": round(edits / panels, 1),
            "installed_kb": installed_kb(module),
            "compiled_bytes": len(json.dumps(compiled, sort_keys=True, indent=2)),
        })
    print(f"# {2 * n} panels, median of {runs}; Python {platform.python_version()}, "
          f"{platform.machine()}, {platform.system()} {platform.release()}")
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{row[k]:.3f}" if isinstance(row[k], float) else str(row[k])
                                for k in keys) + " |")


if __name__ == "__main__":
    main()

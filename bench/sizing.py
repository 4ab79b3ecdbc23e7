"""Sizing: how many series a model costs, and what they cost one Prometheus (docs/scale-out.md).

For each fleet size, the benchmark's generator (bench/gen_openmetrics.py: every family of the
metrics contract, all areas, `features` per model) renders one current exposition; a tiny HTTP
server serves it (counters advance on every scrape, so rates are not zero) to a real Prometheus
scraping it every `scrape_s` seconds and evaluating the project's compiled rules
(prometheus/rules/*.yml) at the same interval. After `settle_s` seconds the benchmark reads
Prometheus's own metrics: head series, resident memory, and the last evaluation time of every
rule group. From those it derives series per model, bytes per series, rule evaluation seconds
per cycle, and the fleet size at which one Prometheus reaches the limits in the report.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from bench.common import free_port, log, md_table
from bench.gen_openmetrics import Scale, _families_and_series, _labels
from bench.prom_server import Prometheus

# Where one Prometheus is commonly considered to need help (planning limits, not measurements):
# a memory budget for a dedicated server, and rule evaluation filling this share of the interval.
MEMORY_BUDGET_GIB = 16
RULE_BUSY_SHARE = 0.5


def exposition(scale: Scale) -> tuple[list[str], int]:
    """Prometheus text lines `name{labels}` (one per series) and the series count."""
    names: list[str] = []
    for family, series in _families_and_series(scale):
        for pairs in series:
            if family.type == "counter":
                names.append(family.name + "_total" + _labels(pairs))
            elif family.type == "histogram":
                for le in family.buckets:
                    names.append(family.name + "_bucket" + _labels({**pairs, "le": le}))
                names.append(family.name + "_sum" + _labels(pairs))
                names.append(family.name + "_count" + _labels(pairs))
            else:
                names.append(family.name + _labels(pairs))
    return names, len(names)


class _Exporter:
    """Serves the exposition; every scrape adds 1 to every sample (counters move, gauges too)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.scrapes = 0
        self.port = free_port()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                exporter.scrapes += 1
                value = f" {exporter.scrapes}\n"
                body = (value.join(exporter.names) + value).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Exporter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class SizingResult:
    models: int
    series_exposed: int
    head_series: float
    rss_bytes: float
    rule_seconds: float  # sum of every group's last evaluation time: one evaluation cycle
    rule_groups: int
    scrape_s: int


def _self_metrics(url: str) -> dict[str, float]:
    text = requests.get(f"{url}/metrics", timeout=30).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("prometheus_tsdb_head_series ", "process_resident_memory_bytes ")):
            name, value = line.split()
            out[name] = float(value)
        elif line.startswith("prometheus_rule_group_last_duration_seconds{"):
            out["rule_seconds"] = out.get("rule_seconds", 0.0) + float(line.rsplit(" ", 1)[1])
            out["rule_groups"] = out.get("rule_groups", 0) + 1
    return out


def measure(models: int, features: int, rule_files: list[Path], scrape_s: int = 5,
            settle_s: int = 60) -> SizingResult:
    names, count = exposition(Scale(models=models, versions=3, features=features))
    with _Exporter(names) as exporter, tempfile.TemporaryDirectory(prefix="bench-sizing-") as tmp:
        rules = "".join(f"  - {p.resolve()}\n" for p in rule_files) or "  []\n"
        config = (f"global:\n  scrape_interval: {scrape_s}s\n  evaluation_interval: {scrape_s}s\n"
                  f"  scrape_timeout: {scrape_s}s\n"
                  f"rule_files:\n{rules}"
                  f"scrape_configs:\n  - job_name: sizing\n    static_configs:\n"
                  f"      - targets: ['127.0.0.1:{exporter.port}']\n")
        data = Path(tmp) / "data"
        data.mkdir()
        with Prometheus(data, config_text=config) as prom:
            time.sleep(settle_s)
            metrics = _self_metrics(prom.url)
    return SizingResult(models, count, metrics.get("prometheus_tsdb_head_series", 0.0),
                        metrics.get("process_resident_memory_bytes", 0.0),
                        metrics.get("rule_seconds", 0.0), int(metrics.get("rule_groups", 0)),
                        scrape_s)


def run(fleet: list[int], features: int, rule_files: list[Path],
        settle_s: int = 60) -> tuple[str, list[SizingResult]]:
    results = []
    for models in fleet:
        log(f"sizing: {models} models × 3 versions × {features} features")
        results.append(measure(models, features, rule_files, settle_s=settle_s))
    return render(results, features), results


def render(results: list[SizingResult], features: int) -> str:
    rows = []
    for r in results:
        rows.append([r.models, f"{r.series_exposed:,}", f"{r.head_series:,.0f}",
                     f"{r.series_exposed / r.models:,.0f}",
                     f"{r.series_exposed / 15:,.0f}", f"{r.rss_bytes / 2**20:,.0f} MiB",
                     f"{r.rule_seconds * 1000:,.0f} ms ({r.rule_groups} groups)"])
    text = (f"Fleet of N models × 3 versions × {features} features, every area of the contract "
            f"(generator: bench/gen_openmetrics.py), scraped and evaluated every "
            f"{results[0].scrape_s if results else 5} s by one real Prometheus with the compiled "
            "rules; figures read from Prometheus's own metrics after the settle time.\n\n")
    text += md_table(["models", "series exposed", "head series (incl. rule outputs)",
                      "series / model", "samples/s at 15 s scrape", "Prometheus RSS",
                      "rule evaluation / cycle"], rows) + "\n"
    if len(results) >= 2:
        small, big = results[0], results[-1]
        per_model_series = (big.head_series - small.head_series) / (big.models - small.models)
        per_model_bytes = (big.rss_bytes - small.rss_bytes) / (big.models - small.models)
        per_model_rules = (big.rule_seconds - small.rule_seconds) / (big.models - small.models)
        text += (f"\nMarginal cost of one model: {per_model_series:,.0f} head series, "
                 f"{per_model_bytes / 2**20:,.2f} MiB of Prometheus memory "
                 f"({per_model_bytes / max(per_model_series, 1):,.0f} bytes per series), "
                 f"{per_model_rules * 1000:,.2f} ms of rule evaluation per cycle.\n")
        if per_model_bytes > 0:
            mem_limit = (MEMORY_BUDGET_GIB * 2**30 - small.rss_bytes) / per_model_bytes + small.models
            text += (f"A {MEMORY_BUDGET_GIB} GiB Prometheus holds about {mem_limit:,.0f} models "
                     f"({mem_limit * per_model_series / 1e6:,.1f} M series) at this scale. ")
        if per_model_rules > 0:
            for interval in (15, 60):
                limit = (RULE_BUSY_SHARE * interval) / per_model_rules
                text += (f"Rule evaluation fills {RULE_BUSY_SHARE:.0%} of a {interval} s "
                         f"evaluation interval at about {limit:,.0f} models. ")
        text += "\n"
    return text


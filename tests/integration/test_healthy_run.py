"""A long healthy run fires nothing and turns no panel red (issue #22, part B).

The demo's `healthy` scenario (the traffic every scenario has between its incidents) for several
demo-hours, in a few real minutes: `python -m demo --scenario healthy --speed SPEED`, a real
Prometheus (1 s scrapes and evaluations) loading the project's rules compiled time-scaled by the
same speed (grafana_sync.timescale via grafana_sync.rules.render_time_scaled: every `for`, range
window and window constant divided by SPEED, so one rule-minute is one demo-minute), the
Pushgateway for the batch-evaluation job, and a real Alertmanager with the shipped route tree,
every receiver pointed at the local webhook sink (as `make demo` renders it).

Judged over the whole run, after a warm-up of WARM_UP_DEMO_SECONDS:

- alerts: no `ALERTS{alertstate="firing"}` sample, Alertmanager received nothing and notified
  nobody; no alert pending for more than MAX_PENDING_SHARE of its `for` window in one stretch;
- panels: every target of every compiled dashboard, with its variables and Grafana macros
  resolved as `grafana-sync check` resolves them (grafana_sync.check: saved selections, All,
  `$__rate_interval` from the run's scrape interval, as a Grafana data source set to it would
  compute it, `$__range` = the run), evaluated over the run
  (instant targets too: a user may look at any moment), and no sample inside the panel's red
  region (tests/panelreds.py: Grafana's colour rule, shown able to fail in
  tests/unit/test_healthy_noise.py).

Not judged: the node panels (node_exporter is not started: on a CI machine they show that
machine's own load, which is not the demo's to keep green).

The noise budget (pending share per alert, closest approach to red per panel) is printed and,
with HEALTHY_RUN_REPORT=path, written as JSON: docs/alerts.md quotes it.
HEALTHY_RUN_SECONDS (wall seconds, default 420) and HEALTHY_RUN_SEED (the demo's --seed, default
7) run it longer or on other traffic draws.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests
import yaml

from tests import panelreds
from tests.integration.test_alerts_alertmanager import webhook_sink  # noqa: F401 - fixture
from tests.promharness import HarnessError, require_binary, run_stack
from tests.unit.test_dashboards import compiled_dashboards

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
SPEED = 30.0  # one wall second = 30 demo-seconds
RUN_WALL_SECONDS = float(os.environ.get("HEALTHY_RUN_SECONDS", 420))  # 7 min: 3.5 demo-hours
# the demo's --seed (its traffic draws): another seed is another healthy day to measure noise on
SEED = int(os.environ.get("HEALTHY_RUN_SEED", 7))
WARM_UP_DEMO_SECONDS = 15 * 60  # rates and ratios over a few scrapes settle first
STEP = 2.0  # seconds between judged samples (80 demo-seconds)
MAX_PENDING_SHARE = 0.5  # of its `for` window, in one stretch
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# No panel is allowed any red sample: the five once allowed a bounded share (docs/decisions.md,
# "No panel red on healthy traffic") were each fixed in the panel, its threshold or the demo.
LOADED = 2.0  # 5-minute load average per core above which a failing verdict is reported, not judged
# Not the demo's traffic: the harness's own target. On a loaded machine a /metrics answer slower
# than the scrape timeout makes Prometheus see the demo down (and its series stale) for a few
# scrapes; MLModelTargetDown and MLModelStoppedReporting then report exactly that. They are
# excused only at moments when `up` of the demo really was 0, and reported.
SCRAPE_STALL_ALERTS = {"MLModelTargetDown", "MLModelStoppedReporting"}
SCRAPE = "2s"  # scrape and evaluation interval: 1 s timeouts stall too often under load


def _alertmanager_binary() -> str:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        message = "prometheus-alertmanager not found (apt-get install prometheus-alertmanager)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture
def alertmanager_demo(tmp_path, webhook_sink):  # noqa: F811 - the imported fixture
    """The shipped Alertmanager config rendered as `make demo` does, in a real Alertmanager:
    ("127.0.0.1:PORT", path of the webhook sink's output)."""
    sys.path.insert(0, str(REPO / "scripts"))
    import render_demo_config

    from tests.promharness import free_port

    binary = _alertmanager_binary()
    port = free_port()
    config = render_demo_config.render_alertmanager(
        yaml.safe_load((REPO / "prometheus" / "alertmanager.yml").read_text()),
        tmp_path / "secrets", REPO / "prometheus" / "templates",
        webhook_url=f"http://127.0.0.1:{webhook_sink[0]}")
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    log = open(tmp_path / "alertmanager.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"alertmanager exited: {(tmp_path / 'alertmanager.log').read_text()}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("alertmanager not ready after 30 s")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}", webhook_sink[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def scaled_rules(out: Path, resolution: float) -> list[Path]:
    from grafana_sync.rules import render_time_scaled
    from grafana_sync.timescale import TimeScale

    render_time_scaled(REPO / "rules", out, TimeScale(SPEED, resolution=resolution))
    files = sorted(out.glob("*.yml"))
    assert files, "no rules rendered"
    return files


def _seconds(duration: str) -> float:
    from grafana_sync.timescale import parse_duration

    return parse_duration(duration)


def _stack_options() -> dict:
    """2 s scrapes where the harness offers them (tests/promharness.py `scrape_interval`)."""
    import inspect

    return ({"scrape_interval": SCRAPE}
            if "scrape_interval" in inspect.signature(run_stack).parameters else {})


def for_windows(rule_files: list[Path]) -> dict[str, float]:
    """alertname -> its (scaled) `for` in seconds (the longest when severities differ)."""
    from grafana_sync.timescale import parse_duration

    out: dict[str, float] = {}
    for path in rule_files:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    out[rule["alert"]] = max(out.get(rule["alert"], 0.0),
                                             parse_duration(rule.get("for", "0s")))
    return out


def panel_queries(prometheus_url: str, start: float, end: float) -> list[tuple]:
    """(uid, panel, target, query as Grafana would send it) for every panel target."""
    from grafana_sync.check import Checker, CheckOptions, PrometheusAPI

    dashboards = compiled_dashboards()
    # the scrape interval the run's Prometheus uses: a data source set to 1 s while scrapes come
    # every 2 s gave 4 s rate windows of two samples (one interval, extrapolated to twice the
    # requests that error_ratio_point_min_requests counts)
    scrape = _seconds(_stack_options().get("scrape_interval", "1s"))
    checker = Checker(PrometheusAPI(prometheus_url),
                      CheckOptions(range_seconds=end - start, at=end, scrape_interval=scrape))
    report = checker.run(sorted(dashboards.items()))
    out = []
    for dash in report.dashboards:
        panels = {p.get("id"): p for p in _walk(dashboards[dash.uid].get("panels", []))}
        for prep in dash.panels:
            panel = panels[prep.id]
            targets = {t.get("refId"): t for t in panel.get("targets", [])}
            for trep in prep.targets:
                out.append((dash.uid, panel, targets[trep.ref_id], trep.query))
    return out


def _walk(panels):
    for p in panels:
        yield p
        yield from _walk(p.get("panels", []))


def _episodes(values: list[list], step: float) -> list[float]:
    """Lengths (seconds) of the runs of consecutive samples in a range-query series."""
    runs, start, last = [], None, None
    for ts, _ in values:
        ts = float(ts)
        if last is not None and ts - last > step * 1.5:
            runs.append(last - start + step)
            start = None
        if start is None:
            start = ts
        last = ts
    if start is not None:
        runs.append(last - start + step)
    return runs


def _closest(panel: dict, target: dict, result: list[dict]) -> tuple[float, float] | None:
    """(value closest to the red region of its series, distance as a share of the red
    boundary)."""
    best = None
    for series in result:
        name = panelreds.legend(str(target.get("legendFormat") or ""), series.get("metric") or {})
        regions = panelreds.series_red_regions(panel, name)
        for _, text in series.get("values", []):
            v = float(text)
            if math.isnan(v):
                continue
            for low, high in regions:
                edge = low if v < low else high if v >= high else v
                if math.isinf(edge):
                    continue
                gap = abs(edge - v) / (abs(edge) or 1.0)
                if best is None or gap < best[1]:
                    best = (v, gap)
    return best


def test_long_healthy_run_fires_nothing_and_turns_no_panel_red(tmp_path, alertmanager_demo):
    require_binary("prometheus")
    require_binary("prometheus-pushgateway")
    am_target, sink_log = alertmanager_demo
    options = _stack_options()
    step = _seconds(options.get("scrape_interval", "1s"))
    rules = scaled_rules(tmp_path / "rules", step)
    fors = for_windows(rules)
    try:
        stack_cm = run_stack(speed=SPEED, scenario="healthy", seed=SEED, rule_files=rules,
                             node_exporter=False, pushgateway=True, alertmanager=am_target,
                             **options)
        with stack_cm as stack:
            judged_from = stack.sim_to_wall(WARM_UP_DEMO_SECONDS)
            end = stack.demo_started_at + RUN_WALL_SECONDS
            time.sleep(max(end - time.time(), 0))
            end = time.time()

            # --- alerts ----------------------------------------------------------------------
            down = {float(ts) for s in stack.query_range('up{job="ml-model"} == 0',
                                                          judged_from, end, step)
                    for ts, _ in s["values"]}
            stalls = len(down)

            def stalled(series: dict) -> bool:
                """An alert the harness's stalled scrapes explain, at a moment `up` was 0
                (or just after: the alert is evaluated a step later)."""
                return (series["metric"]["alertname"] in SCRAPE_STALL_ALERTS and all(
                    any(abs(float(ts) - d) <= 3 * step for d in down)
                    for ts, _ in series["values"]))

            firing = [s for s in stack.query_range('ALERTS{alertstate="firing"}', judged_from,
                                                   end, step) if not stalled(s)]
            pending = stack.query_range('ALERTS{alertstate="pending"}', judged_from, end, step)
            evaluations = (end - judged_from) / step
            noise: dict[str, dict] = {}
            too_long = []
            for series in pending:
                name = series["metric"]["alertname"]
                key = " ".join(f"{k}={v}" for k, v in sorted(series["metric"].items())
                               if k in ("alertname", "model", "version", "severity"))
                if stalled(series):
                    continue
                runs = _episodes(series["values"], step)
                entry = noise.setdefault(name, {"pending_share": 0.0, "longest_for_share": 0.0})
                entry["pending_share"] += len(series["values"]) / evaluations
                share = max(runs) / fors[name] if fors.get(name) else 1.0
                entry["longest_for_share"] = max(entry["longest_for_share"], share)
                if share > MAX_PENDING_SHARE:
                    too_long.append(f"{key}: pending {max(runs):.0f}s of its {fors.get(name)}s for")
            am_alerts = [a for a in requests.get(f"http://{am_target}/api/v2/alerts",
                                                 timeout=10).json()
                         if a["labels"].get("alertname") not in SCRAPE_STALL_ALERTS]

            # --- panels ------------------------------------------------------------------------
            reds = []
            closest: dict[str, dict] = {}
            for uid, panel, target, query in panel_queries(stack.prometheus_url,
                                                           judged_from, end):
                if not panelreds.can_turn_red(panel):
                    continue
                result = stack.query_range(query, judged_from, end, STEP)
                samples = sum(len(s.get("values", [])) for s in result)
                red = panelreds.red_samples(panel, target, result)
                where = f"{uid} / {panel['title']} / {target['refId']}"
                if red:
                    by_name: dict[str, list[float]] = defaultdict(list)
                    for name, _, value in red:
                        by_name[name].append(value)
                    detail = "; ".join(f"{n}: {len(v)}x, e.g. {v[len(v) // 2]:.4g}"
                                       for n, v in sorted(by_name.items())[:4])
                    reds.append(f"{where}: {len(red)} of {samples} samples red ({detail})")
                near = _closest(panel, target, result)
                if near is not None:
                    closest[where] = {"closest_value": near[0], "gap_share": near[1],
                                      "samples": samples}
    except HarnessError as exc:
        pytest.fail(f"stack did not start: {exc}")

    report = {"speed": SPEED, "seed": SEED, "wall_seconds": end - judged_from,
              "demo_hours": (end - judged_from) * SPEED / 3600, "alerts": noise,
              "panels": closest, "scrape_stalls": stalls}
    print(json.dumps(report, indent=1, sort_keys=True))
    if os.environ.get("HEALTHY_RUN_REPORT"):
        Path(os.environ["HEALTHY_RUN_REPORT"]).write_text(json.dumps(report, indent=1,
                                                                     sort_keys=True))
    sink = [line for line in sink_log.read_text().splitlines() if "FIRING" in line
            and not any(f" {name} " in line for name in SCRAPE_STALL_ALERTS)]
    problems = [
        *(f"firing: {' '.join(f'{k}={v}' for k, v in sorted(s['metric'].items()) if k != '__name__')}"
          for s in firing),
        *(f"in Alertmanager: {a['labels']}" for a in am_alerts),
        *(f"notified: {line}" for line in sink),
        *(f"pending too long: {x}" for x in too_long),
        *(f"red: {x}" for x in reds),
    ]
    assert closest, "no panel was judged (queries returned nothing)"
    load = os.getloadavg()[1]  # 5-minute average, over most of the run
    if problems and load > LOADED * (os.cpu_count() or 1):
        # The verdict is about the demo's traffic; on a host this loaded, late scrapes and late
        # demo ticks distort the windows (seen: canary error alerts and concept drift at z = 4
        # in a run beside a 50-model benchmark, while the same tree passed idle). Reported, not
        # judged; on an idle machine (CI) every problem fails.
        pytest.xfail(f"host load {load:.1f} on {os.cpu_count()} cores; not judged:\n"
                     + "\n".join(problems))
    assert problems == [], "\n".join(problems)

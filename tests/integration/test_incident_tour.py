"""The demo's incident tour against time-scaled rules, on real Prometheus and Alertmanager.

`python -m demo --scenario default --speed 20` plays every incident kind once, one after another
(demo/scenario.py); the rules are rendered time-scaled to the same speed
(grafana_sync.timescale: one rule-minute is one demo-minute), Prometheus scrapes and evaluates
every 2 s (40 demo-seconds; a 2 s scrape timeout absorbs a loaded machine) and sends to a real
Alertmanager whose receivers all notify a local webhook sink (as `make demo` does). After the
tour (150 demo-minutes, 7.5 wall minutes) the firing history is read back from Prometheus
(`ALERTS{alertstate="firing"}` at the evaluation step) and checked, in demo-minutes since the
demo started:

- for each of the eight incident kinds, each expected alert fires on the right model (and
  version) within its stated time of the incident's start and has resolved within its stated
  time of the incident's end, and Alertmanager notified the sink of it;
- nothing unrelated fires: every firing interval of every alert is explained by an entry of
  ALLOWED (the expected alerts and the named side effects of an incident, each with its model
  and the window it may fire in); anything else, or anything firing before the first incident,
  fails.

`TOUR_REPORT=docs/alert-tour.md` writes the measured times (docs/alerts.md quotes them):

    TOUR_REPORT=docs/alert-tour.md .venv/bin/python -m pytest -m e2e tests/integration/test_incident_tour.py

Timing slack: every fire/resolve bound is the worked-out time (docs/alerts.md) plus at least 5
demo-minutes (15 wall seconds) for scrape phase, evaluation lag and a loaded 2-core machine.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from demo.scenario import CANCER, CHAT, CODE, MINUTE, SCENARIOS, WINE
from ml_monitoring.config import LABELED_WINDOW, load_config
from tests.promharness import IN_CI, HarnessError, free_port, require_binary, run_stack

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.e2e]

sys.path.insert(0, str(REPO / "scripts"))
import render_demo_config  # noqa: E402

SPEED = 20.0
SCRAPE = 2  # seconds: scrape timeout and evaluation interval too (40 demo-seconds)
SCENARIO = SCENARIOS["default"]
END = 150.0  # demo-minutes: the last incidents end at 135, plus time to resolve
ANY = None


@dataclass(frozen=True)
class Allowed:
    """An alert that may fire (on series with these labels) from `start` until `until`
    (demo-minutes). `fire_by` set: it MUST fire, first by then; `resolved_by`: and be resolved by
    then. `notified`: Alertmanager must print it at the sink (False: inhibited, or not needed)."""

    kind: str
    alert: str
    labels: dict = field(default_factory=dict)
    start: float = 0.0
    until: float = END
    fire_by: float | None = None
    resolved_by: float | None = None
    notified: bool = True
    longest: float | None = None  # a firing interval may last at most this long (demo-minutes)

    def matches(self, labels: dict) -> bool:
        return labels["alertname"] == self.alert and all(
            labels.get(k) == v for k, v in self.labels.items())


def _minutes(kind: str, model: str | None = None) -> tuple[float, float | None]:
    inc = SCENARIO.incident(kind, model)
    return inc.start / MINUTE, None if inc.end is None else inc.end / MINUTE


def _expect(kind: str, alert: str, labels: dict, fire_after: float, resolve_after: float,
            model: str | None = None, notified: bool = True, end: float | None = None) -> Allowed:
    """Must fire within `fire_after` of the incident's start, resolve within `resolve_after` of
    its end (or of `end`, for an incident without one)."""
    start, inc_end = _minutes(kind, model)
    stop = end if end is not None else inc_end
    return Allowed(kind, alert, labels, start, stop + resolve_after, start + fire_after,
                   stop + resolve_after, notified)


def _side(kind: str, alert: str, labels: dict, after_end: float, model: str | None = None,
          end: float | None = None) -> Allowed:
    """May fire while the incident runs and up to `after_end` after it."""
    start, inc_end = _minutes(kind, model)
    stop = end if end is not None else inc_end
    return Allowed(kind, alert, labels, start, stop + after_end)


ROLLOUT_DONE = 85.0  # cancer-screening v2 becomes production 20 demo-minutes after 65
V1, V2 = {"version": "v1"}, {"version": "v2"}

# The eight incident kinds: what each must raise, fire-by after the start / resolved-by after the
# end (demo-minutes). Worked out in docs/alerts.md; 5+ minutes of slack on each.
EXPECTED: list[Allowed] = [
    # drift window (400 rows, ~2 min at 3 req/s) + `for` 15m: it fires as the 15-minute incident
    # ends, sometimes for one evaluation only, which Alertmanager's group_wait may never send
    _expect("feature_drift", "MLFeatureDrift",
            {"model": CANCER, "feature": "mean_texture", "method": "psi"}, 22, 10, notified=False),
    # p95 over 5m crosses within a minute, `for` 5m; resolves when the 5m window clears
    _expect("latency_spike", "MLLatencySLOBreach",
            {"model": CANCER, **V1, "severity": "critical"}, 12, 10),
    # 1h ratio clears its noise margin after ~2 min, `for` 5m; the 5m ratio clears 5 min after,
    # later while its healthy noise sits above 1 % (the 1h ratio still holds the burst): 10.3 seen
    _expect("error_burst", "MLErrorRatioHigh", {"model": WINE, **V1, "severity": "warning"}, 13, 15),
    # labels arrive ~2 min late, the 1000-label window (~7 min of v1) turns, `for` 15m
    _expect("accuracy_drop", "MLModelQualityBelowBaseline",
            {"model": WINE, **V1, "metric": "accuracy"}, 25, 15),
    # the 20 % canary v2 too. Its accuracy is released once the labelled accuracy of the last
    # 10 minutes (~360 labels) is back within the baseline by `quality_release_z` standard errors:
    # labels ~2 min late + 10m, then a noise draw (simulated at the demo's label rate: 90 % by
    # ~14 min after the labels' end, 99 % by ~24, tests/unit/test_quality_release.py); at the
    # latest its 1000-label gauge (~28 min of v2's labels, the canary lag of issue #22) turns ~26
    # min after. A CI run at z = 3 resolved it at 20.3: a bound of 20 is a coin toss. The bound
    # is the gauge's, as for its other metrics, which have no counters and lag (side effects).
    _expect("accuracy_drop", "MLModelQualityBelowBaseline",
            {"model": WINE, **V2, "metric": "accuracy"}, 25, 35),
    # 10 % then 50 % canary, p95 ~1.5x production's, `for` 5m; resolves at promotion (85)
    _expect("version_rollout", "MLRolloutLatencyRegression", {"model": CANCER, **V2}, 19, 5,
            end=ROLLOUT_DONE),
    # cost is a step, `for` 5m
    _expect("cost_jump", "MLCostOverBudget", {"model": CANCER}, 11, 6),
    # the 4000-prediction fairness window (~22 min at 3 req/s) shifts, `for` 10m
    _expect("fairness_gap", "MLFairnessParityOutOfRange",
            {"model": CANCER, **V2, "group": "65_plus"}, 20, 30),
    # the 10m feedback/prediction ratio falls under half its 6h level in ~6 min, `for` 5m
    _expect("feedback_drop", "MLFeedbackVolumeDrop", {"model": WINE}, 17, 12),
]

# What else an incident may raise (each with the reason), and until when after its end.
SIDE_EFFECTS: list[Allowed] = [
    # the other drift methods of the same feature
    _side("feature_drift", "MLFeatureDrift", {"model": CANCER, "feature": "mean_texture"}, 10),
    # inputs outside the training distribution cost accuracy (demo/scenario.py says so)
    _side("feature_drift", "MLModelQualityBelowBaseline", {"model": CANCER, **V1}, 25),
    _side("feature_drift", "MLConceptDrift", {"model": CANCER, **V1}, 25),
    _side("feature_drift", "MLPredictionDrift", {"model": CANCER, **V1}, 10),
    _side("latency_spike", "MLLatencySLOBreach", {"model": CANCER, **V1}, 10),  # warning level
    _side("latency_spike", "MLWorkersSaturated", {"model": CANCER}, 10),  # the queue builds up
    # both versions fail; the 1h window holds the burst for an hour, so a 5m noise blip above
    # 1 % on the healthy model may fire again until then (seen at 95)
    _side("error_burst", "MLErrorRatioHigh", {"model": WINE}, 65),
    _side("error_burst", "MLAuditLogGap", {"model": WINE}, 20),  # audit records dropped; 15m rate + `for` 15m
    _side("error_burst", "MLLatencySLOBreach", {"model": WINE}, 10),  # the failures are timeouts
    # both versions' labels flip: the 20 % canary's quality window (1000 labels ~ 28 min of v2)
    # turns last (issue #22: the canary lag): its F1, precision, recall, AUC (25-28 seen).
    # MLRolloutQualityRegression compares both versions over the same 30 minutes of labels: not
    # allowed to fire (it did, falsely, before)
    _side("accuracy_drop", "MLModelQualityBelowBaseline", {"model": WINE}, 35),
    _side("accuracy_drop", "MLConceptDrift", {"model": WINE}, 35),
    _side("accuracy_drop", "MLFeedbackPositiveShareLow", {"model": WINE}, 15),
    # a favourable outcome taken from 65_plus moves every group's parity and impact
    _side("fairness_gap", "MLFairnessParityOutOfRange", {"model": CANCER}, 30),
    _side("fairness_gap", "MLDisparateImpactOutOfRange", {"model": CANCER}, 30),
    # not among the eight kinds, but in the tour: the evaluation job and the LLM models
    _side("evaluation_stale", "MLEvaluationFailing", {"model": WINE}, 5),
    _side("evaluation_stale", "MLEvaluationStale", {"model": WINE}, 5),
    _side("evaluation_stale", "MLPushgatewayPushFailing", {"model": WINE}, 5),
    *(_side("llm_kv_saturation", name, {"model": CHAT}, 10) for name in (
        "LLMKVCacheSaturated", "LLMPreemptionBurst", "LLMQueueGrowing", "LLMTTFTErrorBudgetBurn")),
    _side("llm_ttft_spike", "LLMTTFTErrorBudgetBurn", {"model": CODE}, 10),
    _side("llm_eval_regression", "LLMEvaluationScoreLow", {"model": CODE, **V2}, 5),
]

# Not an incident: the demo target itself. Until the demo has trained its models (before demo
# t=0) Prometheus finds it down; and on a loaded machine a /metrics answer slower than the
# scrape timeout for 6 s in a row is 2 demo-minutes down at speed 20 (time scaling turns a
# wall-clock stall into demo-minutes; seen at load 30 with 1 s scrapes). Brief episodes only.
# (At load 35 with 1 s scrapes the stalls came every few demo-minutes, reset every long `for`
# and the tour failed: the reason for 2 s scrapes.)
HARNESS: list[Allowed] = [
    Allowed("start-up", "MLModelTargetDown", {}, start=-60.0, until=1.0),
    Allowed("scrape stall", "MLModelTargetDown", {}, start=0.0, until=END + 5, longest=1.5),
]

ALLOWED = EXPECTED + SIDE_EFFECTS + HARNESS


@dataclass
class Firing:
    labels: dict
    start: float  # demo-minutes
    end: float  # last evaluation seen firing


@dataclass
class TourRun:
    firings: list[Firing]
    sink: str
    last: float  # demo-minutes covered


def _intervals(result: list[dict], t0: float, gap: float) -> list[Firing]:
    out = []
    for series in result:
        labels = {k: v for k, v in series["metric"].items() if k not in ("__name__", "alertstate")}
        times = [float(ts) for ts, _ in series["values"]]
        begin = prev = times[0]
        for ts in times[1:] + [None]:
            if ts is None or ts - prev > gap:
                out.append(Firing(labels, (begin - t0) * SPEED / MINUTE, (prev - t0) * SPEED / MINUTE))
                begin = ts
            if ts is not None:
                prev = ts
    return sorted(out, key=lambda f: (f.start, f.labels["alertname"]))


def _start_process(argv: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as fh:
        return subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _wait_ready(proc: subprocess.Popen, url: str, log: Path, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not ready at {url}: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _print_canary_comparison(stack, t0: float, now: float) -> None:
    """Measured figures for docs/alerts.md ("The canary lag"), printed: wine-cultivar's labelled
    accuracy per version over LABELED_WINDOW (recorded), and MLRolloutQualityRegression's slack
    (production - quality_drop_warn - ratio_noise_z standard errors - canary: positive = its
    condition holds), per phase of the tour."""
    cfg = load_config(REPO / "monitoring.yaml")
    drop, z = cfg.threshold("quality_drop_warn"), cfg.threshold("ratio_noise_z")
    for model, phases in ((WINE, {"healthy (0-50)": (0, 50), "accuracy_drop (50-65)": (50, 65),
                                  "after (65-150)": (65, END)}),
                          (CANCER, {"rollout canary (65-85)": (65, 85)})):
        series = {}
        for kind, name in (("p", ":ratio_rate.+"), ("n", ":increase.+")):
            expr = f'{{__name__=~"model_version:ml_labeled_predictions.*{name}", model="{model}"}}'
            for r in stack.query_range(expr, t0, now, step=SCRAPE):
                series[kind, r["metric"]["version"]] = {float(ts): float(v) for ts, v in r["values"]}
        print(f"\n{model} labelled accuracy over {LABELED_WINDOW} (v1 production, v2 canary):")
        _print_phases(series, phases, t0, drop, z)


def _print_phases(series: dict, phases: dict, t0: float, drop: float, z: float) -> None:
    for phase, (lo, hi) in phases.items():
        rows = []
        for ts in sorted(series.get(("p", "v2"), {})):
            minute = (ts - t0) * SPEED / MINUTE
            if not lo <= minute < hi or any(ts not in series.get(k, {}) for k in
                                             (("p", "v1"), ("n", "v1"), ("n", "v2"))):
                continue
            pc, pp = series["p", "v2"][ts], series["p", "v1"][ts]
            nc, np_ = series["n", "v2"][ts], series["n", "v1"][ts]
            se = math.sqrt(pc * (1 - pc) / nc + pp * (1 - pp) / np_)
            rows.append((minute, pc, pp, nc, np_, se, pp - drop - z * se - pc))
        if rows:
            worst = max(rows, key=lambda r: r[-1])
            print(f"  {phase}: v2 {min(r[1] for r in rows):.3f}-{max(r[1] for r in rows):.3f} "
                  f"(n {min(r[3] for r in rows):.0f}-{max(r[3] for r in rows):.0f}), "
                  f"v1 {min(r[2] for r in rows):.3f}-{max(r[2] for r in rows):.3f} "
                  f"(n {min(r[4] for r in rows):.0f}-{max(r[4] for r in rows):.0f}), "
                  f"v1-v2 max {max(r[2] - r[1] for r in rows):+.3f}, SE {min(r[5] for r in rows):.4f}-"
                  f"{max(r[5] for r in rows):.4f}, slack max {worst[-1]:+.3f} at {worst[0]:.1f}")


@pytest.fixture(scope="module")
def tour(tmp_path_factory) -> TourRun:
    require_binary("prometheus")
    alertmanager_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if alertmanager_bin is None:
        message = "prometheus-alertmanager not found (apt-get install prometheus-alertmanager)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    work = tmp_path_factory.mktemp("tour")
    am_port, sink_port = free_port(), free_port()
    argv = [str(work), "--prometheus-port", "1", "--alertmanager-port", str(am_port),
            "--pushgateway-port", "1", "--node-exporter-port", "1", "--demo-port", "1",
            "--webhook-port", str(sink_port), "--speed", f"{SPEED:g}",
            "--scrape-interval", f"{SCRAPE}s"]
    assert render_demo_config.main(argv) == 0
    rules = sorted((work / "rules").glob("*.yml"))
    sink_log = work / "sink.log"
    procs = [_start_process([sys.executable, str(REPO / "scripts" / "webhook_sink.py"),
                             "--port", str(sink_port)], sink_log)]
    try:
        am_log = work / "alertmanager.log"
        procs.append(_start_process(
            [alertmanager_bin, f"--config.file={work / 'alertmanager.yml'}",
             f"--storage.path={work / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
             "--cluster.listen-address="], am_log))
        _wait_ready(procs[-1], f"http://127.0.0.1:{am_port}/-/ready", am_log, "alertmanager")
        try:
            with run_stack(speed=SPEED, scenario=SCENARIO.name, rule_files=rules,
                           alertmanager=f"127.0.0.1:{am_port}", pushgateway=True,
                           scrape_interval=f"{SCRAPE}s") as stack:
                stack.wait_for_sim_time(END * MINUTE, timeout=END * MINUTE / SPEED + 60)
                time.sleep(3)  # the last evaluations land
                t0, now = stack.demo_started_at, time.time()
                result = stack.query_range('ALERTS{alertstate="firing"}', t0, now, step=SCRAPE)
                firings = _intervals(result, t0, gap=2.5 * SCRAPE)
                _print_canary_comparison(stack, t0, now)
                last = (now - t0) * SPEED / MINUTE
        except HarnessError as exc:
            pytest.fail(f"tour stack did not start: {exc}")
        time.sleep(2)
        run = TourRun(firings, sink_log.read_text(), last)
    finally:
        for proc in reversed(procs):
            _stop(proc)
    print("\nfiring intervals (demo-minutes):")
    for f in firings:
        shown = {k: v for k, v in f.labels.items() if k not in ("job", "instance", "cluster")}
        print(f"  {f.start:6.1f} .. {f.end:6.1f}  {shown}")
    report = os.environ.get("TOUR_REPORT")
    if report:
        _write_report(Path(report), run)
    return run


def _first_fire(run: TourRun, exp: Allowed) -> Firing | None:
    hits = [f for f in run.firings if exp.matches(f.labels) and f.start >= exp.start]
    return min(hits, key=lambda f: f.start) if hits else None


def _resolved_at(run: TourRun, exp: Allowed) -> float | None:
    """When the episode the incident started ended: the last end of the matching intervals that
    began between the first fire and the expected resolution (several series, or one series
    interrupted for an evaluation, are one episode)."""
    first = _first_fire(run, exp)
    if first is None:
        return None
    bound = exp.resolved_by if exp.resolved_by is not None else exp.until
    ends = [f.end for f in run.firings if exp.matches(f.labels) and first.start <= f.start <= bound]
    return max(ends)


def _write_report(path: Path, run: TourRun) -> None:
    lines = [
        "<!-- written by tests/integration/test_incident_tour.py (TOUR_REPORT=...) -->",
        f"Measured on the default tour at --speed {SPEED:g} with time-scaled rules, {SCRAPE} s "
        f"scrapes ({SCRAPE * SPEED / 60:.2f} demo-minutes per evaluation); load average "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        "| incident kind | alert | labels | starts | fired after | ends | resolved after |",
        "|---|---|---|---|---|---|---|",
    ]
    for exp in EXPECTED:
        first, last = _first_fire(run, exp), _resolved_at(run, exp)
        start, end = _minutes(exp.kind)
        stop = end if end is not None else ROLLOUT_DONE
        fired = f"{first.start - start:.1f} min" if first else "never"
        resolved = f"{last - stop:+.1f} min" if last is not None else "-"
        shown = ", ".join(f"{k}={v}" for k, v in exp.labels.items())
        lines.append(f"| {exp.kind} | {exp.alert} | {shown} | {start:g} | {fired} | "
                     f"{stop:g} | {resolved} |")
    path.write_text("\n".join(lines) + "\n")


def test_every_incident_kind_fires_its_alert_in_time_and_resolves(tour: TourRun):
    problems = []
    for exp in EXPECTED:
        first = _first_fire(tour, exp)
        if first is None or first.start > exp.fire_by:
            problems.append(f"{exp.kind}: {exp.alert} {exp.labels} should fire by "
                            f"{exp.fire_by:g} (first: {first and round(first.start, 1)})")
            continue
        last = _resolved_at(tour, exp)
        if exp.resolved_by is not None and last > exp.resolved_by:
            problems.append(f"{exp.kind}: {exp.alert} {exp.labels} should be resolved by "
                            f"{exp.resolved_by:g} (still firing at {last:.1f})")
    assert not problems, "\n".join(problems)


def test_nothing_unrelated_fires(tour: TourRun):
    first_incident = min(inc.start for inc in SCENARIO.incidents) / MINUTE
    unexplained = []
    for f in tour.firings:
        ok = any(a.matches(f.labels) and a.start <= f.start and f.end <= a.until
                 and (a.longest is None or f.end - f.start <= a.longest) for a in ALLOWED)
        if not ok:  # healthy traffic included: no alert may fire on it (issue #22)
            unexplained.append(f"{f.start:.1f}..{f.end:.1f} {f.labels}")
    assert not unexplained, (f"alerts no incident explains (first incident at "
                             f"{first_incident:g}):\n" + "\n".join(unexplained))


def test_alertmanager_notified_the_sink(tour: TourRun):
    lines = [x for x in tour.sink.splitlines() if " FIRING " in x]
    missing = [
        f"{exp.alert} {exp.labels}" for exp in EXPECTED if exp.notified and not any(
            f" {exp.alert} " in x and f"model={exp.labels['model']}" in x for x in lines)
    ]
    assert not missing, "no FIRING notification at the sink for:\n" + "\n".join(missing) + \
        "\nsink:\n" + tour.sink[-3000:]

"""Each serving stack end to end: `python -m demo --stack NAME` + its adapter rules on a real
Prometheus.

1. The adapter's request rate, error ratio, mean latency and p95 (seconds) match what the demo
   served, read from the demo's ground truth (`demo_truth_*`: requests by status, and the
   latency the stack's own series cover in the stack's own buckets converted to seconds) at the
   timestamp the rule was evaluated (or one scrape earlier: a scrape in flight when the rule
   ran is not in its input). Tolerances: rate and mean 2 % relative (a scrape can land
   between the rule's evaluation and the check, and a stack's sidecar endpoint is scraped apart
   from the truth), error ratio 0.005 absolute, p95 5 % relative (same bucket bounds, so the
   quantiles interpolate alike, but a seconds histogram's percentile is computed by a second
   rule group from the first group's bucket rates, up to one evaluation later, during the
   scenario's latency incident). TorchServe's per-model errors are
   the host's share by design (docs/stacks/torchserve.md): its error ratio is compared with the
   host's and its mean with the documented estimate.
   The truth is split into series as the stack splits the native series (by status code or
   not; demo/stacks/base.py): Prometheus extrapolates each series' rate apart, so only
   alike-split series give alike rates while the series are younger than the 5m window. A
   truth split otherwise once put KServe's wine-cultivar p95 at 1.0 s in the adapter against
   0.05 s in the truth, as its share of 1-2 s timeouts crossed 5 %
   (tests/unit/test_stack_adapters.py reproduces it on promtool), and TorchServe's canary
   request rate 6 % off.
2. Model load signals: where the stack reports them (LOAD_SIGNALS, docs/stacks/<stack>.md),
   every version the demo loaded is `ml_model_loaded` 1 and its load time is the demo's, under
   the version label the stack's load signal has; elsewhere the adapter records neither.
3. `grafana-sync check` over every compiled dashboard: the only empty panels are the ones
   docs/stacks/<stack>.md lists under "Panels this stack leaves empty".

triton runs in `make test`; the others are `e2e` (`make test-e2e`, also in CI).
"""

from __future__ import annotations

import pytest

from grafana_sync.check import EMPTY, ERROR, Checker, CheckOptions, PrometheusAPI
from grafana_sync.jsonio import compiled_files, load_dashboard_file
from tests.promharness import (
    DEMO_JOB,
    PROMETHEUS_BIN,
    REPO_ROOT,
    HarnessError,
    require_binary,
    run_stack,
)
from tests.stacks.support import SCRAPE, STACKS, TRUTH_JOB, compile_stack_rules, empty_by_design

pytestmark = pytest.mark.integration

FAST = ("triton",)
WARM_UP_SIM_SECONDS = 20 * 60
MV = "model_version:ml_inference"
# Error ratio: absolute. At the demo's ~1 request/s per version a 5-minute window holds a few
# hundred requests, and the native and truth counters come from separate scrapes (KServe's
# queue-proxy and MLServer are extra targets), so their windows differ by up to a scrape or two:
# 0.01 absorbs that and still catches a wrong numerator (errors vs 4xx) or denominator.
RATE_TOL, MEAN_TOL, P95_TOL, RATIO_TOL = 0.02, 0.02, 0.05, 0.01
LOADED, LOAD = "model_version:ml_model_loaded:max", "model_version:ml_model_load_duration_seconds:max"
# which load signals each stack's native metrics give (docs/stacks/<stack>.md says why not)
LOAD_SIGNALS = {"triton": {LOADED, LOAD}, "seldon": {LOADED}, "rayserve": {LOADED},
                "tfserving": {LOAD}, "torchserve": {LOAD}, "kserve": set(), "bentoml": set()}


def _param(stack: str):
    marks = [] if stack in FAST else [pytest.mark.e2e]
    return pytest.param(stack, marks=marks, id=stack)


def _by_mv(result: list[dict]) -> dict[tuple[str, str], float]:
    return {(r["metric"].get("model", ""), r["metric"].get("version", "")): float(r["value"][1])
            for r in result}


def _close(got: float, want: float, rel: float) -> bool:
    return abs(got - want) <= rel * max(abs(want), 1e-9)


@pytest.fixture(scope="module", params=[_param(s) for s in STACKS])
def stack_prometheus(request, tmp_path_factory):
    """One Prometheus + `python -m demo --stack NAME` per stack, shared by this module's tests."""
    stack = request.param
    prom_bin = require_binary(PROMETHEUS_BIN)
    rules = compile_stack_rules(tmp_path_factory.mktemp(f"rules-{stack}"), (stack,))
    try:
        with run_stack(prometheus_bin=prom_bin, speed=60, scenario="ci", rule_files=rules,
                       extra_targets=SCRAPE.get(stack, []),
                       demo_args=["--stack", stack]) as prom:
            prom.wait_for_sim_time(WARM_UP_SIM_SECONDS, timeout=120)
            prom.wait_for(f"{MV}_requests:rate5m", timeout=30)
            yield stack, prom
    except HarnessError as exc:
        pytest.fail(f"Prometheus test stack ({stack}) did not start: {exc}")


def test_adapter_signals_match_what_the_demo_served(stack_prometheus):
    stack, prom = stack_prometheus
    job = f'job=~"{TRUTH_JOB.get(stack, DEMO_JOB)}"'

    def truth(metric: str, *matchers: str) -> str:
        return f"rate({metric}{{{', '.join((job, *matchers))}}}[5m])"

    requests = f"sum by (model, version) ({truth('demo_truth_requests_total')})"
    errors = f"sum by (model, version) ({truth('demo_truth_request_errors_total')})"
    # The rules' last evaluation time: truth is read at that instant and one scrape before it
    # (a scrape still in flight when the rule ran, 1 s interval, is not in the rule's input; on a
    # loaded machine a scrape can land a second later still).
    at = max(float(r["value"][1]) for r in prom.query(f"timestamp({MV}_requests:rate5m)"))
    instants = (at, at - 1.0, at - 2.0)

    def adapter(record: str) -> dict:
        return _by_mv(prom.query(f"{MV}_{record}", at=at))

    def agree(signal: str, got: dict, truth_expr: str, within) -> None:
        wants = [_by_mv(prom.query(truth_expr, at=t)) for t in instants]
        assert set(got) == set(wants[0]), (signal, got, wants[0])
        for key, value in got.items():
            options = [w[key] for w in wants if key in w]
            assert any(within(value, want) for want in options), (signal, key, value, options)

    rel = lambda tol: lambda got, want: _close(got, want, tol)  # noqa: E731
    agree("requests/s", adapter("requests:rate5m"), requests, rel(RATE_TOL))

    ratio = adapter("request_errors_per_ml_inference_requests:ratio_rate5m")
    host_share = f"sum({errors}) / sum({requests})"
    if stack == "torchserve":  # the host's share of errors, the same for every model
        per_model = _by_mv(prom.query(f"{errors}\n/ {requests}", at=at))
        ratio = {k: v for k, v in ratio.items() if k in per_model}
        truth_ratio = f"{requests} * 0 + on() group_left() ({host_share})"
    else:
        truth_ratio = f"{errors}\n/ {requests}"
    agree("error ratio", ratio, truth_ratio, lambda got, want: abs(got - want) <= RATIO_TOL)

    truth_mean = (f"sum by (model, version) ({truth('demo_truth_latency_seconds_sum')})\n"
                  f"/ sum by (model, version) ({truth('demo_truth_latency_seconds_count')})")
    if stack == "torchserve":  # successes estimated with the host's error share:
        # mean x (1 - the model's error ratio) / (1 - the host's)
        truth_mean = (f"({truth_mean})\n* (1 - {errors} / {requests})\n"
                      f"/ on() group_left() (1 - {host_share})")
    agree("mean latency", adapter("duration_seconds:mean5m"), truth_mean, rel(MEAN_TOL))

    p95 = adapter("duration_seconds:p95_rate5m")
    if stack in ("seldon", "torchserve"):  # no latency histogram: the mean stands in
        assert p95 == {}
    else:
        agree("p95 latency", p95, "histogram_quantile(0.95, sum by (model, version, le) "
                   f"({truth('demo_truth_latency_seconds_bucket')}))", rel(P95_TOL))


def test_model_load_signals_match_what_the_demo_loaded(stack_prometheus):
    stack, prom = stack_prometheus
    job = f'job=~"{TRUTH_JOB.get(stack, DEMO_JOB)}"'

    def last(expr: str) -> dict:  # gauges: the last value of the minute (a scrape may fail)
        return _by_mv(prom.query(f"max by (model, version) (last_over_time({expr}[1m]))"))

    loaded = last(f"demo_truth_model_loaded{{{job}}}")
    seconds = last(f"demo_truth_model_load_seconds{{{job}}}")
    assert loaded and set(loaded) == set(seconds)
    got_loaded, got_load = last(LOADED), last(LOAD)
    if LOADED in LOAD_SIGNALS[stack]:
        assert got_loaded == loaded, (got_loaded, loaded)  # every loaded version, value 1
    else:
        assert got_loaded == {}
    if LOAD in LOAD_SIGNALS[stack]:
        assert set(got_load) == set(seconds), (got_load, seconds)
        for key, want in seconds.items():
            assert _close(got_load[key], want, 1e-6), (key, got_load[key], want)
    else:
        assert got_load == {}


def test_check_finds_only_the_documented_gaps(stack_prometheus):
    stack, prom = stack_prometheus
    dashboards = [(str(p), load_dashboard_file(p))
                  for p in compiled_files(REPO_ROOT / "provisioning" / "dashboards")]
    report = Checker(PrometheusAPI(prom.prometheus_url),
                     CheckOptions(range_seconds=600, scrape_interval=1.0)).run(dashboards)
    empty = {p.title: p.reason for d in report.dashboards for p in d.panels
             if p.status in (EMPTY, ERROR)}
    assert set(empty) == empty_by_design(stack), empty
    assert all(v.status == "data" for d in report.dashboards for v in d.variables)

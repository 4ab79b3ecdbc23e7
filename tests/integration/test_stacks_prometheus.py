"""Each serving stack end to end: `python -m demo --stack NAME` + its adapter rules on a real
Prometheus.

1. The adapter's request rate, error ratio, mean latency and p95 (seconds) match what the demo
   served, read from the demo's ground truth (`demo_truth_*`: requests by status, and the
   latency the stack's own series cover in the stack's own buckets converted to seconds) at the
   timestamp the rule was evaluated. Tolerances: rate and mean 2 % relative (a scrape can land
   between the rule's evaluation and the check, and a stack's sidecar endpoint is scraped apart
   from the truth), error ratio 0.005 absolute, p95 5 % relative (same bucket bounds, so the
   quantiles interpolate alike, but a seconds histogram's percentile is computed by a second
   rule group from the first group's bucket rates, up to one evaluation later, during the
   scenario's latency incident). TorchServe's per-model errors are
   the host's share by design (docs/stacks/torchserve.md): its error ratio is compared with the
   host's and its mean with the documented estimate.
2. `grafana-sync check` over every compiled dashboard: the only empty panels are the ones
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
RATE_TOL, MEAN_TOL, P95_TOL, RATIO_TOL = 0.02, 0.02, 0.05, 0.005


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
    failed = 'status="error"'
    errors = f"sum by (model, version) ({truth('demo_truth_requests_total', failed)})"
    # the time of the rules' last evaluation: truth is read at exactly that instant
    at = max(float(r["value"][1]) for r in prom.query(f"timestamp({MV}_requests:rate5m)"))
    rate = _by_mv(prom.query(f"{MV}_requests:rate5m", at=at))
    truth_rate = _by_mv(prom.query(requests, at=at))
    assert set(rate) == set(truth_rate), (rate, truth_rate)
    for key, want in truth_rate.items():
        assert _close(rate[key], want, RATE_TOL), (key, rate[key], want)

    ratio = _by_mv(prom.query(f"{MV}_request_errors_per_ml_inference_requests:ratio_rate5m",
                              at=at))
    per_model_ratio = _by_mv(prom.query(f"{errors}\n/ {requests}", at=at))
    truth_ratio = dict(per_model_ratio)
    if stack == "torchserve":  # the host's share of errors, the same for every model
        host = prom.query(f"sum({errors}) / sum({requests})", at=at)
        truth_ratio = {k: float(host[0]["value"][1]) for k in truth_ratio}
    for key, want in truth_ratio.items():
        assert abs(ratio[key] - want) <= RATIO_TOL, (key, ratio[key], want)

    mean = _by_mv(prom.query(f"{MV}_duration_seconds:mean5m", at=at))
    truth_mean = _by_mv(prom.query(
        f"sum by (model, version) ({truth('demo_truth_latency_seconds_sum')})\n"
        f"/ sum by (model, version) ({truth('demo_truth_latency_seconds_count')})", at=at))
    for key, want in truth_mean.items():
        if stack == "torchserve":  # successes estimated with the host's error share
            want *= (1 - per_model_ratio[key]) / (1 - truth_ratio[key])
        assert _close(mean[key], want, MEAN_TOL), (key, mean[key], want)

    p95 = _by_mv(prom.query(f"{MV}_duration_seconds:p95_rate5m", at=at))
    truth_p95 = _by_mv(prom.query(
        "histogram_quantile(0.95, sum by (model, version, le) "
        f"({truth('demo_truth_latency_seconds_bucket')}))", at=at))
    if stack in ("seldon", "torchserve"):  # no latency histogram: the mean stands in
        assert p95 == {}
    else:
        assert set(p95) == set(truth_p95)
        for key, want in truth_p95.items():
            assert _close(p95[key], want, P95_TOL), (key, p95[key], want)


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

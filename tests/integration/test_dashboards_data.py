"""Every panel of every ML dashboard has data on a real Prometheus scraping `python -m demo`,
and each scenario incident moves the matching panel past its threshold.

Uses the session stack from tests/promharness.py (`prometheus_demo`: demo `--speed 60
--scenario ci`, node_exporter, the project's recording and alert rules, 1 s scrape/evaluation).
Template variables are at All (`.*`), `$__rate_interval` = 1m, `$__range` = 1h.

Queries with `offset Nd` ("last week") cannot have data in a fresh Prometheus; they are
evaluated at now + N days, where the offset lands on the samples the demo just produced. That
proves the query returns the series once N days of history exist, without drawing fake data
(docs/dashboards.md, "Last week").
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.unit.test_dashboards import (
    compiled_dashboards,
    iter_panels,
    iter_targets,
    target_id,
)

pytestmark = pytest.mark.integration

DAY = 86400.0
CANCER, WINE = "cancer-screening", "wine-cultivar"
# The evaluation job runs every 15 simulated minutes; by 20 every metric has been emitted.
WARM_UP_SIM_SECONDS = 20 * 60
OFFSET_RE = re.compile(r"\boffset (\d+)d\b")


def evaluate(stack: Any, expr: str, at: float | None = None,
             variables: dict[str, list[str]] | None = None) -> list[dict]:
    """A panel query as Grafana would send it (All unless `variables` selects values, rate
    interval 1m), offset-aware."""
    concrete = stack.grafana_expr(expr, variables, rate_interval="1m", range_="1h")
    offsets = {int(d) for d in OFFSET_RE.findall(concrete)}
    if offsets:
        assert len(offsets) == 1, "one offset per query keeps the future-time trick exact"
        at = (at or time.time()) + offsets.pop() * DAY
    return stack.query(concrete, at=at)


def numbers(result: list[dict]) -> list[float]:
    return [float(r["value"][1]) for r in result]


@pytest.fixture(scope="module")
def warm_stack(prometheus_demo: Any) -> Any:
    prometheus_demo.wait_for_sim_time(WARM_UP_SIM_SECONDS, timeout=120)
    return prometheus_demo


@pytest.mark.parametrize("item", list(iter_targets()), ids=target_id)
def test_every_panel_query_returns_series(warm_stack: Any, item: tuple) -> None:
    uid, panel, target = item
    result = evaluate(warm_stack, target["expr"])
    assert result, f"{uid} / {panel['title']} / {target['refId']}: no data"
    assert any(not math.isnan(v) for v in numbers(result)), "only NaN (0/0) values"


@pytest.mark.parametrize("uid", sorted(compiled_dashboards()))
def test_every_variable_lists_values(warm_stack: Any, uid: str) -> None:
    """label_values(metric{...}, label) -> the series behind it exist (All means something)."""
    for var in compiled_dashboards()[uid]["templating"]["list"][1:]:
        metric, label = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]).groups()
        values = {r["metric"].get(label) for r in evaluate(warm_stack, metric)}
        if var["name"] == "cluster":
            # One Prometheus, no cluster label: the variable lists nothing and "All" (`.*`, which
            # matches a missing label) selects everything; the other tests prove every panel has
            # data that way. Several clusters: tests/integration/test_multicluster.py.
            assert values - {None} == set(), f"{uid}: unexpected cluster values {values}"
            continue
        assert values - {None}, f"{uid}: variable {var['name']} would be empty"


def test_deployment_annotation_marks_the_canary_rollout(warm_stack: Any) -> None:
    """The scenario deploys cancer-screening v2 at simulated minute 10: one marker there."""
    incident = warm_stack.wait_for_incident("version_rollout", CANCER)
    (annotation,) = compiled_dashboards()["ml-versions"]["annotations"]["list"]
    expr = warm_stack.grafana_expr(annotation["expr"])
    deployed = warm_stack.sim_to_wall(incident.start)
    series = warm_stack.query_range(expr, deployed - 30, deployed + 90, step=1)
    marks = [s for s in series
             if s["metric"].get("model") == CANCER and s["metric"].get("version") == "v2"]
    assert marks, "no annotation for the v2 deployment"
    first = float(marks[0]["values"][0][0])
    assert abs(first - deployed) < 5, "marker placed away from the deployment time"


# --- incidents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    kind: str
    dashboard: str
    panel: str
    match: dict[str, str]  # labels picking the incident's series from the panel's result
    threshold: float
    above: bool  # True: bad when the value is above the threshold
    control: dict[str, str] | None = None  # a series that must stay on the good side
    # variables selected as a user would (per-feature panels show the worst N at All)
    variables: dict[str, list[str]] | None = None


INCIDENTS = [
    Incident("feature_drift", "ml-drift", "Drift score / threshold now",
             {"model": CANCER, "feature": "mean_texture", "method": "psi"}, 1.0, True,
             control={"model": WINE, "method": "psi"},
             variables={"feature": ["mean_texture", "alcohol"]}),  # one feature of each model
    Incident("latency_spike", "ml-infrastructure", "Latency p95", {"model": CANCER}, 0.5, True),
    Incident("error_burst", "ml-errors", "Error ratio", {"model": WINE}, 0.05, True,
             control={"model": CANCER}),
    Incident("accuracy_drop", "ml-performance", "Score minus training baseline",
             {"model": WINE, "metric": "accuracy"}, -0.05, False),
    Incident("cost_jump", "ml-cost", "Cost per hour", {"model": CANCER}, 5.0, True,
             control={"model": WINE}),
]


def panel_by_title(uid: str, title: str) -> dict[str, Any]:
    (panel,) = [p for p in iter_panels(compiled_dashboards()[uid]) if p["title"] == title]
    return panel


def threshold_of(panel: dict[str, Any], value: float) -> bool:
    """The panel itself colours `value` red/orange: its thresholds agree with the test's."""
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return any(s.get("value") == value for s in steps[1:])


def selected(result: list[dict], labels: dict[str, str]) -> list[float]:
    return [float(r["value"][1]) for r in result
            if all(r["metric"].get(k) == v for k, v in labels.items())]


def crossed(values: list[float], inc: Incident) -> bool:
    return any((v > inc.threshold) if inc.above else (v < inc.threshold) for v in values)


@pytest.mark.parametrize("inc", INCIDENTS, ids=lambda i: i.kind)
def test_incident_moves_panel_past_threshold(prometheus_demo: Any, inc: Incident) -> None:
    stack = prometheus_demo
    panel = panel_by_title(inc.dashboard, inc.panel)
    assert threshold_of(panel, inc.threshold), "the panel does not colour at this threshold"
    expr = panel["targets"][0]["expr"]
    scenario = stack.wait_for_incident(inc.kind)
    assert scenario.model == inc.match["model"]

    # Before: the last instant the incident was inactive, the series was on the good side.
    before_at = stack.sim_to_wall(scenario.start) - 1.0
    before = selected(evaluate(stack, expr, at=before_at, variables=inc.variables), inc.match)
    assert before, "no data before the incident (the stack scrapes from the demo's start)"
    assert not crossed(before, inc), f"already past the threshold before: {before}"

    # After: the panel's query crosses the threshold within a minute of the incident.
    deadline = time.monotonic() + 60
    while True:
        after = selected(evaluate(stack, expr, variables=inc.variables), inc.match)
        if crossed(after, inc):
            break
        assert time.monotonic() < deadline, f"never crossed {inc.threshold}: {after}"
        time.sleep(1)

    if inc.control:
        control = selected(evaluate(stack, expr, variables=inc.variables), inc.control)
        assert control and not crossed(control, inc), f"healthy control crossed: {control}"

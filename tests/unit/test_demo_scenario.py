"""The incident schedules are consistent data that tests and tools can rely on."""

from __future__ import annotations

import pytest

from demo.llm import LLM_MODELS
from demo.scenario import INCIDENT_KINDS, INITIAL_ROUTING, SCENARIOS, routing

MODELS = set(INITIAL_ROUTING)
INCIDENT_MODELS = MODELS | set(LLM_MODELS)


@pytest.mark.parametrize("name", ["default", "ci"])
def test_every_incident_kind_is_scheduled(name):
    kinds = {inc.kind for inc in SCENARIOS[name].incidents}
    assert kinds == set(INCIDENT_KINDS)


@pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_incidents_are_well_formed(scenario):
    seen = set()
    for inc in scenario.incidents:
        assert inc.model in INCIDENT_MODELS
        assert (inc.kind, inc.model) not in seen  # demo_incident_active labels are unique
        seen.add((inc.kind, inc.model))
        assert inc.start >= 0 and (inc.end is None or inc.end > inc.start)


def test_ci_incidents_each_hit_one_model_after_warm_up():
    ci = SCENARIOS["ci"]
    assert all(inc.start >= 600 and inc.end is None for inc in ci.incidents)
    assert ci.incident("feature_drift").params["feature"] == "mean_texture"
    with pytest.raises(KeyError):
        SCENARIOS["healthy"].incident("feature_drift")


def test_default_tour_keeps_drift_apart_from_other_incidents():
    tour = SCENARIOS["default"]
    drift = tour.incident("feature_drift")
    for inc in tour.incidents:
        if inc is not drift and inc.model == drift.model:
            assert inc.start >= drift.end


@pytest.mark.parametrize("t", [0, 600, 900, 1199, 1200, 1800, 10_000])
def test_routing_shares_sum_to_one(t):
    for name in ("default", "ci", "healthy"):
        for model in MODELS:
            table = routing(SCENARIOS[name], model, t)
            assert sum(share for _, share, _ in table.values()) == pytest.approx(1.0)


def test_rollout_steps_and_retirement():
    tour = SCENARIOS["default"]
    inc = tour.incident("version_rollout")
    model = inc.model
    assert set(routing(tour, model, inc.start - 1)) == {"v1"}
    stage, share, deployed = routing(tour, model, inc.start)["v2"]
    assert (stage, share, deployed) == ("canary", 0.1, inc.start)
    assert routing(tour, model, inc.start + 600)["v2"][1] == 0.5
    final = routing(tour, model, inc.start + 1200)
    assert final["v2"][:2] == ("production", 1.0)
    assert final["v1"][:2] == ("retired", 0.0)

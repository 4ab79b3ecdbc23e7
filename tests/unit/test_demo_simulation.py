"""The simulation in-process on a manual clock: incidents move the real computed scores."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from demo.evaluation import EvaluationJob  # noqa: E402
from demo.instruments import Instruments  # noqa: E402
from demo.scenario import SCENARIOS  # noqa: E402
from demo.simulation import Clock, Simulation  # noqa: E402
from ml_monitoring._settings import thresholds  # noqa: E402
from ml_monitoring.drift import METHODS as DRIFT_METHODS  # noqa: E402

DEFAULT_THRESHOLDS = thresholds()

SPEED = 60.0
STEP = 30.0  # simulated seconds per step (half a wall second at --speed 60)


class ManualClock(Clock):
    def __init__(self, speed: float) -> None:
        super().__init__(speed)
        self.t = 0.0

    def sim(self) -> float:
        return self.t

    def mono(self) -> float:
        return self.t / self.speed


def _gauges(sim: Simulation, name: str) -> dict[tuple, float]:
    """The gauge's samples as the registry exposes them: {((label, value), ...): value}."""
    fam = sim.hub.metrics[name]
    out = {}
    for metric in fam.collect():
        for sample in metric.samples:
            out[tuple(sorted(sample.labels.items(), key=lambda kv: fam._labelnames.index(
                kv[0])))] = sample.value
    return out


@pytest.fixture(scope="module")
def ci_run():
    """Run the `ci` scenario to 30 simulated minutes; keep a snapshot of the scores per step."""
    from demo.models import train_all

    instruments = Instruments()
    clock = ManualClock(SPEED)
    sim = Simulation(train_all(7), SCENARIOS["ci"], SPEED, 7, instruments,
                     EvaluationJob(instruments.snapshots), clock=clock)
    sim.warm_up()
    history = []
    while clock.t < 1800:
        clock.t += STEP
        sim.step()
        history.append((clock.t, {
            "drift": _gauges(sim, "ml_feature_drift_score"),
            "quality": _gauges(sim, "ml_model_quality_ratio"),
            "spd": _gauges(sim, "ml_fairness_parity_difference"),
        }))
    return sim, history


def _drift(snap, model, feature, method):
    return snap["drift"].get((("model", model), ("feature", feature), ("method", method)))


def test_feature_drift_moves_only_the_drifted_feature(ci_run):
    sim, history = ci_run
    inc = SCENARIOS["ci"].incident("feature_drift")
    drifted = (inc.model, inc.params["feature"])
    before = [snap for t, snap in history if t < inc.start and snap["drift"]]
    settled = [snap for t, snap in history if t >= inc.start + 300]
    assert before and settled, "scores must exist before and after the incident"
    for snap in before + settled:
        for (labels, value) in snap["drift"].items():
            model, feature, method = (v for _, v in labels)
            if (model, feature) == drifted and snap in settled:
                continue
            assert value < DEFAULT_THRESHOLDS[method], (labels, value)
    for snap in settled:
        for method in DRIFT_METHODS:
            value = _drift(snap, *drifted, method)
            assert value is not None and value >= DEFAULT_THRESHOLDS[method], (method, value)


def test_accuracy_drop_shows_in_computed_accuracy(ci_run):
    sim, history = ci_run
    inc = SCENARIOS["ci"].incident("accuracy_drop")
    key = (("model", inc.model), ("version", "v1"), ("metric", "accuracy"))
    baseline = sim.models[inc.model].versions["v1"].baseline["accuracy"]
    before = [snap["quality"][key] for t, snap in history if t < inc.start and key in
              snap["quality"]]
    after = [snap["quality"][key] for t, snap in history if t >= inc.start + 900]
    assert before and after
    assert min(before) > baseline - 0.06
    # 40 % of the ground truth flipped: accuracy falls to about 0.6 of the baseline
    assert max(after) < baseline - 0.2


def test_fairness_gap_shows_in_parity_difference(ci_run):
    sim, history = ci_run
    inc = SCENARIOS["ci"].incident("fairness_gap")
    key = (("model", inc.model), ("version", "v1"), ("attribute", "age_band"),
           ("group", inc.params["group"]))
    after = [snap["spd"][key] for t, snap in history if t >= inc.start + 1200 and key in
             snap["spd"]]
    assert after and max(after) < -0.1  # outside the fair range
    before = [v for t, snap in history for k, v in snap["spd"].items() if t < inc.start]
    control = [v for t, snap in history for k, v in snap["spd"].items()
               if k[0] != ("model", inc.model)]
    assert before and control
    assert all(abs(v) < 0.1 for v in before + control)


def test_rollout_shifts_traffic_and_deploys_the_new_version(ci_run):
    sim, _ = ci_run
    inc = SCENARIOS["ci"].incident("version_rollout")
    served = sim.inst.predictions.labels(inc.model, inc.params["version"])._value.get()
    assert served > 0
    assert inc.params["version"] in sim.state[inc.model].deployed


def test_exposition_matches_the_contract_both_ways(ci_run):
    from prometheus_client import generate_latest

    from demo.contract import compare_exposition, demo_metrics

    sim, _ = ci_run
    problems = compare_exposition(generate_latest(sim.inst.registry).decode(), demo_metrics())
    assert not problems, "\n".join(problems)


def test_compare_exposition_reports_both_directions():
    from demo.contract import compare_exposition, parse_contract

    specs = parse_contract(
        "## S\n\n| metric | type | labels | unit | emitted by | description |\n|---|---|---|---|---|---|\n"
        "| `a_total` | counter | `model` | u | e | d |\n| `b` | gauge | `model` | u | e | d |\n")
    text = ("# TYPE a counter\na_total{model=\"m\",version=\"v\"} 1\n"
            "# TYPE c gauge\nc 1\n")
    problems = compare_exposition(text, specs)
    assert any(p.startswith("a_total: emitted with labels") for p in problems)
    assert "b: listed in the contract, not emitted" in problems
    assert "c: emitted but not in the contract" in problems

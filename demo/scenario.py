"""Incident schedules, as data.

A scenario is a list of incidents, each hitting one model from a simulated offset (seconds since
the demo started, in *simulated* time) until an end offset (or for good). With `--speed N` one
wall-clock second is N simulated seconds, so an incident at offset `start` becomes active
`start / N` wall seconds after start-up. Tests and other tools read this module instead of
hard-coding times:

    from demo.scenario import SCENARIOS
    inc = SCENARIOS["ci"].incident("feature_drift")
    wall_seconds_until_active = inc.start / speed

The demo also exports `demo_incident_active{scenario, incident, model}` (1 while active).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

MINUTE = 60.0

INCIDENT_KINDS: dict[str, str] = {
    "feature_drift": "adds `shift` training standard deviations to one input feature "
    "(an upstream pipeline change): that feature's drift scores rise, the others stay put",
    "accuracy_drop": "concept drift: the ground truth of a prediction flips with probability "
    "`flip`, so the computed accuracy/F1/AUC fall and the concept-drift score rises",
    "latency_spike": "latency multiplied by `factor`, the queue builds up, the GPU saturates "
    "and the container is CPU-throttled",
    "error_burst": "a share `error_ratio` of requests fail (feature store unavailable, "
    "timeouts), audit logging drops records, the container is OOM-killed once",
    "cost_jump": "the model's node loses its spot price: CPU, RAM and GPU prices x `factor`",
    "version_rollout": "deploys `version` as a canary and shifts its traffic share in `steps` "
    "(seconds after the start, share); at share 1 it becomes production and the old version "
    "is retired (its idle pod keeps costing)",
    "fairness_gap": "a faulty post-processing rule turns favourable outcomes of `group` "
    "unfavourable with probability `rate`",
    "feedback_drop": "users leave feedback `factor` times as often (a broken feedback widget)",
    "evaluation_stale": "the batch evaluation job fails every run: its last-success timestamp "
    "ages and the last-failure timestamp moves",
    # LLM models (demo/llm.py)
    "llm_kv_saturation": "traffic x `load` of conversations `context` times longer: the KV cache "
    "fills, the engine preempts requests, the queue grows (and with it time to first token)",
    "llm_ttft_spike": "prefill `factor` times slower (prefix caching switched off by a config "
    "change): time to first token rises; KV cache and queue stay healthy",
    "llm_eval_regression": "version `version` answers worse: its evaluation scores drop by `drop`, "
    "its guardrails trigger `guardrail_factor` times as often, users like it less",
}


@dataclass(frozen=True)
class Incident:
    kind: str
    model: str
    start: float  # simulated seconds since start-up
    end: float | None = None  # None = lasts until the demo stops
    params: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def active(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


def _incident(kind: str, model: str, start_min: float, end_min: float | None, **params):
    if kind not in INCIDENT_KINDS:
        raise ValueError(f"unknown incident kind {kind}")
    return Incident(
        kind=kind,
        model=model,
        start=start_min * MINUTE,
        end=None if end_min is None else end_min * MINUTE,
        params=MappingProxyType(dict(params)),
    )


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    incidents: tuple[Incident, ...]

    def incident(self, kind: str, model: str | None = None) -> Incident:
        """The scenario's incident of this kind (and model); KeyError when there is none."""
        for inc in self.incidents:
            if inc.kind == kind and (model is None or inc.model == model):
                return inc
        raise KeyError(f"scenario {self.name} has no {kind} incident")

    def active(self, t: float) -> list[Incident]:
        return [inc for inc in self.incidents if inc.active(t)]


CANCER = "cancer-screening"
WINE = "wine-cultivar"
CHAT = "chat-assistant"  # LLM models: demo/llm.py
CODE = "code-assistant"

# Traffic routing before any rollout: version -> (stage, share).
INITIAL_ROUTING: dict[str, dict[str, tuple[str, float]]] = {
    CANCER: {"v1": ("production", 1.0)},
    WINE: {"v1": ("production", 0.8), "v2": ("canary", 0.2)},
}

_DEFAULT = Scenario(
    name="default",
    description="a guided tour: every incident once, one after another, then healthy "
    "(about 2 h 15 min simulated; try --speed 10)",
    incidents=(
        _incident("feature_drift", CANCER, 15, 30, feature="mean_texture", shift=2.0),
        _incident("latency_spike", CANCER, 30, 40, factor=20.0),
        _incident("error_burst", WINE, 40, 50, error_ratio=0.25),
        _incident("accuracy_drop", WINE, 50, 65, flip=0.4),
        _incident("version_rollout", CANCER, 65, None, version="v2",
                  steps=((0.0, 0.1), (10 * MINUTE, 0.5), (20 * MINUTE, 1.0))),
        _incident("cost_jump", CANCER, 90, 105, factor=3.0),
        _incident("fairness_gap", CANCER, 95, 110, group="65_plus", rate=0.8),
        _incident("feedback_drop", WINE, 100, 115, factor=0.1),
        _incident("evaluation_stale", WINE, 105, 135),
        _incident("llm_kv_saturation", CHAT, 20, 32, load=1.8, context=1.3),
        _incident("llm_ttft_spike", CODE, 70, 80, factor=12.0),
        _incident("llm_eval_regression", CODE, 115, 135, version="v2", drop=0.25,
                  guardrail_factor=5.0),
    ),
)

_CI = Scenario(
    name="ci",
    description="for tests (use --speed 60): healthy for 10 simulated minutes, then every "
    "incident starts and stays; each incident hits one model and the other model is the "
    "healthy control for that signal (the input drift and the fairness gap also cost "
    "cancer-screening some accuracy, as they would in production); the LLM models: KV saturation on "
    "chat-assistant, TTFT spike and a worse v2 on code-assistant",
    incidents=(
        _incident("feature_drift", CANCER, 10, None, feature="mean_texture", shift=2.0),
        _incident("latency_spike", CANCER, 10, None, factor=20.0),
        _incident("cost_jump", CANCER, 10, None, factor=3.0),
        _incident("fairness_gap", CANCER, 10, None, group="65_plus", rate=0.8),
        _incident("version_rollout", CANCER, 10, None, version="v2",
                  steps=((0.0, 0.1), (10 * MINUTE, 0.5))),
        _incident("accuracy_drop", WINE, 10, None, flip=0.4),
        _incident("error_burst", WINE, 10, None, error_ratio=0.25),
        _incident("feedback_drop", WINE, 10, None, factor=0.1),
        _incident("evaluation_stale", WINE, 10, None),
        _incident("llm_kv_saturation", CHAT, 10, None, load=1.8, context=1.3),
        _incident("llm_ttft_spike", CODE, 10, None, factor=12.0),
        _incident("llm_eval_regression", CODE, 10, None, version="v2", drop=0.25,
                  guardrail_factor=5.0),
    ),
)

_HEALTHY = Scenario(name="healthy", description="no incidents", incidents=())

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (_DEFAULT, _CI, _HEALTHY)}


def routing(scenario: Scenario, model: str, t: float) -> dict[str, tuple[str, float, float]]:
    """version -> (stage, traffic share, deployed at [simulated s]) at simulated time t."""
    table = {v: (stage, share, 0.0) for v, (stage, share) in INITIAL_ROUTING[model].items()}
    for inc in scenario.incidents:
        if inc.kind != "version_rollout" or inc.model != model or t < inc.start:
            continue
        share = 0.0
        for offset, step_share in inc.params["steps"]:
            if t >= inc.start + offset:
                share = step_share
        new = inc.params["version"]
        rest = 1.0 - share
        others = {v: s for v, s in table.items() if v != new}
        total_other = sum(s[1] for s in others.values()) or 1.0
        updated = {}
        for v, (stage, old_share, deployed) in others.items():
            if rest <= 0:
                updated[v] = ("retired", 0.0, deployed)
            else:
                updated[v] = (stage, old_share / total_other * rest, deployed)
        updated[new] = ("production" if share >= 1.0 else "canary", share, inc.start)
        table = updated
    return table

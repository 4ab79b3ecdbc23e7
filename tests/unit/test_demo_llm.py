"""The simulated LLM engines (demo/llm.py): token-level timing, KV cache, incidents, quality.

Expected values come from the model specs (rates, log-normal means, per-token costs) worked out
here, not from the simulation's own bookkeeping.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from demo.instruments import SnapshotCollector
from demo.llm import (
    LLM_SPECS,
    ContractRenderer,
    LLMServing,
    TickSample,
    buckets_1_2_5,
)
from demo.scenario import SCENARIOS, Incident

SPECS = {s.name: s for s in LLM_SPECS}
TICK = 30.0  # simulated seconds per step (half a wall second at --speed 60)


class Spy(ContractRenderer):
    """The contract renderer, keeping every tick's requests for inspection."""

    def __init__(self) -> None:
        self.samples: dict[tuple[str, str], list[TickSample]] = {}

    def observe(self, st, t):
        super().observe(st, t)
        key = next(k for k, v in self.owner.stats.items() if v is st)
        self.samples.setdefault(key, []).append(t)


def run(active: list[Incident], seconds: float, seed: int = 7) -> tuple[LLMServing, Spy]:
    spy = Spy()
    serving = LLMServing(SCENARIOS["healthy"], 60.0, seed, SnapshotCollector(), renderer=spy)
    spy.owner = serving
    t = 0.0
    while t < seconds:
        t += TICK
        serving.step(t, active, None)
    return serving, spy


def incident(kind: str, model: str, **params) -> Incident:
    from types import MappingProxyType

    return Incident(kind, model, 0.0, None, MappingProxyType(params))


@pytest.fixture(scope="module")
def healthy():
    return run([], 3600.0)


def lognormal_mean(median, sigma):
    return median * math.exp(sigma**2 / 2)


def cat(samples, field):
    return np.concatenate([getattr(t, field) for t in samples])


def test_buckets_1_2_5_match_vllm_docstring():
    assert buckets_1_2_5(100) == (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
    assert buckets_1_2_5(8192)[-1] == 5000.0


@pytest.mark.parametrize("model, version", [("chat-assistant", "v1"), ("code-assistant", "v1"),
                                            ("code-assistant", "v2")])
def test_healthy_request_and_token_rates_follow_the_spec(healthy, model, version):
    serving, _ = healthy
    spec = SPECS[model]
    share = next(v.share for v in spec.versions if v.version == version)
    st = serving.stats[(model, version)]
    rate = sum(st.requests.values()) / 3600.0
    assert rate == pytest.approx(spec.requests_per_second * share, rel=0.08)
    prompt_rate = st.prompt_tokens / 3600.0
    expected = spec.requests_per_second * share * lognormal_mean(spec.prompt_median,
                                                                 spec.prompt_sigma)
    assert prompt_rate == pytest.approx(expected, rel=0.1)
    assert st.kv_usage < 0.6 and st.waiting <= 3 and st.preemptions == 0


def test_prefill_grows_with_prompt_length_and_decode_with_tokens(healthy):
    _, spy = healthy
    samples = spy.samples[("code-assistant", "v1")]
    prompt, prefill = cat(samples, "prompt"), cat(samples, "prefill")
    spec = SPECS["code-assistant"]
    short, long_ = prompt < 600, prompt > 1500
    assert prefill[long_].mean() > 2 * prefill[short].mean()
    # prefill cost per token as specified (+/- the load factor and noise)
    per_token = (prefill - spec.prefill_base) / prompt
    assert np.median(per_token) == pytest.approx(
        spec.prefill_per_token + spec.prefill_quadratic * np.median(prompt), rel=0.15)
    gen, e2e, ttft = cat(samples, "generation"), cat(samples, "e2e"), cat(samples, "ttft")
    ok = gen > 10
    # e2e - ttft is (tokens - 1) x the iteration time: 18 ms base + load terms, so 18-40 ms
    per_token_decode = (e2e[ok] - ttft[ok]) / (gen[ok] - 1)
    assert 0.018 < np.median(per_token_decode) < 0.04


def test_healthy_ttft_meets_a_one_second_slo(healthy):
    _, spy = healthy
    for key, samples in spy.samples.items():
        ttft = cat(samples, "ttft")
        ttft = ttft[~np.isnan(ttft)]
        assert np.quantile(ttft, 0.95) < 1.0, key


def test_finish_reasons_come_from_max_tokens_aborts_and_errors(healthy):
    serving, spy = healthy
    spec = SPECS["chat-assistant"]
    st = serving.stats[("chat-assistant", "v1")]
    total = sum(st.requests.values())
    # P(log-normal generation >= max_tokens): 1 - Phi(ln(512/170)/0.6)
    p_length = 0.5 * math.erfc(math.log(spec.max_tokens / spec.generation_median)
                               / (spec.generation_sigma * math.sqrt(2)))
    assert st.requests["length"] / total == pytest.approx(p_length, abs=0.01)
    assert st.requests["abort"] / total == pytest.approx(spec.abort_probability, abs=0.005)
    assert st.requests["error"] / total == pytest.approx(spec.error_probability, abs=0.003)
    gen = cat(spy.samples[("chat-assistant", "v1")], "generation")
    assert gen.max() == spec.max_tokens


def test_kv_saturation_fills_the_cache_preempts_and_queues():
    kv = incident("llm_kv_saturation", "chat-assistant", load=1.8, context=1.3)
    serving, _ = run([kv], 1800.0)
    st = serving.stats[("chat-assistant", "v1")]
    assert st.kv_usage > 0.95
    assert st.preemptions / sum(st.requests.values()) > 0.1
    assert st.waiting > 10
    # the other model is untouched
    other = serving.stats[("code-assistant", "v1")]
    assert other.kv_usage < 0.6 and other.preemptions == 0


def test_ttft_spike_slows_prefill_only():
    spike = incident("llm_ttft_spike", "code-assistant", factor=12.0)
    serving, spy = run([spike], 1200.0)
    _, base = run([], 1200.0)
    slow = cat(spy.samples[("code-assistant", "v1")], "ttft")
    fast = cat(base.samples[("code-assistant", "v1")], "ttft")
    ratio = np.nanmedian(slow) / np.nanmedian(fast)
    assert 8 < ratio < 13  # prefill x12; queue and the frontend's few ms do not scale
    assert np.nanquantile(slow, 0.5) > 1.0
    st = serving.stats[("code-assistant", "v1")]
    assert st.kv_usage < 0.6 and st.waiting <= 3 and st.preemptions == 0


def test_eval_regression_lowers_one_version_and_its_feedback():
    from prometheus_client import CollectorRegistry, Counter

    reg = incident("llm_eval_regression", "code-assistant", version="v2", drop=0.25,
                   guardrail_factor=5.0)
    feedback = Counter("ml_feedback", "x", ("model", "version", "feedback"),
                       registry=CollectorRegistry())
    serving = LLMServing(SCENARIOS["healthy"], 60.0, 7, SnapshotCollector(), feedback=feedback)

    class Clock:
        speed = 60.0

        def wall_at(self, t):
            return 1_700_000_000.0 + t / 60.0

    t = 0.0
    while t < 3600.0:
        t += TICK
        serving.step(t, [reg], Clock())
    ev = serving.evaluation.models["code-assistant"]
    v1, v2 = ev.scores["v1"], ev.scores["v2"]
    spec_v2 = dict(SPECS["code-assistant"].versions[1].eval_scores)
    for metric, score in spec_v2.items():
        assert v2[metric] == pytest.approx(score - 0.25, abs=0.04)
        assert v1[metric] > 0.8
    assert min(v2.values()) < 0.75 < min(v1.values())

    def positive_share(version):
        pos = feedback.labels("code-assistant", version, "positive")._value.get()
        neg = feedback.labels("code-assistant", version, "negative")._value.get()
        return pos / (pos + neg)

    assert positive_share("v2") < positive_share("v1") - 0.1
    snap = serving.evaluation.snapshot(Clock())
    assert snap.families["ml_evaluation_schedule_interval_seconds"].samples[
        ("code-assistant",)] == 15.0  # 900 simulated s at speed 60


def test_contract_exposition_has_the_documented_series(healthy):
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from demo.contract import load_contract

    serving, _ = healthy
    registry = CollectorRegistry()
    registry.register(serving.collector)
    families = {f.name: f for f in text_string_to_metric_families(
        generate_latest(registry).decode())}
    contract = {n: s for n, s in load_contract().items()
                if s.section.startswith("LLM serving metrics") and "Pushgateway" not in s.emitted_by}
    assert contract
    for name, spec in contract.items():
        base = name[:-len("_total")] if spec.type == "counter" else name
        fam = families[base]
        assert fam.type == spec.type, name
        labels = {k for s in fam.samples for k in s.labels if k != "le"}
        assert labels == set(spec.labels), name

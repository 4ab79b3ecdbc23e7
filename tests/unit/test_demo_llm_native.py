"""`--stack vllm|tgi`: the LLM engines in vLLM's and TGI's own exposition (demo/llm_native.py).

Expected names, labels, units and formats are the servers' (sources cited in docs/stacks/vllm.md
and docs/stacks/tgi.md), written out here rather than taken from the module under test.
"""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from demo.instruments import SnapshotCollector
from demo.llm import LLMServing, make_renderer
from demo.llm_native import rust_float, tgi_duration_buckets, tgi_linear_buckets
from demo.scenario import SCENARIOS

ENGINES = {"/llm/chat-assistant/v1/metrics", "/llm/code-assistant/v1/metrics",
           "/llm/code-assistant/v2/metrics"}


def serving(stack: str, legacy: bool = False) -> LLMServing:
    s = LLMServing(SCENARIOS["healthy"], 60.0, 7, SnapshotCollector(),
                   renderer=make_renderer(stack, legacy))
    t = 0.0
    while t < 600:
        t += 30.0
        s.step(t, [], None)
    return s


@pytest.fixture(scope="module")
def vllm():
    return serving("vllm")


@pytest.fixture(scope="module")
def tgi():
    return serving("tgi")


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


VLLM_CURRENT = {
    "vllm:num_requests_running": "gauge", "vllm:num_requests_waiting": "gauge",
    "vllm:kv_cache_usage_perc": "gauge", "vllm:num_preemptions": "counter",
    "vllm:prompt_tokens": "counter", "vllm:generation_tokens": "counter",
    "vllm:request_success": "counter", "vllm:request_prompt_tokens": "histogram",
    "vllm:request_generation_tokens": "histogram", "vllm:time_to_first_token_seconds": "histogram",
    "vllm:inter_token_latency_seconds": "histogram", "vllm:e2e_request_latency_seconds":
    "histogram", "vllm:request_queue_time_seconds": "histogram",
}


def test_one_endpoint_per_engine_and_nothing_on_the_main_exposition(vllm):
    assert set(vllm.paths()) == ENGINES
    assert vllm.render("/metrics") is None and vllm.render("/llm/nope/v1/metrics") is None
    # no ml_llm_* serving series on /metrics: only the ground truth for adapter tests
    names = {f.name for f in vllm.collector.collect()}
    assert names and all(n.startswith("demo_truth_llm_") for n in names)


def test_vllm_names_types_and_labels(vllm):
    text = vllm.render("/llm/code-assistant/v2/metrics")
    fams = families(text)
    for name, kind in VLLM_CURRENT.items():
        assert fams[name].type == kind, name
        for sample in fams[name].samples:
            assert sample.labels["model_name"] == "code-assistant"
            assert sample.labels["engine"] == "0"
            assert "version" not in sample.labels  # vLLM has none: a target label gives it
    reasons = {s.labels["finished_reason"] for s in fams["vllm:request_success"].samples}
    assert reasons == {"stop", "length", "abort", "error"}
    assert "vllm:prompt_tokens_total{" in text  # prometheus-client counters
    assert 'le="1.0"' in text and 'le="2560.0"' in text  # TTFT buckets, client formatting
    assert "vllm:gpu_cache_usage_perc" not in text
    assert "vllm:time_per_output_token_seconds" not in text


def test_vllm_legacy_names():
    text = serving("vllm", legacy=True).render("/llm/chat-assistant/v1/metrics")
    fams = families(text)
    assert fams["vllm:gpu_cache_usage_perc"].type == "gauge"
    assert fams["vllm:time_per_output_token_seconds"].type == "histogram"
    assert "vllm:kv_cache_usage_perc" not in fams
    assert "vllm:inter_token_latency_seconds" not in fams


def test_vllm_counts_agree_with_the_engine(vllm):
    st = vllm.stats[("chat-assistant", "v1")]
    fams = families(vllm.render("/llm/chat-assistant/v1/metrics"))
    value = {s.name: s.value for s in fams["vllm:prompt_tokens"].samples}
    assert value["vllm:prompt_tokens_total"] == st.prompt_tokens
    count = next(s.value for s in fams["vllm:e2e_request_latency_seconds"].samples
                 if s.name.endswith("_count"))
    # every finished request but the clients that gave up waiting (aborted in the queue)
    assert count <= sum(st.requests.values())
    ttft_count = next(s.value for s in fams["vllm:time_to_first_token_seconds"].samples
                      if s.name.endswith("_count"))
    assert ttft_count == sum(st.requests.values()) - st.requests["error"]


@pytest.mark.parametrize("value, text", [
    (1.0, "1"), (0.0, "0"), (28000.0, "28000"), (0.5, "0.5"),
    (0.00015000000000000001, "0.00015000000000000001"), (1e-5, "0.00001"),
    (1e20, "100000000000000000000"), (float("inf"), "+Inf"),
])
def test_rust_float_display(value, text):
    assert rust_float(value) == text


def test_tgi_bucket_layout_is_the_routers():
    d = tgi_duration_buckets()
    assert len(d) == 35 and d[0] == pytest.approx(0.00015) and d[-1] == pytest.approx(
        0.0001 * 1.5**35)
    assert tgi_linear_buckets(8192)[0] == pytest.approx(81.92)
    assert tgi_linear_buckets(8192)[-1] == pytest.approx(8192)


def test_tgi_exposition_is_metrics_exporter_prometheus_shaped(tgi):
    text = tgi.render("/llm/chat-assistant/v1/metrics")
    # counters without `_total`, TYPE lines of the bare names, no model/version label at all
    assert re.search(r"^# TYPE tgi_request_success counter$", text, re.M)
    assert re.search(r"^tgi_request_success \d+$", text, re.M)
    assert not re.search(r"_total[ {]", text)
    assert "model" not in text and "version" not in text
    assert 'le="0.00015000000000000001"' in text  # Rust Display of 0.0001 * 1.5
    assert not re.search(r'le="\d+\.0"', text)  # Rust prints 1, not 1.0
    fams = families(text)
    for name in ("tgi_request_duration", "tgi_request_queue_duration",
                 "tgi_request_mean_time_per_token_duration", "tgi_request_input_length",
                 "tgi_request_generated_tokens", "tgi_batch_inference_duration"):
        assert fams[name].type == "histogram", name
    for name in ("tgi_queue_size", "tgi_batch_current_size", "tgi_batch_current_max_tokens",
                 "tgi_batch_max_total_tokens"):
        assert fams[name].type == "gauge", name
    errs = {s.labels["err"] for s in fams["tgi_request_failure"].samples}
    assert errs == {"generation", "incomplete"}
    methods = {s.labels["method"] for s in fams["tgi_batch_inference_duration"].samples}
    assert methods == {"prefill", "decode"}


def test_tgi_records_successes_only_where_the_router_does(tgi):
    st = tgi.stats[("chat-assistant", "v1")]
    fams = families(tgi.render("/llm/chat-assistant/v1/metrics"))

    def value(family, sample):
        # prometheus-client's parser names counter samples `<name>_total` whatever the text says
        return next(s.value for s in fams[family].samples if s.name in (sample, sample + "_total"))

    ok = st.requests["stop"] + st.requests["length"]
    assert value("tgi_request_success", "tgi_request_success") == ok
    assert value("tgi_request_duration", "tgi_request_duration_count") == ok
    assert value("tgi_request_count", "tgi_request_count") == sum(st.requests.values())
    # every request passed validation: its input length was recorded
    assert value("tgi_request_input_length", "tgi_request_input_length_count") == sum(
        st.requests.values())
    assert value("tgi_batch_max_total_tokens", "tgi_batch_max_total_tokens") == 28000

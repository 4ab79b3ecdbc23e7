"""The LLM engines' series in vLLM's and TGI's own names (`python -m demo --stack vllm|tgi`).

In a real deployment each model version is its own server with its own /metrics; the demo
serves one endpoint per engine, `/llm/<model>/<version>/metrics`, and the scrape config supplies
what the server itself does not say: vLLM's series carry the served model name (`model_name`)
but no version, TGI's carry neither (target labels `version`, and for TGI `model`; see
docs/stacks/vllm.md and docs/stacks/tgi.md). The demo's own /metrics then has no `ml_llm_*`
serving series: the dashboards can only light up through the adapters (rules/stack_vllm.py,
rules/stack_tgi.py). Quality (evaluation, feedback) and the model info stay in contract names.

vLLM (vllm-project/vllm `vllm/v1/metrics/loggers.py`, PrometheusStatLogger @005a810bc40f; the
0.11 rename per `docs/design/metrics.md` @f7e3a0879e63) uses prometheus-client, so this module
does too: same names, `_total` counters, `le` formatting, labels `model_name` and `engine`
(+ `finished_reason`). With `legacy=True` it emits the pre-0.9 names
(`vllm:gpu_cache_usage_perc`, `vllm:time_per_output_token_seconds`) instead of the current ones
(`vllm:kv_cache_usage_perc`, `vllm:inter_token_latency_seconds`), to exercise the adapter's
fallbacks.

TGI (huggingface/text-generation-inference @db931fcf42da, `router/src/server.rs`,
`router/src/validation.rs`, `backends/v3/src/{backend,queue,lib}.rs`) exports through the Rust
crate metrics-exporter-prometheus 0.15: counters without `_total`, numbers and `le` bounds
printed by Rust's `Display` for f64 (shortest round-trip, no exponent, integers without `.0`),
every `*duration` histogram with buckets 0.0001 x 1.5^k (k = 1..35), input length and generated
tokens with 100 linear buckets up to the configured maxima. What TGI records, and when:
`tgi_request_input_length` at validation (every request), the duration histograms,
`tgi_request_generated_tokens` and `tgi_request_success` for successful requests only,
`tgi_request_failure{err}` for failures (`incomplete` when the client went away mid-request,
`generation` for engine errors), `tgi_batch_inference_duration{method}` per prefill / decode
batch forward. Its time per token is the request's inference time / generated tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from demo.llm import (
    FINISH_REASONS,
    ITL_BUCKETS,
    MAX_MODEL_LEN,
    REQUEST_LATENCY_BUCKETS,
    TTFT_BUCKETS,
    EngineStats,
    LLMSpec,
    TickSample,
    buckets_1_2_5,
)

ENGINE_PATH = "/llm/{model}/{version}/metrics"
VLLM_ENGINE = "0"  # vLLM's `engine` label: the engine core index (one per server here)


def engine_paths(stats) -> dict[str, tuple[str, str]]:
    """path -> (model, version), one endpoint per simulated engine."""
    return {ENGINE_PATH.format(model=m, version=v): (m, v) for (m, v) in stats}


# --------------------------------------------------------------------------------------------
# vLLM


class _Families(Collector):
    def __init__(self, families) -> None:
        self.families = families

    def collect(self):
        yield from self.families


class VLLMRenderer:
    """One vLLM server per model version, as vLLM's PrometheusStatLogger exposes it."""

    def __init__(self, legacy: bool = False) -> None:
        self.legacy = legacy

    def layout(self, spec: LLMSpec) -> dict[str, Sequence[float]]:
        lengths = buckets_1_2_5(MAX_MODEL_LEN)  # build_1_2_5_buckets(max_model_len)
        return {"ttft": TTFT_BUCKETS, "itl": ITL_BUCKETS, "e2e": REQUEST_LATENCY_BUCKETS,
                "queue": REQUEST_LATENCY_BUCKETS, "prefill": REQUEST_LATENCY_BUCKETS,
                "prompt_len": lengths, "generation_len": lengths}

    def observe(self, st: EngineStats, t: TickSample) -> None:
        # vLLM observes every finished request's e2e/queue/prefill and lengths, TTFT when the
        # first token came, and one inter-token latency per token after the first. A client
        # that gave up in the queue is aborted there: no histogram sees it.
        h = st.hist
        produced = t.generation > 0
        h["ttft"].observe(t.ttft[produced])
        h["e2e"].observe(t.e2e)
        h["queue"].observe(t.queue)
        h["prefill"].observe(t.prefill)
        h["prompt_len"].observe(t.prompt)
        h["generation_len"].observe(t.generation)
        h["itl"].observe(t.itl, t.itl_weights)

    def families(self, model: str, st: EngineStats):
        lv = [model, VLLM_ENGINE]
        names = ("model_name", "engine")

        def counter(name: str, doc: str, value: float):
            fam = CounterMetricFamily(name, doc, labels=names)
            fam.add_metric(lv, value)
            return fam

        def gauge(name: str, doc: str, value: float):
            fam = GaugeMetricFamily(name, doc, labels=names)
            fam.add_metric(lv, value)
            return fam

        def hist(name: str, doc: str, key: str):
            fam = HistogramMetricFamily(name, doc, labels=names)
            h = st.hist[key]
            fam.add_metric(lv, h.cumulative(), h.sum)
            return fam

        yield gauge("vllm:num_requests_running", "Number of requests in model execution "
                    "batches.", st.running)
        yield gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
                    st.waiting)
        if self.legacy:
            yield gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent "
                        "usage.", st.kv_usage)
        else:
            yield gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.",
                        st.kv_usage)
        yield counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.",
                      st.preemptions)
        yield counter("vllm:prompt_tokens", "Number of prefill tokens processed.",
                      st.prompt_tokens)
        yield counter("vllm:generation_tokens", "Number of generation tokens processed.",
                      st.generation_tokens)
        success = CounterMetricFamily("vllm:request_success", "Count of successfully processed "
                                      "requests.", labels=(*names, "finished_reason"))
        for reason in FINISH_REASONS:
            success.add_metric([*lv, reason], st.requests[reason])
        yield success
        yield hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.",
                   "prompt_len")
        yield hist("vllm:request_generation_tokens", "Number of generation tokens processed.",
                   "generation_len")
        yield hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in "
                   "seconds.", "ttft")
        if self.legacy:
            yield hist("vllm:time_per_output_token_seconds", "Histogram of time per output "
                       "token in seconds.", "itl")
        else:
            yield hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency "
                       "in seconds.", "itl")
        yield hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in "
                   "seconds.", "e2e")
        yield hist("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING "
                   "phase for request.", "queue")
        yield hist("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL "
                   "phase for request.", "prefill")

    def render(self, model: str, version: str, st: EngineStats) -> str:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(list(self.families(model, st))))
        return generate_latest(registry).decode()


# --------------------------------------------------------------------------------------------
# TGI


def rust_float(value: float) -> str:
    """Rust's `Display` for f64: shortest round-trip digits, never an exponent, `1` not `1.0`."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer():
        return str(int(value))
    text = format(Decimal(repr(float(value))), "f")
    return text


def tgi_duration_buckets() -> list[float]:
    """router/src/server.rs: 35 buckets, value = 0.0001; value *= 1.5 before each push."""
    out, value = [], 0.0001
    for _ in range(35):
        value *= 1.5
        out.append(value)
    return out


def tgi_linear_buckets(maximum: int) -> list[float]:
    """router/src/server.rs: (max as f64 / 100.0) * (x + 1) as f64 for x in 0..100."""
    return [(maximum / 100.0) * float(x + 1) for x in range(100)]


def _max_input_tokens(spec: LLMSpec) -> int:
    return MAX_MODEL_LEN - spec.max_tokens


class TGIRenderer:
    """One TGI server per model version (router + v3 backend), as its router exposes it."""

    def layout(self, spec: LLMSpec) -> dict[str, Sequence[float]]:
        duration = tgi_duration_buckets()
        return {"e2e": duration, "queue": duration, "inference": duration,
                "time_per_token": duration, "prefill_batch": duration,
                "decode_batch": duration,
                "prompt_len": tgi_linear_buckets(_max_input_tokens(spec)),
                "generation_len": tgi_linear_buckets(MAX_MODEL_LEN)}

    def observe(self, st: EngineStats, t: TickSample) -> None:
        h = st.hist
        ok = (t.reason == "stop") | (t.reason == "length")
        # validation records the input length of every request that reaches the router
        h["prompt_len"].observe(t.prompt)
        if t.queue_aborts:
            h["prompt_len"].observe(np.full(t.queue_aborts, float(np.median(t.prompt))
                                            if len(t.prompt) else 0.0))
        inference = t.e2e - t.queue
        h["e2e"].observe(t.e2e[ok])
        h["queue"].observe(t.queue[ok])
        h["inference"].observe(inference[ok])
        h["time_per_token"].observe(inference[ok] / np.maximum(t.generation[ok], 1))
        h["generation_len"].observe(t.generation[ok])
        h["prefill_batch"].observe(t.prefill)  # one prefill forward per admitted request
        if t.decode_steps > 0:
            h["decode_batch"].observe(np.array([t.iteration]), np.array([t.decode_steps]))

    def render(self, model: str, version: str, st: EngineStats) -> str:
        lines: list[str] = []
        f = rust_float

        def head(name: str, kind: str, doc: str) -> None:
            lines.append(f"# HELP {name} {doc}")
            lines.append(f"# TYPE {name} {kind}")

        def sample(name: str, value: float, labels: str = "") -> None:
            lines.append(f"{name}{labels} {f(value)}")

        def hist(name: str, doc: str, key: str, labels: tuple[tuple[str, str], ...] = ()) -> None:
            h = st.hist[key]
            base = ",".join(f'{k}="{v}"' for k, v in labels)
            head(name, "histogram", doc)
            acc = 0.0
            for bound, n in zip([*h.bounds, math.inf], h.counts, strict=True):
                acc += n
                le = ",".join(p for p in (base, f'le="{f(bound)}"') if p)
                sample(f"{name}_bucket", acc, "{" + le + "}")
            sample(f"{name}_sum", h.sum, "{" + base + "}" if base else "")
            sample(f"{name}_count", h.count, "{" + base + "}" if base else "")

        r = st.requests
        total = sum(r.values())
        head("tgi_request_count", "counter", "Total number of requests")
        sample("tgi_request_count", total)
        head("tgi_request_success", "counter", "Number of successful requests")
        sample("tgi_request_success", r["stop"] + r["length"])
        head("tgi_request_failure", "counter", "Number of failed requests")
        sample("tgi_request_failure", r["error"], '{err="generation"}')
        sample("tgi_request_failure", r["abort"], '{err="incomplete"}')
        head("tgi_queue_size", "gauge", "Current queue size")
        sample("tgi_queue_size", st.waiting)
        head("tgi_batch_current_size", "gauge", "Current batch size")
        sample("tgi_batch_current_size", st.running)
        head("tgi_batch_current_max_tokens", "gauge", "Maximum tokens for the current batch")
        sample("tgi_batch_current_max_tokens", round(st.batch_max_tokens))
        head("tgi_batch_max_total_tokens", "gauge", "Maximum amount of tokens in total.")
        sample("tgi_batch_max_total_tokens", st.kv_capacity)
        hist("tgi_request_duration", "Request duration", "e2e")
        hist("tgi_request_queue_duration", "Request queue duration", "queue")
        hist("tgi_request_inference_duration", "Request inference duration", "inference")
        hist("tgi_request_mean_time_per_token_duration", "Mean time per token per request",
             "time_per_token")
        hist("tgi_request_input_length", "Input token length per request", "prompt_len")
        hist("tgi_request_generated_tokens", "Generated tokens per request", "generation_len")
        head("tgi_batch_inference_count", "counter", "Inference calls per method (prefill or "
             "decode)")
        sample("tgi_batch_inference_count", st.hist["prefill_batch"].count, '{method="prefill"}')
        sample("tgi_batch_inference_count", st.hist["decode_batch"].count, '{method="decode"}')
        h_pre, h_dec = st.hist["prefill_batch"], st.hist["decode_batch"]
        lines.append("# HELP tgi_batch_inference_duration Batch inference duration")
        lines.append("# TYPE tgi_batch_inference_duration histogram")
        for method, h in (("prefill", h_pre), ("decode", h_dec)):
            acc = 0.0
            for bound, n in zip([*h.bounds, math.inf], h.counts, strict=True):
                acc += n
                sample("tgi_batch_inference_duration_bucket", acc,
                       f'{{method="{method}",le="{f(bound)}"}}')
            sample("tgi_batch_inference_duration_sum", h.sum, f'{{method="{method}"}}')
            sample("tgi_batch_inference_duration_count", h.count, f'{{method="{method}"}}')
        return "\n".join(lines) + "\n"


RENDERERS = {"vllm": VLLMRenderer, "tgi": TGIRenderer}

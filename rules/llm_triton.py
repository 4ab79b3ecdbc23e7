"""LLM signals for Triton Inference Server with the TensorRT-LLM backend (stack `triton`).

Names and labels from triton-inference-server/tensorrtllm_backend `README.md` ("Triton Metrics",
@0b9d7d5a1958): gauges `nv_trt_llm_request_metrics{request_type=waiting|context|scheduled|max|
active}` and `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction|used|free|max|
tokens_per}`, labels `model` and `version` (Triton's); and Triton core's per-model counters
`nv_inference_request_success`, `nv_inference_request_failure`, `nv_inference_queue_duration_us`
(microseconds, cumulative; no `_total` suffix). The fleet's serving signals for Triton come from
the `triton` stack adapter; this module adds the LLM ones.

What Triton TensorRT-LLM cannot give here (docs/stacks/llm.md): token counters (the batch
manager's token figures are per-iteration gauges), preemptions, per-token latency histograms,
prompt/generation length histograms and time to first token (`nv_inference_first_response_
histogram_ms` exists only for decoupled models with histogram latencies switched on, in ms, with
bucket bounds we cannot assume) — those panels stay empty for Triton TensorRT-LLM models.
"""

from _llmlib import per_version, window
from _rulelib import CONFIG, on, sel

STACK = "triton"
TRITON_MODEL = "model"  # Triton's own label for the model name


def _rules() -> list[dict]:
    from _llmlib import adapter_rules

    s = sel()

    def rate(metric: str) -> str:
        return f"rate({window(metric + s)})"

    def state(kind: str) -> str:
        matcher = sel(f'request_type="{kind}"')
        return per_version(f"nv_trt_llm_request_metrics{matcher}", TRITON_MODEL)

    reason = 'label_replace({expr}, "finish_reason", "{value}", "finish_reason", "")'
    success = per_version(rate("nv_inference_request_success"), TRITON_MODEL)
    failure = per_version(rate("nv_inference_request_failure"), TRITON_MODEL)
    kv = sel('kv_cache_block_type="fraction"')
    # Only TensorRT-LLM models have nv_trt_llm_* series: restrict the request counters to them.
    trt = f"\n  and {on('job', version=True)} " + state("max")
    return adapter_rules(
        finished=(f"({reason.format(expr=success, value='stop')}\n"
                  f"  or {reason.format(expr=failure, value='error')}){trt}"),
        prompt_tokens=None,
        generation_tokens=None,
        running=state("active"),
        waiting=state("waiting"),
        kv_cache=per_version(f"nv_trt_llm_kv_cache_block_metrics{kv}", TRITON_MODEL, agg="max"),
        preemptions=None,
        buckets={},
        queue_mean=(f"{per_version(rate('nv_inference_queue_duration_us'), TRITON_MODEL)} / 1e6\n"
                    f"  / ({success} + {failure}){trt}"),
        over_slo=None,
    )


groups = [{"name": "ml-llm-triton.rules", "rules": _rules()}] if CONFIG.stack_on(STACK) else []

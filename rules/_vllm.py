"""vLLM's metric family, shared by the vLLM adapter and the Ray Serve LLM adapter (its engine).

Names, labels and units from vllm-project/vllm `vllm/v1/metrics/loggers.py` (PrometheusStatLogger
@005a810bc40f; current names per `docs/design/metrics.md` @f7e3a0879e63): labels `model_name`
(the served model name) and `engine`; `finished_reason` on `request_success` (`stop`, `length`,
`abort`, newer `error`, `repetition`); histograms in seconds and tokens. Renamed metrics are read
new-or-old: `kv_cache_usage_perc` (0.9+) or `gpu_cache_usage_perc`, `inter_token_latency_seconds`
(0.11+) or `time_per_output_token_seconds`. vLLM has no version label: the version comes from a
target label of the same name (scrape config) or is "unknown".
"""

from __future__ import annotations

from collections.abc import Callable

from _llmlib import adapter_rules, le_regex, per_version, record, slo_seconds, window
from _rulelib import divide, sel

SOURCE_MODEL = "model_name"


def llm_rules(name: Callable[[str], str]) -> list[dict]:
    """The LLM signals from vLLM-family series; `name("prompt_tokens_total")` -> the series name."""
    s = sel()

    def rate(metric: str, matchers: str = s) -> str:
        return f"rate({window(name(metric) + matchers)})"

    def either(new: str, old: str) -> str:
        return f"({rate(new)} or {rate(old)})"

    def pv(inner: str, agg: str = "sum", extra: tuple[str, ...] = ()) -> str:
        return per_version(inner, SOURCE_MODEL, agg, extra)

    def bucket(metric: str) -> str:
        return pv(rate(metric + "_bucket"), extra=("le",))

    slow = sel(f'le=~"{le_regex(slo_seconds())}"')
    finished = pv(f'label_replace({rate("request_success_total")}, "finish_reason", "$1", '
                  f'"finished_reason", "(.+)")', extra=("finish_reason",))
    return adapter_rules(
        finished=finished,
        prompt_tokens=pv(rate("prompt_tokens_total")),
        generation_tokens=pv(rate("generation_tokens_total")),
        running=pv(name("num_requests_running") + s),
        waiting=pv(name("num_requests_waiting") + s),
        kv_cache=pv(f"({name('kv_cache_usage_perc')}{s} or {name('gpu_cache_usage_perc')}{s})",
                    agg="max"),
        preemptions=pv(rate("num_preemptions_total")),
        buckets={
            "time_to_first_token": bucket("time_to_first_token_seconds"),
            "inter_token_latency": pv(either("inter_token_latency_seconds_bucket",
                                             "time_per_output_token_seconds_bucket"),
                                      extra=("le",)),
            "e2e_request_latency": bucket("e2e_request_latency_seconds"),
            "queue_time": bucket("request_queue_time_seconds"),
            "request_prompt_tokens": bucket("request_prompt_tokens"),
            "request_generation_tokens": bucket("request_generation_tokens"),
        },
        queue_mean=(f"{pv(rate('request_queue_time_seconds_sum'))}\n"
                    f"  / {pv(rate('request_queue_time_seconds_count'))}"),
        over_slo=(f"1 - {pv(rate('time_to_first_token_seconds_bucket', slow))}\n"
                  f"  / {pv(rate('time_to_first_token_seconds_count'))}"),
    )


def serving_rules(name: Callable[[str], str]) -> list[dict]:
    """The fleet's base serving signals (DESIGN: every stack adapter) from vLLM-family series.

    Requests are finished requests (any reason), errors those finished with `error`, latency the
    end-to-end request latency. The error ratio and the quantiles derive from these recorded
    signals in the contract's serving rules (rules/stack_contract.py), once for every stack.
    """
    s = sel()

    def rate(metric: str, matchers: str = s) -> str:
        return f"rate({window(name(metric) + matchers)})"

    def pv(inner: str, extra: tuple[str, ...] = ()) -> str:
        return per_version(inner, SOURCE_MODEL, "sum", extra)

    requests = pv(rate("request_success_total"))
    failed = pv(rate("request_success_total", sel('finished_reason="error"')))
    errors = f"({failed} or 0 * {requests})"
    duration = pv(rate("e2e_request_latency_seconds_bucket"), extra=("le",))
    return [
        record("model_version:ml_inference_requests:rate5m", requests),
        record("model_version:ml_inference_request_errors:rate5m", errors),
        record("model_version_le:ml_inference_duration_seconds_bucket:rate5m", duration),
        record("model_version:ml_inference_duration_seconds:mean5m",
               divide(pv(rate("e2e_request_latency_seconds_sum")),
                      pv(rate("e2e_request_latency_seconds_count")))),
    ]

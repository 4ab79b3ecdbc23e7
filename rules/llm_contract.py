"""LLM serving signals from the contract's own `ml_llm_*` series (stack `contract`).

The model service emits docs/metrics.md's "LLM serving" metrics with the configured model and
version labels; this adapter only aggregates them to the recorded signals of rules/_llmlib.py.
"""

from _llmlib import JMV, JMVL, adapter_rules, le_regex, per_version, slo_seconds, window
from _rulelib import CONFIG, sel

STACK = "contract"
S = sel()


def rate(metric: str) -> str:
    return f"rate({window(metric + S)})"


def bucket(metric: str) -> str:
    return f"sum {JMVL} ({rate(metric + '_bucket')})"


def _rules() -> list[dict]:
    slow = sel(f'le=~"{le_regex(slo_seconds())}"')
    return adapter_rules(
        finished=per_version(rate("ml_llm_requests_total"), None, extra=("finish_reason",)),
        prompt_tokens=f"sum {JMV} ({rate('ml_llm_prompt_tokens_total')})",
        generation_tokens=f"sum {JMV} ({rate('ml_llm_generation_tokens_total')})",
        running=f"sum {JMV} (ml_llm_requests_running{S})",
        waiting=f"sum {JMV} (ml_llm_requests_waiting{S})",
        kv_cache=f"max {JMV} (ml_llm_kv_cache_usage_ratio{S})",
        preemptions=f"sum {JMV} ({rate('ml_llm_preemptions_total')})",
        buckets={
            "time_to_first_token": bucket("ml_llm_time_to_first_token_seconds"),
            "inter_token_latency": bucket("ml_llm_inter_token_latency_seconds"),
            "e2e_request_latency": bucket("ml_llm_e2e_request_latency_seconds"),
            "queue_time": bucket("ml_llm_queue_time_seconds"),
            "request_prompt_tokens": bucket("ml_llm_request_prompt_tokens"),
            "request_generation_tokens": bucket("ml_llm_request_generation_tokens"),
        },
        queue_mean=(f"sum {JMV} ({rate('ml_llm_queue_time_seconds_sum')})\n"
                    f"  / sum {JMV} ({rate('ml_llm_queue_time_seconds_count')})"),
        over_slo=(f"1 - sum {JMV} (rate({window('ml_llm_time_to_first_token_seconds_bucket' + slow)}))\n"
                  f"  / sum {JMV} ({rate('ml_llm_time_to_first_token_seconds_count')})"),
    )


groups = [{"name": "ml-llm-contract.rules", "rules": _rules()}] if CONFIG.stack_on(STACK) else []

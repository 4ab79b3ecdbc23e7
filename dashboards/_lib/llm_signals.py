"""The recorded LLM signals the dashboards read (names are an interface: rules/_llmlib.py
records them for every LLM server; tests/unit/test_llm_rules.py checks both sides agree)."""

from __future__ import annotations

from _lib.promql import M, V, by, sel

REQUESTS = "model_version:ml_llm_requests:rate5m"
FINISHED = "model_version_finish_reason:ml_llm_requests:rate5m"
ERRORS = "model_version:ml_llm_request_errors_per_ml_llm_requests:ratio_rate5m"
PROMPT_TOKENS = "model_version:ml_llm_prompt_tokens:rate5m"
GENERATION_TOKENS = "model_version:ml_llm_generation_tokens:rate5m"
RUNNING = "model_version:ml_llm_requests_running:sum"
WAITING = "model_version:ml_llm_requests_waiting:sum"
KV_CACHE = "model_version:ml_llm_kv_cache_usage_ratio:max"
PREEMPTIONS = "model_version:ml_llm_preemptions_per_ml_llm_requests:ratio_rate5m"
PROMPT_LENGTH = "model_version_le:ml_llm_request_prompt_tokens_bucket:rate5m"
GENERATION_LENGTH = "model_version_le:ml_llm_request_generation_tokens_bucket:rate5m"
OVER_SLO = "model_version:ml_llm_time_to_first_token_over_slo:ratio_rate{w}"
COST_PER_1K = "model_version:ml_llm_cost_usd_per_1k_tokens:ratio_rate5m"
QUANTILES = (50, 90, 95, 99)


def latency(metric: str, p: int) -> str:
    """`model_version:ml_llm_<metric>_seconds:p<p>_rate5m`."""
    return f"model_version:ml_llm_{metric}_seconds:p{p}_rate5m"


def signal(record: str, agg: str = "max", labels: tuple[str, ...] = (M, V)) -> str:
    """A recorded signal for the selected models (and versions), one series per label set."""
    return f"{agg} by ({by(*labels)}) ({record}{sel(version=V in labels)})"


def quantiles(metric: str) -> list[tuple[int, str]]:
    return [(p, signal(latency(metric, p))) for p in QUANTILES]


def tokens_per_second(labels: tuple[str, ...] = (M, V)) -> str:
    """Prompt + generated tokens per second."""
    return (f"{signal(PROMPT_TOKENS, 'sum', labels)}"
            f" + {signal(GENERATION_TOKENS, 'sum', labels)}")

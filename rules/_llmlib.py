"""The LLM serving signals every LLM adapter records, and the helpers to write an adapter.

An adapter (rules/llm_contract.py, stack_vllm.py, stack_tgi.py, llm_triton.py, llm_rayserve.py)
maps its server's native series onto these recorded signals; dashboards/llm.py and the LLM
alerts (rules/llm.py) read only the signals, so they work the same on every server. Each signal
keeps `job` and the configured model and version labels (`version="unknown"` where the server
has none and no target label supplies it). docs/stacks/llm.md tells, per server, where each
signal comes from and which ones a server cannot give.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from _rulelib import CONFIG, WINDOW, M, V, by, divide, quantile_with_traffic
from _rulelib import record as _record


def record(name: str, expr: str) -> dict:
    """A recording rule; multi-line expressions end with a newline (canonical YAML blocks)."""
    return _record(name, block(expr))


def block(expr: str) -> str:
    return expr + "\n" if "\n" in expr and not expr.endswith("\n") else expr


def finite_duration(expr: str) -> str:
    """A duration an adapter computes by dividing or adding quantiles: kept where it is a number
    (no traffic gives 0/0 = NaN and an empty histogram a NaN quantile; absent, as rules/_rulelib's
    divide() makes a ratio, so no panel draws NaN and no alert compares with it)."""
    return f"({expr.rstrip()})\n  >= 0 < +Inf"

# --- the signals (names are an interface: dashboards/llm.py reads them) -------------------------
FINISHED = "model_version_finish_reason:ml_llm_requests:rate5m"
REQUESTS = "model_version:ml_llm_requests:rate5m"
ERRORS = "model_version:ml_llm_request_errors:rate5m"
ERROR_RATIO = "model_version:ml_llm_request_errors_per_ml_llm_requests:ratio_rate5m"
PROMPT_TOKENS = "model_version:ml_llm_prompt_tokens:rate5m"
GENERATION_TOKENS = "model_version:ml_llm_generation_tokens:rate5m"
RUNNING = "model_version:ml_llm_requests_running:sum"
WAITING = "model_version:ml_llm_requests_waiting:sum"
KV_CACHE = "model_version:ml_llm_kv_cache_usage_ratio:max"
PREEMPTIONS = "model_version:ml_llm_preemptions:rate5m"
PREEMPTION_RATIO = "model_version:ml_llm_preemptions_per_ml_llm_requests:ratio_rate5m"
QUEUE_MEAN = "model_version:ml_llm_queue_time_seconds:mean5m"
OVER_SLO = "model_version:ml_llm_time_to_first_token_over_slo:ratio_rate{window}"
COST_PER_1K = "model_version:ml_llm_cost_usd_per_1k_tokens:ratio_rate5m"
QUANTILES = ("50", "90", "95", "99")
LATENCIES = ("time_to_first_token", "inter_token_latency", "e2e_request_latency", "queue_time")
LENGTHS = ("request_prompt_tokens", "request_generation_tokens")


def bucket_record(name: str) -> str:
    """`model_version_le:ml_llm_<name>_bucket:rate5m` (a latency in seconds or a length)."""
    suffix = "_seconds" if name in LATENCIES else ""
    return f"model_version_le:ml_llm_{name}{suffix}_bucket:rate5m"


def quantile_record(name: str, q: str) -> str:
    return f"model_version:ml_llm_{name}_seconds:p{q}_rate5m"


JMV = by("job", version=True)
JMVL = by("job", "le", version=True)

# --- building blocks -----------------------------------------------------------------------------


def window(expr: str) -> str:
    return f"{expr}[{WINDOW}]"


def as_model(expr: str, source: str | None) -> str:
    """Copy the server's model label (`source`) into the configured model label."""
    if source is None or source == M:
        return expr
    return f'label_replace({expr}, "{M}", "$1", "{source}", "(.+)")'


def default_version(expr: str) -> str:
    """`version="unknown"` on series whose version no label (nor target label) gives."""
    return f'label_replace({expr}, "{V}", "unknown", "{V}", "")'


def per_version(inner: str, source: str | None, agg: str = "sum", extra: tuple[str, ...] = ()
                ) -> str:
    """`agg by (job, [extra], model, version)` of `inner` after the model label is mapped."""
    clause = by("job", *extra, version=True)
    return default_version(f"{agg} {clause} ({as_model(inner, source)})")


def le_regex(bound: float) -> str:
    """A regex for a bucket's `le` label as servers print it ("1", "1.0", "0.7481827642679213")."""
    if float(bound).is_integer():
        return f"{int(bound)}(\\\\.0)?"
    return re.escape(repr(float(bound))).replace("\\.", "\\\\.")


def tgi_duration_bound(limit: float) -> float:
    """The largest bound of TGI's duration buckets at or below `limit`.

    TGI (router/src/server.rs @db931fcf42da) sets every `*duration` histogram's buckets to
    0.0001 * 1.5^k, k = 1..35, computed in f64 the same way as here.
    """
    value, best = 0.0001, math.nan
    for _ in range(35):
        value *= 1.5
        if value <= limit:
            best = value
    return best


# --- one adapter's rules --------------------------------------------------------------------------


def adapter_rules(
    *,
    finished: str,
    prompt_tokens: str | None,
    generation_tokens: str | None,
    running: str,
    waiting: str,
    kv_cache: str | None,
    preemptions: str | None,
    buckets: dict[str, str],
    over_slo: str | None,
    queue_mean: str | None = None,
    quantile: dict[str, Callable[[str], str]] | None = None,
) -> list[dict]:
    """The base LLM signals from one server's series (each argument already per version).

    `finished`: finished requests/s with a `finish_reason` label; `buckets`: name -> per-`le`
    rates for the names in LATENCIES and LENGTHS the server has; `quantile`: name -> q -> an
    expression for a latency the server has no histogram of (TGI's TTFT = queue + prefill);
    `over_slo`: share of requests slower than the TTFT SLO (0-1). None = the server has no such
    series: the signal is not recorded (docs/stacks/llm.md lists the gaps).

    Only signals computed from the server's own series are recorded here: what derives from
    recorded signals (request totals, ratios, quantiles from the bucket rates, long windows) is
    recorded once for all adapters by rules/llm.py, so two adapters never write the same series.
    """
    quantile = quantile or {}
    rules = [record(FINISHED, finished)]
    if prompt_tokens:
        rules.append(record(PROMPT_TOKENS, prompt_tokens))
    if generation_tokens:
        rules.append(record(GENERATION_TOKENS, generation_tokens))
    rules += [record(RUNNING, running), record(WAITING, waiting)]
    if kv_cache:
        rules.append(record(KV_CACHE, kv_cache))
    if preemptions:
        rules.append(record(PREEMPTIONS, preemptions))
    for name, expr in buckets.items():
        if name not in LATENCIES + LENGTHS:
            raise ValueError(f"unknown LLM histogram {name!r}")
        rules.append(record(bucket_record(name), expr))
    for name, q_expr in quantile.items():
        if name in buckets:
            raise ValueError(f"{name}: give buckets or a quantile expression, not both")
        rules += [record(quantile_record(name, q), finite_duration(q_expr(q))) for q in QUANTILES]
    if queue_mean:
        rules.append(record(QUEUE_MEAN, finite_duration(queue_mean)))
    if over_slo:
        # no traffic = 0/0 = NaN: not recorded, or it would poison the long windows' averages
        # (avg_over_time of anything with a NaN is NaN, for hours)
        rules.append(record(OVER_SLO.format(window="5m"), f"({over_slo})\n  >= 0"))
    return rules


def derived_rules() -> list[dict]:
    """Signals derived from the adapters' base signals (once, for every adapter's series)."""
    rules = [
        record(REQUESTS, f"sum {JMV} ({FINISHED})"),
        # no error series (a counter not initialised before the first failure) = 0 errors
        record(ERRORS, f'sum {JMV} ({FINISHED}{{finish_reason="error"}})\n  or 0 * {REQUESTS}'),
        # no traffic: absent, not 0/0 = NaN (rules/_rulelib.py's divide, quantile_with_traffic)
        record(ERROR_RATIO, divide(ERRORS, REQUESTS)),
        record(PREEMPTION_RATIO, divide(PREEMPTIONS, REQUESTS)),
    ]
    for name in LATENCIES:
        rules += [record(quantile_record(name, q),
                         quantile_with_traffic(f"0.{q}", bucket_record(name), "job", version=True))
                  for q in QUANTILES]
    return rules


def slo_seconds() -> float:
    return CONFIG.threshold("llm_ttft_slo_seconds")

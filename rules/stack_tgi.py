"""Adapter for Hugging Face TGI (stack `tgi`): its native `tgi_*` series -> serving and LLM signals.

Names, types and units from huggingface/text-generation-inference @db931fcf42da:
`router/src/server.rs` (request counters and histograms, bucket layout), `router/src/validation.rs`
(`tgi_request_input_length`), `backends/v3/src/{backend,queue,lib}.rs` (batch and queue gauges,
`tgi_request_failure{err}`, `tgi_batch_max_total_tokens`). Counters carry no `_total` suffix
(metrics-exporter-prometheus 0.15). Durations are seconds.

What TGI does not have, and what this adapter does instead (docs/stacks/tgi.md):
- no model or version label: both come from target labels of the scrape config (e.g. a static
  `labels: {model: ..., version: ...}` or relabelled pod labels); without a model label the
  series' `job` names the model, without a version label it is "unknown";
- no time-to-first-token metric: TTFT quantiles are the queue-time quantile plus the prefill
  batch quantile (`tgi_request_queue_duration` + `tgi_batch_inference_duration{method="prefill"}`,
  an upper-leaning approximation), and the SLO's "too slow" share is 1 - P(queue <= b) x
  P(prefill <= b) for b the largest TGI duration bucket at or below the SLO (queue and prefill
  taken as independent; it misses requests where neither alone but their sum is over);
- no finish reasons: successes count as `stop`, failures (`tgi_request_failure`) as `error`,
  except `err="incomplete"` (the client dropped the stream) as `abort`;
- no KV-cache gauge: usage is the running batch's token budget in use,
  `tgi_batch_current_max_tokens / tgi_batch_max_total_tokens`;
- no preemptions: TGI admits requests only within its token budget and never preempts (0);
- inter-token latency is each request's mean time per token, not one observation per token.
"""

from _llmlib import (
    adapter_rules,
    le_regex,
    record,
    slo_seconds,
    tgi_duration_bound,
    window,
)
from _rulelib import CONFIG, M, V, by, divide, sel

STACK = "tgi"



def _sel(*matchers: str) -> str:
    body = sel(*matchers)
    return body[1:-1] if body else ""


def _with_and_without_model(*matchers: str) -> tuple[str, str]:
    """The matchers (no braces) of the series with a model label, and of those without."""
    inner = _sel(*matchers)
    return tuple(", ".join(p for p in (inner, f'{M}{op}""') if p) for op in ("!=", "="))


def series(metric: str, *matchers: str) -> str:
    """`metric{selectors, matchers}` with the model label filled in (from the target, else from `job`)."""
    m_ok, m_no = _with_and_without_model(*matchers)
    return (f"({metric}{{{m_ok}}} or "
            f'label_replace({metric}{{{m_no}}}, "{M}", "$1", "job", "(.+)"))')


def rate(metric: str, *matchers: str) -> str:
    """rate() of a TGI counter/bucket with the model label filled in."""
    m_ok, m_no = _with_and_without_model(*matchers)
    return (f"(rate({window(metric + '{' + m_ok + '}')}) or "
            f'label_replace(rate({window(metric + "{" + m_no + "}")}), "{M}", "$1", "job", "(.+)"))')


def pv(inner: str, agg: str = "sum", extra: tuple[str, ...] = ()) -> str:
    return f'label_replace({agg} {by("job", *extra, version=True)} ({inner}), "{V}", "unknown", "{V}", "")'


def reason(expr: str, value: str) -> str:
    return f'label_replace({expr}, "finish_reason", "{value}", "finish_reason", "")'


def bucket(metric: str, *matchers: str) -> str:
    return pv(rate(metric + "_bucket", *matchers), extra=("le",))


def _llm_rules() -> list[dict]:
    queue = bucket("tgi_request_queue_duration")
    prefill_m = 'method="prefill"'
    prefill = bucket("tgi_batch_inference_duration", prefill_m)
    slow = f'le=~"{le_regex(tgi_duration_bound(slo_seconds()))}"'
    # failures by cause: a stream the client dropped (`incomplete`) is an abort, the rest errors
    failures = reason(
        f'label_replace(sum {by("job", "err", version=True)} ({rate("tgi_request_failure")}), '
        '"finish_reason", "abort", "err", "incomplete")', "error")
    return adapter_rules(
        finished=(f"{reason(pv(rate('tgi_request_success')), 'stop')}\n"
                  f"  or {pv(failures, extra=('finish_reason',))}"),
        prompt_tokens=pv(rate("tgi_request_input_length_sum")),
        generation_tokens=pv(rate("tgi_request_generated_tokens_sum")),
        running=pv(series("tgi_batch_current_size")),
        waiting=pv(series("tgi_queue_size")),
        kv_cache=(f"{pv(series('tgi_batch_current_max_tokens'), 'max')}\n"
                  f"  / {pv(series('tgi_batch_max_total_tokens'), 'max')}"),
        preemptions=f"0 * {pv(rate('tgi_request_success'))}",
        buckets={
            "inter_token_latency": bucket("tgi_request_mean_time_per_token_duration"),
            "e2e_request_latency": bucket("tgi_request_duration"),
            "queue_time": bucket("tgi_request_queue_duration"),
            "request_prompt_tokens": bucket("tgi_request_input_length"),
            "request_generation_tokens": bucket("tgi_request_generated_tokens"),
        },
        quantile={"time_to_first_token": lambda q: (
            f"histogram_quantile(0.{q}, {queue})\n  + histogram_quantile(0.{q}, {prefill})")},
        queue_mean=(f"{pv(rate('tgi_request_queue_duration_sum'))}\n"
                    f"  / {pv(rate('tgi_request_queue_duration_count'))}"),
        # within the SLO = waited less than the bound AND prefilled in less than it (taken
        # as independent): 1 - P(queue <= b) x P(prefill <= b)
        over_slo=(f"1 - {pv(rate('tgi_request_queue_duration_bucket', slow))}\n"
                  f"  / {pv(rate('tgi_request_queue_duration_count'))}\n"
                  f"  * {pv(rate('tgi_batch_inference_duration_bucket', prefill_m, slow))}\n"
                  f"  / {pv(rate('tgi_batch_inference_duration_count', prefill_m))}"),
    )


def _serving_rules() -> list[dict]:
    """The fleet's base serving signals (DESIGN: every stack adapter) from TGI's own series.

    The error ratio and the quantiles derive from these recorded signals in the contract's
    serving rules (rules/stack_contract.py), once for every stack.
    """
    success = pv(rate("tgi_request_success"))
    failure = pv(rate("tgi_request_failure"))
    requests = f"({success} + ({failure} or 0 * {success}))"
    errors = f"({failure} or 0 * {success})"
    duration = bucket("tgi_request_duration")
    return [
        record("model_version:ml_inference_requests:rate5m", requests),
        record("model_version:ml_inference_request_errors:rate5m", errors),
        record("model_version_le:ml_inference_duration_seconds_bucket:rate5m", duration),
        record("model_version:ml_inference_duration_seconds:mean5m",
               divide(pv(rate("tgi_request_duration_sum")), pv(rate("tgi_request_duration_count")))),
    ]


groups = [
    {"name": "ml-serving-tgi.rules", "rules": _serving_rules()},
    {"name": "ml-llm-tgi.rules", "rules": _llm_rules()},
] if CONFIG.stack_on(STACK) else []

"""LLM serving: time to first token, streaming speed, tokens, KV cache, quality and cost per version.

Reads only the recorded LLM signals (`model_version:ml_llm_*`, docs/stacks/llm.md) that every
LLM adapter produces, so the same panels work on the contract's `ml_llm_*` series and on vLLM,
TGI, Triton TensorRT-LLM or Ray Serve LLM (`stacks:` in monitoring.yaml); the quality side is the
batch evaluation (Pushgateway) and the users' feedback, per version.
"""

from _config import CONFIG as C
from _lib.dashboard import ml_dashboard
from _lib.layout import section
from _lib.llm_signals import (
    COST_PER_1K,
    ERRORS,
    FINISHED,
    GENERATION_LENGTH,
    GENERATION_TOKENS,
    KV_CACHE,
    OVER_SLO,
    PREEMPTIONS,
    PROMPT_LENGTH,
    PROMPT_TOKENS,
    QUANTILES,
    REQUESTS,
    RUNNING,
    WAITING,
    latency,
    quantiles,
    signal,
    tokens_per_second,
)
from _lib.panels import (
    bargauge,
    gauge,
    heatmap,
    higher_is_bad,
    lower_is_bad,
    neutral,
    q,
    stat,
    table,
    table_q,
    timeseries,
)
from _lib.promql import MV, M, V, by, eq, legend, ratio, sel, sum_rate
from _lib.signals import positive_feedback_share

folder = C.folder

SLO = C.llm_ttft_slo_seconds
TARGET = C.llm_ttft_slo_target
BUDGET = 1.0 - TARGET
TTFT = higher_is_bad(SLO / 2, SLO)
ITL = higher_is_bad(C.llm_itl_p95_warn_seconds, 2 * C.llm_itl_p95_warn_seconds)
ERROR_STEPS = higher_is_bad(C.llm_error_finish_ratio_warn, C.llm_error_finish_ratio_crit)
KV = higher_is_bad(C.llm_kv_cache_usage_warn, C.llm_kv_cache_usage_crit)
PREEMPT = higher_is_bad(C.llm_preemption_ratio_crit / 2, C.llm_preemption_ratio_crit)
WAIT = higher_is_bad(C.llm_queue_waiting_max / 2, C.llm_queue_waiting_max)
BURN = higher_is_bad(C.llm_burn_rate_slow, C.llm_burn_rate_fast)
ATTAINMENT = lower_is_bad(TARGET - BUDGET, TARGET)
EVAL = lower_is_bad(C.llm_eval_score_min, C.llm_eval_score_min + 0.05)
GUARDRAIL = higher_is_bad(C.llm_guardrail_trigger_warn / 2, C.llm_guardrail_trigger_warn)
FEEDBACK = lower_is_bad(C.feedback_positive_crit, C.feedback_positive_warn)

attainment = f"1 - {signal(OVER_SLO.format(w='5m'))}"
EVALUATION = sel(version=True, source="evaluation")
# the recorded 15-minute share (as dashboards/feedback.py)
positive_feedback = positive_feedback_share()
feedback_per_request = ratio(
    sum_rate("ml_feedback_total", sel(version=True), (M, V)),
    signal(REQUESTS, "sum"),
)


JUDGED = 95  # the percentile the TTFT SLO and the inter-token threshold bound
# the other percentile lines (legend "p50 model version", ...): no red
NOT_JUDGED = "p(" + "|".join(str(p) for p in QUANTILES if p != JUDGED) + ") .*"


def q_all(metric: str) -> list:
    """p95, p50, p90 and p99 of a latency, one series per version each: p95 first, as the
    series the panels' thresholds judge (the first series draws a graph's threshold lines)."""
    qs = sorted(quantiles(metric), key=lambda pq: pq[0] != JUDGED)
    return [q(expr, f"p{p} " + MV) for p, expr in qs]


def burn_rate(window: str) -> str:
    return f"{signal(OVER_SLO.format(w=window))} / {BUDGET:g}"


dashboard = ml_dashboard(
    uid="ml-llm",
    title="ML monitoring: LLM serving",
    area="llm",
    description="Generative models in tokens: time to first token against its SLO, streaming "
    "speed, token throughput, scheduler queue and KV cache, finish reasons, prompt and answer "
    "lengths, evaluation scores, guardrails, user feedback and cost per 1k tokens, per version. "
    "Same panels for vLLM, TGI, Triton TensorRT-LLM and Ray Serve LLM through the adapters.",
    info_metric=REQUESTS,
    sections=[
        section(
            "Service level now",
            stat("TTFT p95", f"95th percentile time to first token per version (5 min). The "
                 f"SLO: {TARGET:.0%} of requests within {SLO:g} s. Bad: red above {SLO:g} s "
                 "(users wait for the answer to start).",
                 [q(signal(latency("time_to_first_token", 95)), MV, instant=True)], unit="s",
                 steps=TTFT, graph=False, text_mode="value_and_name", w=5),
            stat("TTFT SLO attainment now", f"Share of requests whose first token came within "
                 f"{SLO:g} s (5 min). Bad: below {TARGET:.0%} (orange) — the error budget "
                 "burns; below that by another budget, red.",
                 [q(attainment, MV, instant=True)], unit="percentunit", steps=ATTAINMENT,
                 graph=False, text_mode="value_and_name", w=5),
            stat("Tokens per second", "Prompt + generated tokens per second per version. Bad: "
                 "a drop to 0 (traffic lost) or far from the usual level.",
                 [q(tokens_per_second(), MV, instant=True)], unit="short", graph=False,
                 text_mode="value_and_name", w=5),
            gauge("KV cache in use", "Share of the KV cache in use (highest engine of the "
                  f"version). Bad: above {C.llm_kv_cache_usage_crit:.0%}: the engine preempts "
                  "requests and new ones wait.",
                  [q(signal(KV_CACHE), MV, instant=True)], unit="percentunit", steps=KV, w=5),
            stat("Error-finish ratio", "Requests that finished with an error / all finished "
                 f"(5 min). Bad: above {C.llm_error_finish_ratio_warn:.0%} (orange) or "
                 f"{C.llm_error_finish_ratio_crit:.0%} (red).",
                 [q(signal(ERRORS), MV, instant=True)], unit="percentunit",
                 steps=ERROR_STEPS, graph=False, text_mode="value_and_name", w=4),
        ),
        section(
            "Latency",
            timeseries("Time to first token", "p50, p90, p95 and p99 of the time from arrival "
                       "to the first output token (queue + prefill). Bad: p95 above the SLO "
                       f"({SLO:g} s, dashed: the SLO bounds p95, {TARGET:.0%} of requests within "
                       "it, so the line judges the p95 series only; p99 may cross it within the "
                       "error budget); p99 far above p50 = a queue or very long prompts. "
                       "TGI has no TTFT metric: its adapter records queue time + prefill time.",
                       q_all("time_to_first_token"), unit="s", steps=TTFT,
                       not_judged=NOT_JUDGED, min=0, w=12),
            timeseries("Inter-token latency", "p50–p99 time between two output tokens "
                       "(streaming speed; TGI: each request's mean time per token). Bad: p95 "
                       f"above {C.llm_itl_p95_warn_seconds:g} s (slower than people read): too "
                       "large a batch or a KV cache under pressure. The dashed lines judge the "
                       "p95 series only.",
                       q_all("inter_token_latency"), unit="s", steps=ITL,
                       not_judged=NOT_JUDGED, min=0, w=12),
            timeseries("End-to-end request latency", "p50–p99 from arrival to the last token. "
                       "Grows with answer length. Bad: rising while the generation length "
                       "stays put (the engine slows down), or p99 at the client timeout.",
                       q_all("e2e_request_latency"), unit="s", min=0, w=12),
            timeseries("Queue time", "p95 and mean time requests waited before the engine "
                       "scheduled them. Bad: anything above a few hundred ms — batch slots or "
                       "KV cache are full; it adds straight to TTFT.",
                       [q(signal(latency("queue_time", 95)), "p95 " + MV),
                        q(signal("model_version:ml_llm_queue_time_seconds:mean5m"),
                          "mean " + MV)], unit="s", min=0, w=12),
        ),
        section(
            "Throughput and scheduler",
            timeseries("Token throughput", "Prompt (prefill) and generated tokens per second "
                       "per version. Bad: generation falling while requests keep coming (the "
                       "engine is stuck), or prompt tokens jumping (a client sends huge "
                       "contexts: TTFT and KV use follow).",
                       [q(signal(PROMPT_TOKENS, "sum"), "prompt " + MV),
                        q(signal(GENERATION_TOKENS, "sum"), "generated " + MV)],
                       unit="short", min=0, w=12),
            timeseries("Finish reasons", "Finished requests per second by why they ended: stop "
                       "(answer complete), length (cut at max_tokens), abort (client gave up), "
                       "error. Bad: length rising (answers truncated), abort or error "
                       "rising. TGI reports success (as stop) and failures (as error) only.",
                       [q(f"sum by ({by(M, V, 'finish_reason')}) "
                          f"({FINISHED}{sel(version=True)})", MV + " {{finish_reason}}")],
                       unit="reqps", stack=True, fill=40, min=0, w=12),
            timeseries("Scheduler state", "Requests running (in the batch) and waiting (queued) "
                       f"per version. Bad: waiting above {C.llm_queue_waiting_max:g} and "
                       "rising — arrivals exceed what the engine can hold.",
                       [q(signal(RUNNING, "sum"), "running " + MV),
                        q(signal(WAITING, "sum"), "waiting " + MV)],
                       unit="short", steps=WAIT, show_thresholds=False, min=0, w=8),
            timeseries("KV cache usage", "Share of the KV cache in use per version (highest "
                       "engine). TGI: tokens the running batch may hold / the batch token "
                       f"budget. Bad: above {C.llm_kv_cache_usage_crit:.0%} for minutes — "
                       "preemptions and queueing follow.",
                       [q(signal(KV_CACHE), MV)], unit="percentunit", steps=KV, min=0, max=1,
                       w=8),
            timeseries("Preemptions per request", "Requests evicted from the KV cache (and "
                       "recomputed) per finished request. Bad: above "
                       f"{C.llm_preemption_ratio_crit:g}: the cache is too small for the load; "
                       "answers slow down. TGI never preempts (0).",
                       [q(signal(PREEMPTIONS), MV)], unit="short", steps=PREEMPT, min=0, w=8),
        ),
        section(
            "Prompt and answer lengths",
            heatmap("Prompt length", "Distribution of prompt lengths (tokens) over time, all "
                    "selected versions. Bad: a shift to longer prompts — prefill time, TTFT "
                    "and KV cache use grow with it.",
                    q(f"sum by ({by('le')}) ({PROMPT_LENGTH}{sel(version=True)})"), unit="short"),
            heatmap("Generation length", "Distribution of generated tokens per request over "
                    "time. Bad: a pile-up at max_tokens (answers cut off) or a collapse to "
                    "very short answers (refusals, errors).",
                    q(f"sum by ({by('le')}) ({GENERATION_LENGTH}{sel(version=True)})"), unit="short"),
        ),
        section(
            "TTFT SLO and error budget",
            timeseries("TTFT SLO attainment", f"Share of requests with a first token within "
                       f"{SLO:g} s, per version. Bad: below the {TARGET:.0%} objective "
                       "(dashed).",
                       [q(attainment, MV)], unit="percentunit", steps=ATTAINMENT, min=0,
                       max=1, w=12),
            timeseries("Error budget burn rate", "How fast the TTFT error budget "
                       f"({BUDGET:.0%} of requests may be slower than {SLO:g} s) burns: 1 = "
                       "exactly on budget. Bad: above "
                       f"{C.llm_burn_rate_slow:g} over 6 h (ticket) or "
                       f"{C.llm_burn_rate_fast:g} over 1 h (page) — the alerts' thresholds.",
                       [q(burn_rate("1h"), "1h " + MV), q(burn_rate("6h"), "6h " + MV)],
                       unit="short", steps=BURN, min=0, w=12),
        ),
        section(
            "Versions side by side",
            table("Per-version comparison", "One row per version: TTFT p95, inter-token p95, "
                  "tokens/s, error-finish ratio, helpfulness score, positive feedback share and "
                  "cost per 1k tokens (columns A-G in that order). Bad: a canary worse than "
                  "production in any column.",
                  [table_q(signal(latency("time_to_first_token", 95))),
                   table_q(signal(latency("inter_token_latency", 95))),
                   table_q(tokens_per_second()),
                   table_q(signal(ERRORS)),
                   table_q(f"max by ({by(M, V)}) (ml_llm_evaluation_score_ratio"
                           f"{sel(eq('metric', 'helpfulness'), version=True, source='evaluation')})"),
                   table_q(positive_feedback),
                   table_q(signal(COST_PER_1K))],
                  unit="short", hide=("Time",),
                  rename={"Value #A": "TTFT p95 (s)", "Value #B": "ITL p95 (s)",
                          "Value #C": "tokens/s", "Value #D": "error ratio",
                          "Value #E": "helpfulness", "Value #F": "positive feedback",
                          "Value #G": "USD / 1k tokens"},
                  w=24, h=7),
        ),
        section(
            "Quality and feedback",
            bargauge("Evaluation scores", "LLM-judge scores of each version's answers on the "
                     "evaluation set, last batch run (Pushgateway). Bad: below "
                     f"{C.llm_eval_score_min:g} — do not promote that version.",
                     [q(f"max by ({by(M, V, 'metric')}) (ml_llm_evaluation_score_ratio"
                        f"{EVALUATION})", legend(M, V, "metric"), instant=True)],
                     unit="percentunit", steps=EVAL, min=0, max=1, w=8),
            timeseries("Guardrail trigger rate", "Share of evaluated answers a guardrail "
                       "flagged (toxicity, PII leak, jailbreak), per version and guardrail. "
                       f"Bad: above {C.llm_guardrail_trigger_warn:.0%}, or a version far above "
                       "the other.",
                       [q(f"max by ({by(M, V, 'guardrail')}) (ml_llm_guardrail_trigger_ratio"
                          f"{EVALUATION})", legend(M, V, "guardrail"))],
                       unit="percentunit", steps=GUARDRAIL, min=0, w=8),
            timeseries("Positive feedback share", "Thumbs-up / all feedback per version over "
                       f"{C.feedback_window} (gaps: fewer than {C.feedback_min_events:g} events). Bad: "
                       f"below {C.feedback_positive_warn:.0%} (orange) or "
                       f"{C.feedback_positive_crit:.0%} (red), or a canary below production.",
                       [q(positive_feedback, MV)], unit="percentunit", steps=FEEDBACK, min=0,
                       max=1, w=8),
            timeseries("Feedback per request", "Feedback events per finished request. Bad: "
                       "falling to 0 (the feedback widget broke; the share above gets noisy).",
                       [q(feedback_per_request, MV)], unit="percentunit", steps=neutral(),
                       min=0, w=12),
            timeseries("Evaluation scores over time", "Each judge score per version across "
                       "evaluation runs. Bad: a step down after a deployment.",
                       [q(f"max by ({by(M, V, 'metric')}) (ml_llm_evaluation_score_ratio"
                          f"{EVALUATION})", legend(M, V, "metric"))],
                       unit="percentunit", steps=EVAL, min=0, max=1, w=12),
        ),
        section(
            "Cost",
            timeseries("Cost per 1k tokens", "Serving cost (OpenCost, per pod, joined through "
                       "ml_model_info) per 1,000 prompt + generated tokens. Bad: rising while "
                       "traffic is flat (idle GPUs, or an expensive node), or a canary much "
                       "dearer than production. With the demo's --speed N, N times lower.",
                       [q(signal(COST_PER_1K), MV)], unit="currencyUSD", min=0, w=12),
            bargauge("Finish reason mix", "Share of each finish reason among the version's "
                     "finished requests (5 min). Bad: length above a few % (answers cut at "
                     "max_tokens), abort or error above 1 %.",
                     [q(f"sum by ({by(M, V, 'finish_reason')}) ({FINISHED}{sel(version=True)})"
                        f" / on ({by(M, V)}) group_left () {signal(REQUESTS, 'sum')}",
                        legend(M, V, "finish_reason"), instant=True)],
                     unit="percentunit", steps=neutral(), min=0, max=1, w=12),
        ),
    ],
)

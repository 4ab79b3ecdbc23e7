"""LLM serving: SLO windows, cost per 1k tokens, and the LLM alerts (with their promtool tests).

Reads only the recorded signals of rules/_llmlib.py, which every LLM adapter produces (contract,
vLLM, TGI, Triton TensorRT-LLM, Ray Serve LLM), so the alerts fire the same on every server.
Thresholds and `for` windows come from the monitoring config (`llm_*` thresholds, the `LLM*`
alerts); docs/runbooks.md has one section per alert.

TTFT SLO: `llm_ttft_slo_target` (0.95) of requests get their first token within
`llm_ttft_slo_seconds` (1 s): the error budget is the other 5 %. The burn rate is the share of
requests over the SLO divided by that budget (1 = spending it exactly over the SLO period).
Multi-window, multi-burn-rate alerts as in Google's SRE workbook ("Alerting on SLOs"): critical
when the budget burns `llm_burn_rate_fast` (14.4) times too fast over both 1 h and 5 min,
warning at `llm_burn_rate_slow` (6) over both 6 h and 30 min. The long windows average the
5-minute share (`avg_over_time`), a request-unweighted approximation that needs no extra series.
"""

from _llmlib import (
    COST_PER_1K,
    ERROR_RATIO,
    GENERATION_TOKENS,
    KV_CACHE,
    OVER_SLO,
    PREEMPTION_RATIO,
    PROMPT_TOKENS,
    WAITING,
    block,
    derived_rules,
    record,
)
from _rulelib import (
    CONFIG,
    MODEL,
    VERSION,
    M,
    by,
    num,
    on,
    pct,
    seconds,
    sel,
    t,
)
from _rulelib import (
    alert as _alert,
)
from _testlib import exp_labels, series

SLO = t("llm_ttft_slo_seconds")
TARGET = t("llm_ttft_slo_target")
BUDGET = round(1.0 - TARGET, 10)
WINDOWS = ("30m", "1h", "6h")
JMV = by("job", version=True)


def alert(name: str, expr: str, **kwargs) -> list[dict]:
    return _alert(name, block(expr), **kwargs)


def over_slo(window: str) -> str:
    return OVER_SLO.format(window=window)


def burn(window: str) -> str:
    """How many times faster than the SLO allows the TTFT error budget burns (1 = on budget)."""
    return f"model_version:ml_llm_time_to_first_token_budget:burn_rate{window}"


def _records() -> list[dict]:
    tokens = f"(sum {JMV} ({PROMPT_TOKENS}) + sum {JMV} ({GENERATION_TOKENS}))"
    return [
        *derived_rules(),
        *[record(over_slo(w), f"avg_over_time({over_slo('5m')}[{w}])") for w in WINDOWS],
        *[record(burn(w), f"{over_slo(w)} / {num(BUDGET)}") for w in ("5m", *WINDOWS)],
        # serving cost per hour (OpenCost pods joined through ml_model_info, rules/recording.py)
        # per 1,000 prompt + generated tokens; the token side keeps its `job`
        record(COST_PER_1K,
               f"model_version:ml_serving_cost_usd_per_hour:sum\n"
               f"  / {on(version=True)} group_right () ({tokens} * 3600)\n  * 1000"),
    ]


def _burn(long: str, short: str, rate: float) -> str:
    return (f"{burn(long)} > {num(rate)}\n"
            f"and {on('job', version=True)}\n{burn(short)} > {num(rate)}")


def _alerts() -> list[dict]:
    fast, slow = t("llm_burn_rate_fast"), t("llm_burn_rate_slow")
    kv = t("llm_kv_cache_usage_crit")
    waiting = t("llm_queue_waiting_max")
    preempt = t("llm_preemption_ratio_crit")
    score = t("llm_eval_score_min")
    slo = f"{pct(TARGET)} of first tokens within {seconds(SLO)}"
    evaluation = sel(f"{M}!=\"\"", source="evaluation")
    rules: list[dict] = []
    for severity, (long, short, rate) in (("critical", ("1h", "5m", fast)),
                                          ("warning", ("6h", "30m", slow))):
        rules += alert(
            "LLMTTFTErrorBudgetBurn", _burn(long, short, rate), severity=severity,
            summary=f"{MODEL} {VERSION}: time-to-first-token error budget burning {num(rate)}x "
                    "too fast",
            description=f"Over the last {long} (and the last {short}) the requests to {MODEL} "
                        f"{VERSION} burnt the time-to-first-token error budget {{{{ $value | "
                        f"humanize }}}} times as fast as the SLO ({slo}) allows (alert above "
                        f"{num(rate)}).")
    rules += alert(
        "LLMKVCacheSaturated", f"{KV_CACHE} > {num(kv)}",
        summary=f"{MODEL} {VERSION}: KV cache {{{{ $value | humanizePercentage }}}} full",
        description=f"The KV cache of {MODEL} {VERSION} has been {{{{ $value | "
                    f"humanizePercentage }}}} full (above {pct(kv)}) for {{for}}: the engine "
                    "preempts running requests and queues new ones; time to first token "
                    "follows.")
    rules += alert(
        "LLMQueueGrowing",
        f"{WAITING} > {num(waiting)}\nand {on('job', version=True)}\nderiv({WAITING}[10m]) > 0",
        summary=f"{MODEL} {VERSION}: {{{{ $value }}}} requests waiting, and rising",
        description=f"{{{{ $value }}}} requests wait for {MODEL} {VERSION} (more than "
                    f"{num(waiting)}) and the queue has been growing for {{for}}: arrivals "
                    "exceed what the engine can hold (batch slots or KV cache).")
    for severity, name in (("warning", "llm_error_finish_ratio_warn"),
                           ("critical", "llm_error_finish_ratio_crit")):
        limit = t(name)
        rules += alert(
            "LLMErrorFinishRatioHigh", f"{ERROR_RATIO} > {num(limit)}", severity=severity,
            summary=f"{MODEL} {VERSION}: {{{{ $value | humanizePercentage }}}} of requests "
                    "finish with an error",
            description=f"{{{{ $value | humanizePercentage }}}} of the requests {MODEL} "
                        f"{VERSION} finished over the last 5 minutes ended with an error (above "
                        f"{pct(limit)}) for {{for}}.")
    rules += alert(
        "LLMPreemptionBurst", f"{PREEMPTION_RATIO} > {num(preempt)}",
        summary=f"{MODEL} {VERSION}: {{{{ $value | printf \"%.2g\" }}}} preemptions per request",
        description=f"{MODEL} {VERSION} preempted {{{{ $value | printf \"%.2g\" }}}} running "
                    f"requests per finished request (above {num(preempt)}) for {{for}}: the KV cache is "
                    "too small for the load; preempted answers are recomputed and slow down.")
    rules += alert(
        "LLMEvaluationScoreLow",
        f"min {by('job', 'metric', version=True)} "
        f"(ml_llm_evaluation_score_ratio{evaluation}) < {num(score)}",
        summary=f"{MODEL} {VERSION}: {{{{ $labels.metric }}}} score "
                "{{ $value | humanizePercentage }}",
        description=f"The last evaluation run scored the answers of {MODEL} {VERSION} "
                    f"{{{{ $value | humanizePercentage }}}} on {{{{ $labels.metric }}}} (below "
                    f"{pct(score)}) for {{for}}: do not promote this version; compare it with "
                    "the others on the LLM dashboard.")
    return rules


# --- promtool unit tests (values worked out by hand in the comments) ---------------------------

RUNBOOK = CONFIG.runbook_url
# written with the contract's names and the demo's scrape job; _testlib renders them under the
# monitoring config's label names and selectors
BASE = {"job": "ml-model", "model": "chat", "version": "v1"}


def _series(name: str, values: str, **labels: str) -> dict:
    return {"series": series(name, **{**BASE, **labels}), "values": values}


def _eval_series(version: str, values: str) -> dict:
    return {"series": series("ml_llm_evaluation_score_ratio", job="ml_evaluation", model="chat",
                             version=version, metric="faithfulness"), "values": values}


def _ttft(good_per_min: int, total_per_min: int) -> list[dict]:
    """TTFT histogram series: `good` requests per minute within the 1 s bound, `total` in all."""
    return [
        _series("ml_llm_time_to_first_token_seconds_bucket", f"0+{good_per_min}x100", le="1.0"),
        _series("ml_llm_time_to_first_token_seconds_count", f"0+{total_per_min}x100"),
    ]


def EXP_(**labels: str) -> dict:  # noqa: N802 - reads like the constant it replaces
    return exp_labels(**{**BASE, **labels})

tests = [
    # LLMTTFTErrorBudgetBurn: 20 of 100 requests per minute within 1 s -> 80 % over the SLO =
    # burn 16 (> 14.4 critical, > 6 warning) on every window; 50 of 100 -> burn 10: warning only;
    # all 100 within -> silent. `for` 2m: nothing fires at 1m.
    {"interval": "1m", "input_series": _ttft(20, 100), "alert_rule_test": [
        {"eval_time": "1m", "alertname": "LLMTTFTErrorBudgetBurn", "exp_alerts": []},
        {"eval_time": "90m", "alertname": "LLMTTFTErrorBudgetBurn", "exp_alerts": [
            {"exp_labels": EXP_(severity="critical"), "exp_annotations": {
                "summary": "chat v1: time-to-first-token error budget burning 14.4x too fast",
                "description": "Over the last 1h (and the last 5m) the requests to chat v1 "
                "burnt the time-to-first-token error budget 16 times as fast as the SLO "
                "(95% of first tokens within 1s) allows (alert above 14.4).",
                "runbook_url": f"{RUNBOOK}#llmttfterrorbudgetburn"}},
            {"exp_labels": EXP_(severity="warning"), "exp_annotations": {
                "summary": "chat v1: time-to-first-token error budget burning 6x too fast",
                "description": "Over the last 6h (and the last 30m) the requests to chat v1 "
                "burnt the time-to-first-token error budget 16 times as fast as the SLO "
                "(95% of first tokens within 1s) allows (alert above 6).",
                "runbook_url": f"{RUNBOOK}#llmttfterrorbudgetburn"}},
        ]},
    ]},
    {"interval": "1m", "input_series": _ttft(50, 100), "alert_rule_test": [
        {"eval_time": "90m", "alertname": "LLMTTFTErrorBudgetBurn", "exp_alerts": [
            {"exp_labels": EXP_(severity="warning"), "exp_annotations": {
                "summary": "chat v1: time-to-first-token error budget burning 6x too fast",
                "description": "Over the last 6h (and the last 30m) the requests to chat v1 "
                "burnt the time-to-first-token error budget 10 times as fast as the SLO "
                "(95% of first tokens within 1s) allows (alert above 6).",
                "runbook_url": f"{RUNBOOK}#llmttfterrorbudgetburn"}},
        ]},
    ]},
    {"interval": "1m", "input_series": _ttft(100, 100), "alert_rule_test": [
        {"eval_time": "90m", "alertname": "LLMTTFTErrorBudgetBurn", "exp_alerts": []},
    ]},
    # No traffic for the first 20 minutes (0/0: nothing recorded, not NaN averaged into the
    # windows), then 80 % over the SLO: the long windows see only the bad minutes, so both levels
    # fire by 90m; during the quiet start nothing fires.
    {"interval": "1m", "input_series": [
        _series("ml_llm_time_to_first_token_seconds_bucket", "0x20 0+20x80", le="1.0"),
        _series("ml_llm_time_to_first_token_seconds_count", "0x20 0+100x80"),
    ], "alert_rule_test": [
        {"eval_time": "15m", "alertname": "LLMTTFTErrorBudgetBurn", "exp_alerts": []},
        {"eval_time": "90m", "alertname": "LLMTTFTErrorBudgetBurn", "exp_alerts": [
            {"exp_labels": EXP_(severity="critical"), "exp_annotations": {
                "summary": "chat v1: time-to-first-token error budget burning 14.4x too fast",
                "description": "Over the last 1h (and the last 5m) the requests to chat v1 "
                "burnt the time-to-first-token error budget 16 times as fast as the SLO "
                "(95% of first tokens within 1s) allows (alert above 14.4).",
                "runbook_url": f"{RUNBOOK}#llmttfterrorbudgetburn"}},
            {"exp_labels": EXP_(severity="warning"), "exp_annotations": {
                "summary": "chat v1: time-to-first-token error budget burning 6x too fast",
                "description": "Over the last 6h (and the last 30m) the requests to chat v1 "
                "burnt the time-to-first-token error budget 16 times as fast as the SLO "
                "(95% of first tokens within 1s) allows (alert above 6).",
                "runbook_url": f"{RUNBOOK}#llmttfterrorbudgetburn"}},
        ]},
    ]},
    # LLMKVCacheSaturated (> 95 % for 10m): 98 % from the start fires at 15m, not at 5m; 90 %
    # (the healthy v2) never.
    {"interval": "1m", "input_series": [
        _series("ml_llm_kv_cache_usage_ratio", "0.98x30"),
        _series("ml_llm_kv_cache_usage_ratio", "0.9x30", version="v2"),
    ], "alert_rule_test": [
        {"eval_time": "5m", "alertname": "LLMKVCacheSaturated", "exp_alerts": []},
        {"eval_time": "15m", "alertname": "LLMKVCacheSaturated", "exp_alerts": [
            {"exp_labels": EXP_(severity="warning"), "exp_annotations": {
                "summary": "chat v1: KV cache 98% full",
                "description": "The KV cache of chat v1 has been 98% full (above 95%) for 10 "
                "minutes: the engine preempts running requests and queues new ones; time to "
                "first token follows.",
                "runbook_url": f"{RUNBOOK}#llmkvcachesaturated"}},
        ]},
    ]},
    # LLMQueueGrowing (> 10 waiting and rising over 10m, for 5m): +2 per minute until 30 at
    # 15m, then steady: passes 10 at 6m, fires from 11m, at 20m still rising over the last 10
    # minutes, value 30. A long but steady queue (50, v2) does not fire.
    {"interval": "1m", "input_series": [
        _series("ml_llm_requests_waiting", "0+2x15 30x15"),
        _series("ml_llm_requests_waiting", "50x30", version="v2"),
    ], "alert_rule_test": [
        {"eval_time": "8m", "alertname": "LLMQueueGrowing", "exp_alerts": []},
        {"eval_time": "20m", "alertname": "LLMQueueGrowing", "exp_alerts": [
            {"exp_labels": EXP_(severity="warning"), "exp_annotations": {
                "summary": "chat v1: 30 requests waiting, and rising",
                "description": "30 requests wait for chat v1 (more than 10) and the queue has "
                "been growing for 5 minutes: arrivals exceed what the engine can hold (batch "
                "slots or KV cache).",
                "runbook_url": f"{RUNBOOK}#llmqueuegrowing"}},
        ]},
    ]},
    # LLMErrorFinishRatioHigh (> 1 % warning, > 5 % critical, for 5m): v1 90 stop + 10 error per
    # minute = 10 % (both); v2 98 + 2 = 2 % (warning); v3 without traffic (0/0) stays silent.
    {"interval": "1m", "input_series": [
        _series("ml_llm_requests_total", "0+90x30", finish_reason="stop"),
        _series("ml_llm_requests_total", "0+10x30", finish_reason="error"),
        _series("ml_llm_requests_total", "0+98x30", version="v2", finish_reason="stop"),
        _series("ml_llm_requests_total", "0+2x30", version="v2", finish_reason="error"),
        _series("ml_llm_requests_total", "0x30", version="v3", finish_reason="stop"),
        _series("ml_llm_requests_total", "0x30", version="v3", finish_reason="error"),
    ], "alert_rule_test": [
        {"eval_time": "4m", "alertname": "LLMErrorFinishRatioHigh", "exp_alerts": []},
        {"eval_time": "15m", "alertname": "LLMErrorFinishRatioHigh", "exp_alerts": [
            *[{"exp_labels": EXP_(severity=sev), "exp_annotations": {
                "summary": "chat v1: 10% of requests finish with an error",
                "description": "10% of the requests chat v1 finished over the last 5 minutes "
                f"ended with an error (above {limit}) for 5 minutes.",
                "runbook_url": f"{RUNBOOK}#llmerrorfinishratiohigh"}}
              for sev, limit in (("warning", "1%"), ("critical", "5%"))],
            {"exp_labels": EXP_(version="v2", severity="warning"), "exp_annotations": {
                "summary": "chat v2: 2% of requests finish with an error",
                "description": "2% of the requests chat v2 finished over the last 5 minutes "
                "ended with an error (above 1%) for 5 minutes.",
                "runbook_url": f"{RUNBOOK}#llmerrorfinishratiohigh"}},
        ]},
    ]},
    # LLMPreemptionBurst (> 0.05 per request, for 5m): 20 preemptions per 100 requests = 0.2.
    {"interval": "1m", "input_series": [
        _series("ml_llm_requests_total", "0+100x30", finish_reason="stop"),
        _series("ml_llm_requests_total", "0x30", finish_reason="error"),
        _series("ml_llm_preemptions_total", "0+20x30"),
        _series("ml_llm_requests_total", "0+100x30", version="v2", finish_reason="stop"),
        _series("ml_llm_preemptions_total", "0+1x30", version="v2"),
    ], "alert_rule_test": [
        {"eval_time": "4m", "alertname": "LLMPreemptionBurst", "exp_alerts": []},
        {"eval_time": "15m", "alertname": "LLMPreemptionBurst", "exp_alerts": [
            {"exp_labels": EXP_(severity="warning"), "exp_annotations": {
                "summary": "chat v1: 0.2 preemptions per request",
                "description": "chat v1 preempted 0.2 running requests per finished request "
                "(above 0.05) for 5 minutes: the KV cache is too small for the load; preempted "
                "answers are recomputed and slow down.",
                "runbook_url": f"{RUNBOOK}#llmpreemptionburst"}},
        ]},
    ]},
    # LLMEvaluationScoreLow (< 0.75 for 5m): v2's faithfulness 0.6 fires; v1's 0.9 does not.
    {"interval": "1m", "input_series": [
        _eval_series("v2", "0.6x30"),
        _eval_series("v1", "0.9x30"),
    ], "alert_rule_test": [
        {"eval_time": "3m", "alertname": "LLMEvaluationScoreLow", "exp_alerts": []},
        {"eval_time": "10m", "alertname": "LLMEvaluationScoreLow", "exp_alerts": [
            {"exp_labels": exp_labels("evaluation", job="ml_evaluation", model="chat",
                                      version="v2", metric="faithfulness", severity="warning"),
             "exp_annotations": {
                "summary": "chat v2: faithfulness score 60%",
                "description": "The last evaluation run scored the answers of chat v2 60% on "
                "faithfulness (below 75%) for 5 minutes: do not promote this version; compare "
                "it with the others on the LLM dashboard.",
                "runbook_url": f"{RUNBOOK}#llmevaluationscorelow"}},
        ]},
    ]},
]

# the cases feed raw contract series through rules/llm_contract.py
if not CONFIG.stack_on("contract"):
    tests = []

groups = [
    {"name": "ml-llm.rules", "rules": _records()},
    {"name": "ml-llm.alerts", "rules": _alerts()},
]

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

from _alert_tests import _alert as _exp_alert
from _alert_tests import _case, _human_for, _on
from _llmlib import (
    COST_PER_1K,
    ERROR_RATIO,
    GENERATION_TOKENS,
    KV_CACHE,
    OVER_SLO,
    PREEMPTION_RATIO,
    PROMPT_TOKENS,
    REQUESTS,
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
from _testlib import minutes, series

# requests in the recorded 5m window = its rate x 300: a window constant (scaled with the windows
# by time-scaled rendering, grafana_sync.timescale)
FIVE_MINUTES = 300
window_constants = (FIVE_MINUTES,)

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
               f"  / {on(version=True)} group_right () ({tokens} * 3600 > 0)\n  * 1000"),
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
            # judged from `ratio_min_requests` requests in the 5 minutes on, as MLErrorRatioHigh:
            # one error among 90 requests of a 20 % canary is 1.1 % and stays in the window for
            # 5 minutes, long enough for `for` (it fired on healthy traffic, docs/alerts.md)
            # and, as MLErrorRatioHigh, by `ratio_noise_z` binomial standard errors of those
            # requests: two errors among 100 requests at a 0.2 % error rate are no incident
            "LLMErrorFinishRatioHigh",
            f"{ERROR_RATIO}\n  > {num(limit)} + {num(t('ratio_noise_z'))} * "
            f"sqrt({num(round(limit * (1 - limit), 6))} / ({REQUESTS} * {FIVE_MINUTES}))\n"
            f"and {on('job', version=True)}\n"
            f"{REQUESTS} * {FIVE_MINUTES} >= {num(t('ratio_min_requests'))}", severity=severity,
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
# Each case is rules/_alert_tests.py's `_case`: nothing fires before the configured `for` has
# elapsed, the expected alerts fire `for` + 5m after `start`; alerts and levels turned off in the
# config get no case; descriptions say the configured window.

# written with the contract's names and the demo's scrape job; _testlib renders them under the
# monitoring config's label names and selectors
BASE = {"job": "ml-model", "model": "chat", "version": "v1"}


def _series(name: str, values: str, **labels: str) -> tuple[str, str]:
    return series(name, **{**BASE, **labels}), values


def _expect(name: str, severity: str, summary: str, description: str, **labels: str) -> dict:
    return _exp_alert(name, severity, summary, description, **{**BASE, **labels})


def _ttft(good_per_min: int, total_per_min: int) -> list[tuple[str, str]]:
    """TTFT histogram series: `good` requests per minute within the 1 s bound, `total` in all."""
    return [
        _series("ml_llm_time_to_first_token_seconds_bucket", f"0+{good_per_min}x{{n}}", le="1.0"),
        _series("ml_llm_time_to_first_token_seconds_count", f"0+{total_per_min}x{{n}}"),
    ]


def _burn_alerts(burn_rate: float) -> list[dict]:
    """The levels of LLMTTFTErrorBudgetBurn a steady `burn_rate` trips, as configured."""
    name = "LLMTTFTErrorBudgetBurn"
    slo = f"{pct(TARGET)} of first tokens within {seconds(SLO)}"
    levels = (("critical", "1h", "5m", t("llm_burn_rate_fast")),
              ("warning", "6h", "30m", t("llm_burn_rate_slow")))
    return [_expect(name, severity,
                    f"chat v1: time-to-first-token error budget burning {num(rate)}x too fast",
                    f"Over the last {long} (and the last {short}) the requests to chat v1 burnt "
                    f"the time-to-first-token error budget {num(burn_rate)} times as fast as the "
                    f"SLO ({slo}) allows (alert above {num(rate)}).")
            for severity, long, short, rate in levels
            if severity in _levels(name) and burn_rate > rate]


def _levels(name: str) -> tuple[str, ...]:
    return CONFIG.alert(name).severities


def _ttft_burn() -> list[dict]:
    """LLMTTFTErrorBudgetBurn: 20 of 100 requests per minute within 1 s -> 80 % over the SLO =
    burn 16 (> 14.4 critical, > 6 warning) on every window; 50 of 100 -> burn 10: warning only;
    all 100 within -> silent. Rates from 1m."""
    name = "LLMTTFTErrorBudgetBurn"
    steady = [_case(name, _ttft(good, 100), _burn_alerts((100 - good) / 100 / BUDGET), start=1)
              for good in (20, 50, 100)]
    # No traffic for the first 20 minutes (0/0: nothing recorded, not NaN averaged into the
    # windows), then 80 % over the SLO: the long windows see only the bad minutes, so both levels
    # fire; during the quiet start nothing fires.
    quiet_start = _case(name, [
        _series("ml_llm_time_to_first_token_seconds_bucket", "0x20 0+20x{n}", le="1.0"),
        _series("ml_llm_time_to_first_token_seconds_count", "0x20 0+100x{n}"),
    ], _burn_alerts(0.8 / BUDGET), start=21)
    quiet_start["alert_rule_test"].insert(
        0, {"eval_time": "15m", "alertname": name, "exp_alerts": []})
    return [*steady, quiet_start]


def _kv_cache() -> list[dict]:
    """LLMKVCacheSaturated (> 95 %): 98 % from the start fires; 90 % (the healthy v2) never."""
    name = "LLMKVCacheSaturated"
    return [_case(name, [
        _series("ml_llm_kv_cache_usage_ratio", "0.98x{n}"),
        _series("ml_llm_kv_cache_usage_ratio", "0.9x{n}", version="v2"),
    ], [_expect(name, _levels(name)[0], "chat v1: KV cache 98% full",
                f"The KV cache of chat v1 has been 98% full (above "
                f"{pct(t('llm_kv_cache_usage_crit'))}) for {_human_for(name)}: the engine preempts "
                "running requests and queues new ones; time to first token follows.")])]


def _queue() -> list[dict]:
    """LLMQueueGrowing (> 10 waiting and rising over 10m): +2 per minute passes 10 at 6m (12), so
    it fires `for` after that; the queue stops growing at that moment, and 5 minutes later (the
    case's check) it is still rising over the last 10 minutes and holds 2 x (6 + `for`) waiting,
    whichever evaluation of the recorded signal the alert reads. A long but steady queue (50, v2)
    does not fire."""
    name = "LLMQueueGrowing"
    start = int(t("llm_queue_waiting_max")) // 2 + 1  # the first minute above the threshold
    top = start + minutes(CONFIG.alert(name).for_)
    waiting = 2 * top
    return [_case(name, [
        _series("ml_llm_requests_waiting", f"0+2x{top} {waiting}x{{n}}"),
        _series("ml_llm_requests_waiting", "50x{n}", version="v2"),
    ], [_expect(name, _levels(name)[0], f"chat v1: {waiting} requests waiting, and rising",
                f"{waiting} requests wait for chat v1 (more than "
                f"{num(t('llm_queue_waiting_max'))}) and the queue has been growing for "
                f"{_human_for(name)}: arrivals exceed what the engine can hold (batch slots or "
                "KV cache).")], start=start)]


def _error_finish() -> list[dict]:
    """LLMErrorFinishRatioHigh (> 1 % warning, > 5 % critical, each plus 3 binomial standard
    errors of the 5 minutes' 500 requests: 2.3 % and 7.9 %): v1 90 stop + 10 error per minute
    = 10 % (both levels); v2 96 + 4 = 4 % (warning); v5 98 + 2 = 2 % (inside the noise margin:
    silent); v3 without traffic (0/0) stays silent; v4, 9 stop + 1 error per minute (10 %, but
    50 requests in 5 minutes, under ratio_min_requests 100) is not judged."""
    name = "LLMErrorFinishRatioHigh"
    limits = {"warning": t("llm_error_finish_ratio_warn"),
              "critical": t("llm_error_finish_ratio_crit")}

    def fired(version: str, share: float) -> list[dict]:
        return [_expect(name, sev, f"chat {version}: {pct(share)} of requests finish with an error",
                        f"{pct(share)} of the requests chat {version} finished over the last 5 "
                        f"minutes ended with an error (above {pct(limit)}) for "
                        f"{_human_for(name)}.", version=version)
                for sev, limit in limits.items() if sev in _levels(name) and share > limit]

    return [_case(name, [
        _series("ml_llm_requests_total", "0+90x{n}", finish_reason="stop"),
        _series("ml_llm_requests_total", "0+10x{n}", finish_reason="error"),
        _series("ml_llm_requests_total", "0+96x{n}", version="v2", finish_reason="stop"),
        _series("ml_llm_requests_total", "0+4x{n}", version="v2", finish_reason="error"),
        _series("ml_llm_requests_total", "0+98x{n}", version="v5", finish_reason="stop"),
        _series("ml_llm_requests_total", "0+2x{n}", version="v5", finish_reason="error"),
        _series("ml_llm_requests_total", "0x{n}", version="v3", finish_reason="stop"),
        _series("ml_llm_requests_total", "0x{n}", version="v3", finish_reason="error"),
        _series("ml_llm_requests_total", "0+9x{n}", version="v4", finish_reason="stop"),
        _series("ml_llm_requests_total", "0+1x{n}", version="v4", finish_reason="error"),
    ], fired("v1", 0.1) + fired("v2", 0.04), start=1)]


def _preemption() -> list[dict]:
    """LLMPreemptionBurst (> 0.05 per request): 20 preemptions per 100 requests = 0.2; v2's 1 per
    100 stays silent."""
    name = "LLMPreemptionBurst"
    return [_case(name, [
        _series("ml_llm_requests_total", "0+100x{n}", finish_reason="stop"),
        _series("ml_llm_requests_total", "0x{n}", finish_reason="error"),
        _series("ml_llm_preemptions_total", "0+20x{n}"),
        _series("ml_llm_requests_total", "0+100x{n}", version="v2", finish_reason="stop"),
        _series("ml_llm_preemptions_total", "0+1x{n}", version="v2"),
    ], [_expect(name, _levels(name)[0], "chat v1: 0.2 preemptions per request",
                f"chat v1 preempted 0.2 running requests per finished request (above "
                f"{num(t('llm_preemption_ratio_crit'))}) for "
                f"{_human_for(name)}: the KV cache is too small for the load; preempted answers "
                "are recomputed and slow down.")], start=1)]


def _evaluation() -> list[dict]:
    """LLMEvaluationScoreLow (< 0.75): v2's faithfulness 0.6 fires; v1's 0.9 does not."""
    name = "LLMEvaluationScoreLow"
    labels = {"job": "ml_evaluation", "model": "chat", "metric": "faithfulness"}
    return [_case(name, [
        (series("ml_llm_evaluation_score_ratio", **labels, version="v2"), "0.6x{n}"),
        (series("ml_llm_evaluation_score_ratio", **labels, version="v1"), "0.9x{n}"),
    ], [_exp_alert(name, _levels(name)[0], "chat v2: faithfulness score 60%",
                   f"The last evaluation run scored the answers of chat v2 60% on faithfulness "
                   f"(below {pct(t('llm_eval_score_min'))}) for {_human_for(name)}: do not promote "
                   "this version; compare it with the others on the LLM dashboard.",
                   "evaluation", **labels, version="v2")])]


def _zero_traffic() -> list[dict]:
    """An idle LLM version: every counter and histogram flat (0 requests for 40 minutes), an empty
    queue and KV cache. No LLM alert fires (the error, preemption and budget ratios are 0/0), and
    no recorded LLM series is NaN or +/-Inf (a NaN compares false, so it would hide, not fire:
    the panels would draw it)."""
    flat = "0x40"
    histograms = ("time_to_first_token", "inter_token_latency", "e2e_request_latency",
                  "queue_time")
    idle = [_series("ml_llm_requests_total", flat, finish_reason=reason)
            for reason in ("stop", "length", "abort", "error")]
    idle += [_series(f"ml_llm_{name}", flat) for name in (
        "preemptions_total", "prompt_tokens_total", "generation_tokens_total",
        "requests_running", "requests_waiting", "kv_cache_usage_ratio")]
    for h in histograms:
        idle += [_series(f"ml_llm_{h}_seconds_bucket", flat, le=le) for le in ("1.0", "+Inf")]
        idle += [_series(f"ml_llm_{h}_seconds_{part}", flat) for part in ("sum", "count")]
    recorded = '{__name__=~"model_version:ml_llm_.+"}'
    return [{
        "interval": "1m",
        "input_series": [{"series": s, "values": v} for s, v in idle],
        "promql_expr_test": [
            # the request rate is a real 0 (panels show 0 req/s), so the checks below see series
            {"expr": "count(model_version:ml_llm_requests:rate5m == 0)", "eval_time": "20m",
             "exp_samples": [{"labels": "{}", "value": 1}]},
            {"expr": f"count({recorded}) - count({recorded} >= -Inf)", "eval_time": "20m",
             "exp_samples": [{"labels": "{}", "value": 0}]},
            {"expr": f"{recorded} == +Inf or {recorded} == -Inf", "eval_time": "20m",
             "exp_samples": []},
        ],
        "alert_rule_test": [{"eval_time": t, "alertname": name, "exp_alerts": []}
                            for name in _CASES if _on(name) for t in ("10m", "39m")],
    }]


_CASES = {"LLMTTFTErrorBudgetBurn": _ttft_burn, "LLMKVCacheSaturated": _kv_cache,
          "LLMQueueGrowing": _queue, "LLMErrorFinishRatioHigh": _error_finish,
          "LLMPreemptionBurst": _preemption, "LLMEvaluationScoreLow": _evaluation}

tests = [case for name, make in _CASES.items() if _on(name) for case in make()]
tests += _zero_traffic()

# the cases feed raw contract series through rules/llm_contract.py
if not CONFIG.stack_on("contract"):
    tests = []

groups = [
    {"name": "ml-llm.rules", "rules": _records()},
    {"name": "ml-llm.alerts", "rules": _alerts()},
]

"""Fleet overview: every model at a glance, and where to drill down."""

from _config import CONFIG as C
from _lib import signals as s
from _lib.dashboard import ml_dashboards
from _lib.layout import section
from _lib.llm_signals import ERRORS as LLM_ERRORS
from _lib.llm_signals import KV_CACHE, latency, signal, tokens_per_second
from _lib.panels import (
    drill_down,
    higher_is_bad,
    neutral,
    q,
    stat,
    state_mapping,
    table,
    table_q,
    timeseries,
    with_links,
)
from _lib.promql import INFO, MODEL, M, by, sel, zero_if_none

folder = C.folder

RETRAIN = state_mapping({0: ("OK", "green"), 1: ("Watch", "orange"), 2: ("Retrain", "red")})
LATENCY = higher_is_bad(C.latency_p95_warn_seconds, C.latency_p95_crit_seconds)
ERRORS = higher_is_bad(C.error_ratio_warn, C.error_ratio_crit)
DROP = higher_is_bad(C.quality_drop_warn, C.quality_drop_crit)
DRIFT = higher_is_bad(C.drifted_share_warn, C.drifted_share_crit)
BURN = higher_is_bad(C.budget_burn_warn, C.budget_burn_crit)



def per_model_stat(title: str, description: str, expr: str, unit: str, steps: list,
                   mappings: list | None = None, detail: tuple[str, str] | None = None
                   ) -> object:
    """One tile per model (the fleet row), linking to the dashboard that explains it."""
    panel = stat(title, description, [q(expr, MODEL, instant=True)], unit=unit, steps=steps,
                 mappings=mappings or [], graph=False, text_mode="value_and_name", w=6, h=6)
    return with_links(panel, drill_down(*detail)) if detail else panel


fleet = [
    table(
        "Live versions",
        "Loaded versions per model with their stage (production / canary) and whether they "
        "are approved. Bad: a production version that is not approved, or a model missing.",
        [table_q(s.live_versions())],
        unit="none",
        hide=("Time", "Value", "job", "instance", "__name__"),
        w=6, h=6,
    ),
    per_model_stat("Retraining status", "Retraining rule per model (docs/dashboards.md): OK; "
                   "Watch = drifted share at/above threshold, mild quality decay or concept "
                   "drift; Retrain = severe decay, drift with decay, or concept drift. Bad: Retrain.",
                   s.retraining_status(), "none", higher_is_bad(1, 2), RETRAIN,
                   detail=("ml-drift", "Drift dashboard")),
    per_model_stat("Request rate", "Inference requests per second per model. Bad: 0 (traffic "
                   "lost) or far from the usual level.", s.request_rate(), "reqps",
                   neutral(), detail=("ml-infrastructure", "Infrastructure dashboard")),
    per_model_stat("Error ratio", "Share of failed inference requests per model. Bad: above "
                   f"{C.error_ratio_crit:.0%}.", s.error_ratio(), "percentunit",
                   ERRORS, detail=("ml-errors", "Errors dashboard")),
    per_model_stat("p95 latency", "95th-percentile end-to-end latency per model. Bad: above "
                   f"{C.latency_p95_crit_seconds} s." + s.MEAN_NOTE, s.latency(95), "s",
                   LATENCY, detail=("ml-infrastructure", "Infrastructure dashboard")),
    per_model_stat(f"{C.quality_metric.capitalize()} (live)", f"Live {C.quality_metric} on "
                   "labelled traffic, worst live version. Compare with the drop below the "
                   "training baseline next to it. Bad: lower than last week or than the "
                   "other models' usual level.", s.quality(labels=(M,), agg="min"),
                   "percentunit", neutral(), detail=("ml-performance", "Performance dashboard")),
    per_model_stat(f"{C.quality_metric.capitalize()} drop vs baseline", "Training-baseline "
                   f"score minus live score (worst live version). Bad: above {C.quality_drop_crit}.",
                   s.quality_drop(), "percentunit", DROP,
                   detail=("ml-performance", "Performance dashboard")),
    per_model_stat("Drifted features", "Share of monitored input features whose drift score "
                   f"is at or above its threshold. Bad: at or above {C.drifted_share_crit:.0%}.",
                   s.drifted_share(), "percentunit", DRIFT,
                   detail=("ml-drift", "Drift dashboard")),
    per_model_stat("Cost per hour", "Serving cost per model in USD per hour (OpenCost "
                   "allocation x node prices). Bad: above the model's budget (see budget burn).",
                   s.cost_per_hour(), "currencyUSD", neutral(),
                   detail=("ml-cost", "Cost dashboard")),
]

dashboards = ml_dashboards(
    uid="ml-overview",
    title="ML monitoring: fleet overview",
    area="overview",
    description="Every model in production at a glance: traffic, errors, latency, quality vs "
    "baseline, drift, cost and whether to retrain. Links lead to the detail dashboards.",
    sections=[
        section(
            "Fleet status",
            stat("Models live", "Models with a loaded version. Bad: fewer than expected "
                 "(a model stopped reporting).",
                 [q(f"count by ({by()}) (count by ({by(M)}) ({INFO}{sel()}))")], unit="short", w=4),
            stat("Requests per second", "Inference requests per second over the selected "
                 "models. Bad: a sudden drop to 0 (traffic lost) or a spike.",
                 [q(s.request_rate(labels=()))], unit="reqps", w=4),
            stat("Worst error ratio", "Highest share of failed requests among the models. "
                 f"Bad: above {C.error_ratio_crit:.0%}.",
                 [q(f"max by ({by()}) ({s.error_ratio()})")], unit="percentunit",
                 steps=ERRORS, w=4),
            stat("Worst p95 latency", "Highest 95th-percentile latency among the models. "
                 f"Bad: above {C.latency_p95_crit_seconds} s." + s.MEAN_NOTE,
                 [q(f"max by ({by()}) ({s.latency(95)})")], unit="s", steps=LATENCY, w=4),
            stat("Models to retrain", "Models whose retraining status is Retrain (see the "
                 "fleet table and docs/dashboards.md). Bad: anything above 0.",
                 [q(zero_if_none(f"count by ({by()}) (({s.retraining_status()}) == 2)"))], unit="short",
                 steps=higher_is_bad(None, 1), w=4),
            stat("Fleet cost per hour", "Serving cost of the selected models in USD per "
                 "hour (OpenCost allocation x node prices). Bad: above the summed budgets.",
                 [q(f"sum by ({by()}) ({s.cost_per_hour()})")], unit="currencyUSD", w=4),
        ),
        section("Per model", *fleet),
        section(
            "Generative models (LLM)",
            per_model_stat("LLM time to first token p95", "Worst version's 95th-percentile "
                           "time to first token per LLM model. Bad: above the TTFT SLO "
                           f"({C.llm_ttft_slo_seconds:g} s).",
                           signal(latency("time_to_first_token", 95), labels=(M,)), "s",
                           higher_is_bad(C.llm_ttft_slo_seconds / 2, C.llm_ttft_slo_seconds),
                           detail=("ml-llm", "LLM serving dashboard")),
            per_model_stat("LLM tokens per second", "Prompt + generated tokens per second per "
                           "LLM model. Bad: 0 (traffic lost) or far from its usual level.",
                           tokens_per_second(labels=(M,)), "short", neutral(),
                           detail=("ml-llm", "LLM serving dashboard")),
            per_model_stat("LLM KV cache in use", "Highest KV-cache usage of the model's "
                           "engines. Bad: above "
                           f"{C.llm_kv_cache_usage_crit:.0%} (requests get preempted and queue).",
                           signal(KV_CACHE, labels=(M,)), "percentunit",
                           higher_is_bad(C.llm_kv_cache_usage_warn, C.llm_kv_cache_usage_crit),
                           detail=("ml-llm", "LLM serving dashboard")),
            per_model_stat("LLM error-finish ratio", "Share of the LLM model's requests that "
                           "finished with an error. Bad: above "
                           f"{C.llm_error_finish_ratio_crit:.0%}.",
                           signal(LLM_ERRORS, labels=(M,)), "percentunit",
                           higher_is_bad(C.llm_error_finish_ratio_warn,
                                         C.llm_error_finish_ratio_crit),
                           detail=("ml-llm", "LLM serving dashboard")),
        ),
        section(
            "Trends per model",
            timeseries("Request rate over time", "Inference requests per second per model. Bad: "
                       "traffic falling to 0 or far from its usual level.",
                       [q(s.request_rate(), "{{" + M + "}}")], unit="reqps",
                       w=8),
            timeseries("Error ratio over time", "Share of failed inference requests per model. "
                       f"Bad: above {C.error_ratio_warn:.0%} (orange) or "
                       f"{C.error_ratio_crit:.0%} (red).",
                       [q(s.error_ratio(), "{{" + M + "}}")],
                       unit="percentunit", steps=ERRORS, min=0, w=8),
            timeseries("p95 latency over time", "95th-percentile end-to-end latency per model. "
                       f"Bad: above {C.latency_p95_crit_seconds} s." + s.MEAN_NOTE,
                       [q(s.latency(95), "{{" + M + "}}")], unit="s",
                       steps=LATENCY, min=0, w=8),
            timeseries(f"{C.quality_metric.capitalize()} drop below training baseline",
                       f"Training-baseline {C.quality_metric} minus live {C.quality_metric} "
                       "(worst live version; delayed ground truth). Bad: above "
                       f"{C.quality_drop_crit} (red).",
                       [q(s.quality_drop(), "{{" + M + "}}")], unit="percentunit",
                       steps=DROP, w=8),
            timeseries("Share of drifted features", "Share of monitored input features "
                       "whose drift score is at or above its threshold. Bad: above "
                       f"{C.drifted_share_crit:.0%}.",
                       [q(s.drifted_share(), "{{" + M + "}}")], unit="percentunit",
                       steps=DRIFT, min=0, max=1, w=8),
            timeseries("Budget burn", "Serving cost per hour divided by the model's hourly "
                       "budget. Bad: at or above 1 (spending more than budgeted).",
                       [q(s.budget_burn(), "{{" + M + "}}")], unit="percentunit",
                       steps=BURN, min=0, w=8),
        ),
    ],
)

"""Cost: what does each model cost to serve, per hour and per prediction, against its budget?"""

from _config import CONFIG as C
from _lib import signals as s
from _lib.dashboard import ml_dashboards
from _lib.layout import section
from _lib.panels import bargauge, higher_is_bad, neutral, q, stat, timeseries
from _lib.promql import MODEL, MV, M, V, by, sel

folder = C.folder
RANGE = "$__range"  # the dashboard's time range (Grafana macro)

BURN = higher_is_bad(C.budget_burn_warn, C.budget_burn_crit)
BUDGET = higher_is_bad(C.budget_usd_per_hour * 0.8, C.budget_usd_per_hour)
COST_SEL = sel(source="cost", model=False)

burn_expr = (
    f"max by ({by(M)}) (model:ml_serving_cost_usd_per_hour_per_budget:ratio{sel(source='none')})\n"
    f"or on ({by(M)})\n({s.cost_per_hour()} / {C.budget_usd_per_hour})"
)

dashboards = ml_dashboards(
    uid="ml-cost",
    title="ML monitoring: cost",
    area="cost",
    description="Serving cost per model from OpenCost allocation and node prices: per hour, "
    "per 1k predictions, idle GPU spend, and burn against each model's hourly budget.",
    sections=[
        section(
            "Spend now",
            stat("Total cost per hour", "Serving cost of the selected models in USD per hour. Bad: "
                 "above the sum of their budgets.",
                 [q(f"sum by ({by()}) ({s.cost_per_hour()})")], unit="currencyUSD", w=6),
            stat("Projected per month", "Cost per hour x 730 h. Bad: above the monthly "
                 "budget.", [q(f"sum by ({by()}) ({s.cost_per_hour()}) * 730")], unit="currencyUSD", w=6),
            stat("Cost over the selected range", "USD spent over the dashboard's time range "
                 "(average hourly cost x hours). Bad: more than the budget for that period.",
                 [q(f"sum by ({by()}) (avg_over_time({s.COST_RULE}{sel(source='none')}[$__range])) "
                    "* $__range_s / 3600")], unit="currencyUSD", graph=False, w=6),
            stat("Idle share of all GPU spend", "Share of the models' GPU spend paid for "
                 "capacity they do not use over the selected time range (GPU cost x (1 - "
                 "utilisation), all models: spend accrues over time, and one scrape's "
                 "utilisation says little about it). Bad: above "
                 f"{1 - C.gpu_idle_utilisation:.0%}, utilisation below "
                 f"{C.gpu_idle_utilisation:.0%} (consolidate models, smaller GPUs).",
                 [q(f"sum by ({by()}) ({s.gpu_idle_cost_per_hour(window=RANGE)})\n/\n"
                    f"sum by ({by()}) ({s.gpu_cost_per_hour(window=RANGE)})")], unit="percentunit",
                 steps=higher_is_bad(0.5, 1 - C.gpu_idle_utilisation), w=6),
        ),
        section(
            "Per model",
            timeseries("Cost per hour", "Serving cost per model in USD per hour (recording "
                       "rule: CPU + RAM + GPU allocation x node prices). The dashed line is the "
                       f"default budget of {C.budget_usd_per_hour} USD/h from the dashboards' "
                       "config. Bad: above it, or a step up without a deployment.",
                       [q(s.cost_per_hour(), MODEL)], unit="currencyUSD", steps=BUDGET,
                       min=0, w=12),
            timeseries("Budget burn", "Cost per hour divided by the model's hourly budget "
                       "(ml_cost_budget_usd_per_hour; the config default where a model exports "
                       "none). Bad: at or above 1 (over budget).",
                       [q(burn_expr, MODEL)], unit="percentunit", steps=BURN, min=0, w=12),
            timeseries("Cost per 1k predictions", "Cost per hour / predictions per hour x "
                       "1000, per model (recording rule). Bad: rising while traffic is steady "
                       "(the same work got more expensive).",
                       [q(s.cost_per_1k_predictions(), MODEL)], unit="currencyUSD", min=0,
                       w=12),
            timeseries("Cost per 1k predictions by version", "The same per version. Bad: a canary "
                       "that costs more per prediction than production.",
                       [q(s.cost_per_1k_predictions((M, V), per_version=True), MV)],
                       unit="currencyUSD", min=0, w=12),
        ),
        section(
            "GPU",
            timeseries("GPU cost per hour", "GPU part of the serving cost per model. Bad: growing "
                       "while traffic is flat.",
                       [q(s.gpu_cost_per_hour(), MODEL)], unit="currencyUSD", min=0, w=8),
            timeseries("Idle GPU spend per hour", "GPU cost x (1 - GPU utilisation) per "
                       "model. Bad: close to the GPU cost (the GPU mostly idles).",
                       [q(s.gpu_idle_cost_per_hour(), MODEL)], unit="currencyUSD",
                       steps=higher_is_bad(C.budget_usd_per_hour * 0.25,
                                           C.budget_usd_per_hour * 0.5), min=0, w=8),
            bargauge("Idle share of GPU spend", "Idle GPU spend / GPU spend per model over "
                     "the selected time range (the idle spend per hour beside it is the "
                     f"moment's). Bad: above {1 - C.gpu_idle_utilisation:.0%} (utilisation "
                     f"below {C.gpu_idle_utilisation:.0%}).",
                     [q(f"{s.gpu_idle_cost_per_hour(window=RANGE)}\n/\n"
                        f"{s.gpu_cost_per_hour(window=RANGE)}", MODEL,
                        instant=True)],
                     unit="percentunit",
                     steps=higher_is_bad(0.5, 1 - C.gpu_idle_utilisation), min=0, max=1, w=8),
        ),
        section(
            "Prices (OpenCost)",
            timeseries("Node price per hour", "Hourly price of each node running models. "
                       "Bad: an unexpected change (instance type or pricing changed).",
                       [q(f"max by ({by('node', 'instance_type')}) (node_total_hourly_cost{COST_SEL})",
                          "{{node}} {{instance_type}}")], unit="currencyUSD", steps=neutral(),
                       w=12, h=6),
            timeseries("Cost per hour by version", "Serving cost per model version (a canary "
                       "adds its pods' cost). Bad: a retired version still costing money.",
                       [q(s.cost_per_hour((M, V), per_version=True), MV)], unit="currencyUSD",
                       stack=True, fill=40, min=0, w=12, h=6),
        ),
    ],
)


"""PromQL building blocks: selectors from the config, rates, ratios and quantiles.

Every query the dashboards issue is assembled here, so label names and source selectors come
from `_config.CONFIG` and the conventions (`$__rate_interval` in every rate, `histogram_quantile`
over `sum by (le, ...)`, numerator and denominator aggregated separately) hold everywhere.
"""

from __future__ import annotations

from _config import CONFIG

RATE = "$__rate_interval"

# Label names, so modules write `by(M, V)` rather than hard-coding "model, version".
M = CONFIG.model_label
V = CONFIG.version_label
F = CONFIG.feature_label
# Every series may carry the cluster label (one Grafana over several clusters, docs/scale-out.md):
# every selector filters on $cluster and every aggregation and vector match keeps the label, so
# two clusters are never merged into one line. Without the label nothing changes.
CLUSTER = CONFIG.cluster_label
ATTR = CONFIG.attribute_label
GROUP = CONFIG.group_label


def legend(*labels: str) -> str:
    """A Grafana legend template: legend(M, V) -> "{{model}} {{version}}"."""
    return " ".join("{{" + label + "}}" for label in labels)


# The two legends nearly every panel uses.
MODEL = legend(M)
MV = legend(M, V)

_SOURCES = {
    "serving": CONFIG.serving_selector,
    "evaluation": CONFIG.evaluation_selector,
    "container": CONFIG.container_selector,
    "gpu": CONFIG.gpu_selector,
    "cost": CONFIG.cost_selector,
    "node": CONFIG.node_selector,
    "none": "",
}


def sel(*extra: str, source: str = "serving", model: bool = True, version: bool = False,
        cluster: bool = True) -> str:
    """A label selector: the source's job matchers, the $cluster/$model/$version filters, then
    `extra` (`cluster=False` only for the query of the cluster variable itself)."""
    parts = [_SOURCES[source]]
    if cluster:
        parts.append(f'{CLUSTER}=~"$cluster"')
    if model:
        parts.append(f'{M}=~"$model"')
    if version:
        parts.append(f'{V}=~"$version"')
    parts.extend(extra)
    body = ", ".join(p for p in parts if p)
    return "{" + body + "}" if body else ""


def by(*labels: str) -> str:
    """The label list of a `by (...)` or `on (...)` clause: the cluster label, then `labels`.

    The one place dashboards choose what an aggregation keeps: by(M, V) -> "cluster, model, version".
    """
    return ", ".join(dict.fromkeys((CLUSTER, *labels)))


# Per-feature panels (a line per model x feature x method/reason: thousands at fleet scale) show
# the TOP_N worst series at each step by default; the `feature` variable narrows them to a
# selection (docs/dashboards.md). They draw at most FEATURE_POINTS points per line: over 24 h
# one point per 5 minutes, the window of the recording rules they read (docs/benchmarks.md).
TOP_N = 10
FEATURE_POINTS = 300


def worst(expr: str, n: int = TOP_N, lowest: bool = False) -> str:
    """`topk by (cluster) (n, expr)` (`bottomk` with `lowest`): the n worst series of each
    cluster at each step."""
    return f"{'bottomk' if lowest else 'topk'} by ({by()}) ({n}, {expr})"


def rate(metric: str, selector: str, window: str = RATE) -> str:
    return f"rate({metric}{selector}[{window}])"


def sum_rate(metric: str, selector: str, labels: tuple[str, ...] = (M,), window: str = RATE) -> str:
    """`sum by (cluster, labels) (rate(metric{selector}[window]))`."""
    return f"sum by ({by(*labels)}) ({rate(metric, selector, window)})"


def sum_increase(
    metric: str, selector: str, labels: tuple[str, ...] = (M,), window: str = RATE
) -> str:
    return f"sum by ({by(*labels)}) (increase({metric}{selector}[{window}]))"


def ratio(numerator: str, denominator: str, *, on: tuple[str, ...] = ()) -> str:
    """Aggregate numerator and denominator separately, then divide (never average ratios).

    With `on`, each numerator series is divided by the denominator series sharing those labels
    (`/ on (model) group_left`), e.g. a share per class of the model's total.
    """
    matching = f" on ({by(*on)}) group_left ()" if on else ""  # by() adds the cluster label
    return f"(\n  {numerator}\n)\n/{matching}\n(\n  {denominator}\n)"


def quantile(
    q: float, histogram: str, selector: str, labels: tuple[str, ...] = (M,), window: str = RATE
) -> str:
    """`histogram_quantile(q, sum by (le, labels) (rate(<histogram>_bucket{...}[window])))`."""
    keep = by("le", *labels)
    return (
        f"histogram_quantile({q}, sum by ({keep}) "
        f"(rate({histogram}_bucket{selector}[{window}])))"
    )


def histogram_mean(
    histogram: str, selector: str, labels: tuple[str, ...] = (M,), window: str = RATE
) -> str:
    return ratio(
        sum_rate(f"{histogram}_sum", selector, labels, window),
        sum_rate(f"{histogram}_count", selector, labels, window),
    )


def age(timestamp_metric: str, selector: str, labels: tuple[str, ...] = (M,)) -> str:
    """Seconds since a `..._timestamp_seconds` gauge (timestamps, not time-since, are exported)."""
    return f"(time() - max by ({by(*labels)}) ({timestamp_metric}{selector}))"


INFO = "ml_model_info"


def per_model(pod_expr: str, labels: tuple[str, ...] = (M,), agg: str = "sum") -> str:
    """Attach model/version to pod-level exporter series (cAdvisor, DCGM, OpenCost) and sum.

    `pod_expr` must keep the pod join labels (e.g. `sum by (namespace, pod) (...)`); the inner
    join with `ml_model_info{model=~"$model"}` also applies the model filter.
    """
    join = by(*CONFIG.pod_join_labels)
    info = f"max by ({join}, {M}, {V}) ({INFO}{sel()})"
    return (
        f"{agg} by ({by(*labels)}) (\n  {pod_expr}\n"
        f"  * on ({join}) group_left ({M}, {V}) {info}\n)"
    )


def pod_sum(expr: str) -> str:
    """`sum by (namespace, pod) (expr)` with the configured pod join labels."""
    return f"sum by ({by(*CONFIG.pod_join_labels)}) ({expr})"


def zero_if_none(count_expr: str) -> str:
    """`count_expr`, or 0 for each cluster that has models but nothing to count (a stat shows 0,
    not "No data"). `vector(0)` would add a series without the cluster label."""
    return f"{count_expr}\nor max by ({by()}) ({INFO}{sel(model=False)}) * 0"


def eq(label: str, value: str) -> str:
    """`label="value"` (a matcher for `sel`)."""
    return f'{label}="{value}"'


def match(label: str, value: str) -> str:
    """`label=~"value"` (a regex matcher for `sel`, e.g. match(F, "$feature"))."""
    return f'{label}=~"{value}"'


def ne(label: str, value: str) -> str:
    """`label!="value"`."""
    return f'{label}!="{value}"'

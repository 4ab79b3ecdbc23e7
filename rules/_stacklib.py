"""Building blocks of the serving-stack adapters (rules/stack_<name>.py).

An adapter maps one stack's native series onto the serving signals the dashboards read
(DESIGN.md "Serving signals every stack adapter produces"), under the configured model and
version label names, keeping `job`:

  model_version:ml_inference_requests:rate5m                     requests/s
  model_version:ml_inference_request_errors:rate5m               failed requests/s
  model_version:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m   0-1
  model_version:ml_inference_duration_seconds:p50|p95|p99_rate5m seconds (where a histogram exists)
  model_version:ml_inference_duration_seconds:mean5m             seconds
  model:ml_inference_duration_seconds:p50|p95|p99_rate5m         (stacks whose histogram is not
                                                                  in seconds: computed here)
  model_version_le:ml_inference_duration_seconds_bucket:rate5m   (stacks whose histogram is in
                                                                  seconds: recording.py rolls up)
  model_version:ml_inference_in_progress_requests:sum, model:ml_inference_queued_requests:sum,
  model:ml_inference_queue_duration_seconds:mean5m, model:ml_inference_batch_size:mean5m
                                                                 (where the stack has them)
  model_version:ml_model_loaded:max                              1 = the stack reports the
                                                                 version loaded and ready, 0 =
                                                                 known but not (yet) ready
  model_version:ml_model_load_duration_seconds:max               seconds the version took to
                                                                 load (where the stack says)
  The version label of the last two is the stack's version info: which versions are loaded.

Units: a quantile is computed over the native buckets (`le` untouched, never relabelled) and
then scaled to seconds; means divide native sums by counts, then scale. Renamed metrics are
covered by aggregating each name apart and joining with `or` (the first name wins where both
exist). Native model/version labels become the configured ones with label_replace; a stack
without versions reports `version="unknown"`, and so does an empty or "None" version value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from _rulelib import CONFIG, WINDOW, M, V, by, operand, record, sel

UNKNOWN = "unknown"
LOADED = "model_version:ml_model_loaded:max"
LOAD_SECONDS = "model_version:ml_model_load_duration_seconds:max"
QUANTILES = ("50", "95", "99")
JMV = by("job", version=True)  # by (job, model, version)
JM = by("job")  # by (job, model)


def relabel(expr: str, model: str | None, version: str | None = None,
            model_regex: str = "(.+)", version_from: str | None = None,
            version_regex: str = "(.+)") -> str:
    """`expr` with the native model/version labels copied to the configured ones.

    `model`: the native label naming the model (None: already the configured label).
    `version`: the native version label (None: the stack has none -> "unknown").
    `version_from` + `version_regex`: the version extracted from another label (e.g. Seldon's
    `model_internal` = `<model>_<version>`).
    """
    out = expr
    if model and model != M:
        out = f'label_replace({out}, "{M}", "$1", "{model}", "{model_regex}")'
    if version_from:
        out = f'label_replace({out}, "{V}", "$1", "{version_from}", "{version_regex}")'
    elif version and version != V:
        out = f'label_replace({out}, "{V}", "$1", "{version}", "(.*)")'
    elif not version:
        out = f'label_replace({out}, "{V}", "{UNKNOWN}", "__name__", ".*")'
    if version or version_from:  # missing / "None" (MLServer without a requested version)
        out = f'label_replace({out}, "{V}", "{UNKNOWN}", "{V}", "|None")'
    return out


def selector(metric: str, *matchers: str, source: str = "serving") -> str:
    """`metric{configured matchers, matchers}`; `metric` may be a `{__name__=~"..."}` selector."""
    if metric.startswith("{"):
        return sel(metric[1:-1], *matchers, source=source)
    return metric + sel(*matchers, source=source)


def rate(metric: str, *matchers: str, source: str = "serving") -> str:
    return f"rate({selector(metric, *matchers, source=source)}[{WINDOW}])"


def first(*alternatives: str, le: bool = False) -> str:
    """Renamed metrics / alternative sources: each aggregated apart; per model, the first
    alternative that has any series wins, whatever job it comes from (`or on (model)`), so a
    model exposed twice (e.g. Seldon's agent and MLServer) is never counted twice."""
    if len(alternatives) == 1:
        return alternatives[0]
    on = f"on ({CONFIG.by(*(['le'] if le else []))})"
    return f"\n  or {on}\n".join(f"({a})" for a in alternatives)


def scaled(expr: str, divisor: float) -> str:
    return expr if divisor == 1 else f"({expr})\n  / {_num(divisor)}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def latency(seconds_buckets: Callable[[str], str] | None = None,
            others: Sequence[Callable[[str, str], str]] = ()) -> list[dict]:
    """The latency percentiles of one stack.

    `seconds_buckets(level)`: bucket rates of a histogram already in seconds, aggregated
    `by (job, le, model[, version])` (level "version" or "model"). Recorded as
    `model_version_le:ml_inference_duration_seconds_bucket:rate5m`; recording.py computes the
    percentiles of every such histogram in one place (and the latency heatmap reads it).
    `others(level, q)`: a percentile in seconds from another source (a histogram in ms or µs:
    histogram_quantile over the native buckets, then scaled), for models the seconds histogram
    does not cover. Recorded here, per version and per model, first source first.
    """
    rules: list[dict] = []
    if seconds_buckets is not None:
        rules.append(record("model_version_le:ml_inference_duration_seconds_bucket:rate5m",
                            seconds_buckets("version")))
    for prefix, level in (("model_version", "version"), ("model", "model")):
        if not others:
            break
        for q in QUANTILES:
            expr = first(*[o(level, q) for o in others])
            if seconds_buckets is not None:
                on = f"on ({CONFIG.by()})"
                expr = f"({expr})\n  unless {on}\n({seconds_buckets(level)})"
            rules.append(record(f"{prefix}:ml_inference_duration_seconds:p{q}_rate5m", expr))
    return rules


def quantile(q: str, buckets: str, divisor: float = 1) -> str:
    """histogram_quantile over native buckets (`le` untouched), then / divisor (to seconds);
    absent, not NaN, where the histogram saw no request (`>= 0` drops NaN)."""
    return scaled(f"histogram_quantile(0.{q}, {buckets})\n  >= 0", divisor)


def core(requests: str, errors: str, mean: str | None) -> list[dict]:
    """requests/s, errors/s, the error ratio (0-1; absent without traffic, never NaN) and the
    mean latency per version. Every expression reads the stack's own series only, so adapters
    of several stacks (and the contract's) never write the same series."""
    # a stack creates its error series on the first error: until then errors are 0, not absent
    errors = f"({errors})\n  or on ({CONFIG.by(version=True)})\n(0 * (\n{_indent(requests)}\n))"

    rules = [
        record("model_version:ml_inference_requests:rate5m", requests),
        record("model_version:ml_inference_request_errors:rate5m", errors),
        record("model_version:ml_inference_request_errors_per_ml_inference_requests:ratio_rate5m",
               f"(\n{_indent(errors)}\n)\n  / (\n{_indent(operand(requests))}\n  > 0)"),
    ]
    if mean:
        rules.append(record("model_version:ml_inference_duration_seconds:mean5m", mean))
    return rules


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def group(stack: str, rules: list[dict]) -> list[dict]:
    """The module's `groups`: one group when the stack is on (monitoring.yaml `stacks:`)."""
    if not CONFIG.stack_on(stack):
        return []
    out = []
    for rule in rules:
        expr = rule["expr"]
        if "\n" in expr and not expr.endswith("\n"):  # literal blocks keep one final newline
            expr += "\n"
        out.append({**rule, "expr": expr})
    return [{"name": f"ml-serving-{stack}.rules", "rules": out}]


def per(numerator: str, denominator: str, divisor: float = 1) -> str:
    """numerator / denominator (absent where the denominator is 0), then / divisor."""
    return scaled(f"(\n{_indent(numerator)}\n)\n  / (\n{_indent(operand(denominator))}\n  > 0)", divisor)


def sum_by(grouping: str, expr: str) -> str:
    return f"sum {grouping} (\n{_indent(expr)}\n)"


def max_by(grouping: str, expr: str) -> str:
    return f"max {grouping} (\n{_indent(expr)}\n)"


# --- a stack's native series, relabelled by `native` (its `relabel(...)` call) --------------


def le_by(level: str) -> str:
    """The grouping of bucket rates at `level` ("version" or "model"): `by (job, le, model[, version])`."""
    return by("job", "le", version=level == "version")


def rate_by(grouping: str, native: Callable[[str], str], metric: str, *matchers: str) -> str:
    """The native counter's rate, relabelled, summed `grouping`."""
    return sum_by(grouping, native(rate(metric, *matchers)))


def mean_by(grouping: str, native: Callable[[str], str], histogram: str, divisor: float = 1) -> str:
    """The mean of a native histogram or summary (`<histogram>_sum` / `<histogram>_count`),
    summed `grouping`, then / divisor (to seconds)."""
    return per(rate_by(grouping, native, f"{histogram}_sum"),
               rate_by(grouping, native, f"{histogram}_count"), divisor)


def buckets(native: Callable[[str], str], histogram: str) -> Callable[[str], str]:
    """`level -> ` the native histogram's bucket rates, relabelled, summed `by (job, le, ...)`
    (a `seconds_buckets` source for `latency` where the histogram is in seconds)."""
    return lambda level: sum_by(le_by(level), native(rate(f"{histogram}_bucket")))


def percentile(native: Callable[[str], str], histogram: str,
               divisor: float = 1) -> Callable[[str, str], str]:
    """`(level, q) -> ` the q-th percentile over the native histogram's buckets, / divisor (to
    seconds): an `others` source for `latency`."""
    return lambda level, q: quantile(q, buckets(native, histogram)(level), divisor)


def loaded(expr: str) -> dict:
    """The loaded state per version: `expr` gives 1 (loaded, ready) or 0 per native series."""
    return record(LOADED, max_by(JMV, expr))


def load_seconds(expr: str, divisor: float = 1) -> dict:
    """The load time per version (the longest of its series), from native units to seconds."""
    return record(LOAD_SECONDS, scaled(max_by(JMV, expr), divisor))

"""Query-cost benchmark: every dashboard's on-load queries against a real, backfilled Prometheus.

1. Generate OpenMetrics history of the metrics contract (bench/gen_openmetrics.py) and backfill
   it with `promtool tsdb create-blocks-from openmetrics`.
2. Backfill the recording rules with `promtool tsdb create-blocks-from rules`, one dependency
   level at a time (a rule reading another rule's output needs that output in the TSDB first).
3. Start Prometheus on the result and, per dashboard: resolve its `label_values` variables (All
   selected), then run every panel and annotation query over 6 h and 24 h with Grafana's step for
   a 1,500 px panel — as shipped, and rewritten to read recording rules (bench/rule_rewrite.py)
   — recording wall time and `stats.samples.totalQueryableSamples` (`stats=all`).
One untimed warm-up pass first; then `runs` timed passes, the variant order alternating per pass.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests
import yaml

from bench.common import REPO_ROOT, fmt_ratio, log, md_table, median, spread
from bench.dashboard_queries import (
    Query,
    dashboard_queries,
    macro_values,
    range_query_params,
    variable_queries,
)
from bench.gen_openmetrics import Scale, write_file
from bench.prom_server import Prometheus, backfill_openmetrics, backfill_rules
from bench.rule_rewrite import load_rate_rules, rewrite
from grafana_sync.macros import substitute_macros

RANGES = {"6h": 6 * 3600, "24h": 24 * 3600}
SHIPPED, RULES = "as shipped", "with recording rules"
INSTANT, TOPK = "instant last-value panels", "top 20 series"
VARIANTS = (SHIPPED, RULES, INSTANT, TOPK)
TOPK_N = 20
WIDE_SERIES = 100  # a query returning more series than this is "wide" (TOPK variant)
BEFORE = "before/"  # uid prefix of the baseline ref's dashboards (measured as shipped only)


@dataclass
class QueryResult:
    dashboard: str
    panel: str
    ref_id: str
    expr: str
    walls: list[float] = field(default_factory=list)
    prom: list[float] = field(default_factory=list)  # Prometheus' own stats.timings.evalTotalTime
    samples: int = 0
    series: int = 0
    error: str = ""
    changed: bool = False  # a variant's own request (False: shares the shipped measurement)


@dataclass
class QueryBenchResult:
    scale: Scale
    series: int = 0
    samples: int = 0
    gen_s: float = 0.0
    backfill_s: float = 0.0
    rules_backfill_s: float = 0.0
    rewritten: int = 0
    last_value_only: int = 0
    wide: int = 0
    total_queries: int = 0
    # (dashboard, range, variant) -> results in query order
    results: dict[tuple[str, str, str], list[QueryResult]] = field(default_factory=dict)
    variable_walls: dict[str, list[float]] = field(default_factory=dict)
    runs: int = 0
    baseline: str = ""  # git ref whose compiled dashboards ran as "before" (BEFORE + uid)


def rule_files() -> list[Path]:
    folder = REPO_ROOT / "prometheus" / "rules"
    return sorted(folder.glob("*.yml")) if folder.is_dir() else []


def recording_levels(files: list[Path]) -> list[list[dict[str, Any]]]:
    """Recording rules grouped by dependency depth (level 0 reads raw series only); a record
    name given by several files is taken from the first."""
    rules: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule and rule["record"] not in seen:
                    seen.add(rule["record"])
                    rules.append(rule)
    names = {r["record"] for r in rules}
    level: dict[str, int] = {}

    def depth(rule: dict[str, Any], seen: frozenset[str] = frozenset()) -> int:
        if rule["record"] in level:
            return level[rule["record"]]
        deps = [n for n in names if n != rule["record"] and n not in seen
                and re.search(rf"(?<![\w:]){re.escape(n)}(?![\w:])", str(rule["expr"]))]
        by_name = {r["record"]: r for r in rules}
        d = 1 + max((depth(by_name[n], seen | {rule["record"]}) for n in deps), default=-1)
        level[rule["record"]] = d
        return d

    out: list[list[dict[str, Any]]] = []
    for rule in rules:
        d = depth(rule)
        while len(out) <= d:
            out.append([])
        out[d].append({"record": rule["record"], "expr": rule["expr"]})
    return out


def _move_blocks(src: Path, dest: Path) -> None:
    for block in src.iterdir():
        if block.is_dir() and (block / "meta.json").exists():
            shutil.move(str(block), dest / block.name)


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO_ROOT), *args], check=True, capture_output=True,
                          text=True).stdout


def at_ref(ref: str, folder: str, suffix: str) -> dict[str, str]:
    """{path: text} of the committed files under `folder` ending in `suffix` at git `ref`."""
    names = _git("ls-tree", "-r", "--name-only", ref, "--", folder).split()
    return {n: _git("show", f"{ref}:{n}") for n in names
            if n.endswith(suffix) and not Path(n).name.startswith(".")}


def baseline_dashboards(ref: str) -> list[dict[str, Any]]:
    """The compiled dashboards committed at `ref`, their uids prefixed with BEFORE."""
    out = []
    for _path, text in sorted(at_ref(ref, "provisioning/dashboards", ".json").items()):
        dash = json.loads(text)
        out.append({**dash, "uid": BEFORE + str(dash.get("uid", "?"))})
    return out


def prepare_tsdb(work: Path, scale: Scale, end: int, result: QueryBenchResult,
                 extra_rules: list[Path] = ()) -> Path:
    data = work / "data"
    source = work / "history.om"
    began = time.perf_counter()
    stats = write_file(source, scale, end)
    result.gen_s = time.perf_counter() - began
    result.series, result.samples = stats.series, stats.samples
    log(f"query: generated {stats.series} series, {stats.samples / 1e6:.1f} M samples, "
        f"{stats.bytes / 2**30:.2f} GiB in {result.gen_s:.1f} s; backfilling")
    result.backfill_s = backfill_openmetrics(source, data)
    source.unlink()
    log(f"query: backfilled in {result.backfill_s:.1f} s")
    levels = recording_levels(rule_files() + list(extra_rules))
    for depth, rules in enumerate(levels):
        rules_file = work / f"rules-level-{depth}.yml"
        rules_file.write_text(yaml.safe_dump({"groups": [{"name": f"level-{depth}",
                                                          "rules": rules}]}), encoding="utf-8")
        out_dir = work / f"rules-out-{depth}"
        with Prometheus(data) as prom:
            result.rules_backfill_s += backfill_rules(prom.url, rules_file,
                                                      end - 24 * 3600 - 300, end, out_dir)
        _move_blocks(out_dir, data)
    return data


def _resolve_variables(session: requests.Session, url: str, dash: dict[str, Any], end: int,
                       walls: list[float]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for var in variable_queries(dash):
        params: dict[str, Any] = {"start": end - 24 * 3600, "end": end}
        if var.match:
            params["match[]"] = substitute_macros(var.match, values)
        began = time.perf_counter()
        resp = session.get(f"{url}/api/v1/label/{var.label}/values", params=params, timeout=120)
        walls.append(time.perf_counter() - began)
        data = resp.json().get("data") or []
        values[var.name] = [re.sub(r"([.+*?()|\[\]{}^$\\])", r"\\\1", v) for v in data] or [".*"]
    return values


def _run_query(session: requests.Session, url: str, params: dict[str, str],
               result: QueryResult) -> None:
    endpoint = "query" if "time" in params else "query_range"
    began = time.perf_counter()
    try:
        resp = session.post(f"{url}/api/v1/{endpoint}", data={**params, "stats": "all"},
                            timeout=300)
        wall = time.perf_counter() - began
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        result.error = str(exc)[:200]
        return
    result.walls.append(wall)
    if body.get("status") != "success":
        result.error = str(body.get("error", resp.status_code))[:200]
        return
    data = body.get("data", {})
    stats = data.get("stats", {})
    result.prom.append(float(stats.get("timings", {}).get("evalTotalTime", 0.0)))
    result.samples = int(stats.get("samples", {}).get("totalQueryableSamples", 0))
    result.series = len(data.get("result", []))


def compiled_dashboards(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.rglob("*.json"))
            if not p.name.startswith(".")]


def _variant(query: Query, variant: str, rules: list[Any], wide: bool) -> tuple[Query, str]:
    """The query as `variant` sends it (expression and instant flag)."""
    if variant == RULES:
        return query, rewrite(query.expr, rules)[0]
    if variant == INSTANT and query.last_value_only:
        return replace(query, instant=True), query.expr
    if variant == TOPK and wide:
        return query, f"topk({TOPK_N}, {query.expr})"
    return query, query.expr


def run_queries(url: str, dashboards: list[dict[str, Any]], end: int, runs: int,
                result: QueryBenchResult) -> None:
    """Warm-up pass of the shipped queries, then `runs` timed passes. A variant's query that is
    identical to the shipped one is not sent again: it shares the shipped result (and time)."""
    rules = load_rate_rules(rule_files())
    session = requests.Session()
    shipped: dict[tuple[str, str], list[tuple[Query, dict[str, str]]]] = {}
    variables: dict[str, dict[str, list[str]]] = {}
    for dash in dashboards:
        name = dash.get("uid", "?")
        walls = result.variable_walls.setdefault(name, [])
        variables[name] = _resolve_variables(session, url, dash, end, walls)
        for query in dashboard_queries(dash) if not name.startswith(BEFORE) else ():
            result.total_queries += 1
            result.rewritten += bool(rewrite(query.expr, rules)[1])
            result.last_value_only += query.last_value_only
        for range_name, range_s in RANGES.items():
            plan = []
            for query in dashboard_queries(dash):
                final = substitute_macros(query.expr, variables[name],
                                          **macro_values(query, range_s))
                plan.append((query, range_query_params(query, final, end, range_s)))
            shipped[(name, range_name)] = plan
            result.results[(name, range_name, SHIPPED)] = [
                QueryResult(name, q.panel, q.ref_id, q.expr) for q, _ in plan]
    log(f"query: {result.total_queries} queries in {len(dashboards)} dashboards "
        f"({result.rewritten} rewritable to recording rules); warm-up pass")
    wide: set[tuple[str, str, int]] = set()
    for (name, _range_name), plan in shipped.items():  # warm-up: page the TSDB in
        for index, (query, params) in enumerate(plan):
            probe = QueryResult(name, query.panel, query.ref_id, "")
            _run_query(session, url, params, probe)
            if probe.series > WIDE_SERIES:
                wide.add((name, query.panel, index))
    result.wide = len({(n, p) for n, p, _ in wide})
    to_run: list[tuple[dict[str, str], QueryResult, str]] = []
    for (name, range_name), plan in shipped.items():
        base = result.results[(name, range_name, SHIPPED)]
        to_run += [(params, qres, SHIPPED) for (_q, params), qres in zip(plan, base, strict=True)]
        range_s = RANGES[range_name]
        for variant in VARIANTS[1:]:
            if name.startswith(BEFORE):  # the baseline is measured as shipped only
                result.results[(name, range_name, variant)] = base
                continue
            results = []
            for index, ((query, params), qres) in enumerate(zip(plan, base, strict=True)):
                vquery, expr = _variant(query, variant, rules,
                                        (name, query.panel, index) in wide)
                final = substitute_macros(expr, variables[name], **macro_values(vquery, range_s))
                vparams = range_query_params(vquery, final, end, range_s)
                if vparams == params:
                    results.append(qres)  # identical request: shares the shipped measurement
                    continue
                own = QueryResult(name, query.panel, query.ref_id, query.expr, changed=True)
                results.append(own)
                to_run.append((vparams, own, variant))
            result.results[(name, range_name, variant)] = results
    for run in range(runs):
        log(f"query: timed pass {run + 1}/{runs} ({len(to_run)} queries)")
        order = to_run if run % 2 == 0 else list(reversed(to_run))
        for params, qres, _variant_name in order:
            _run_query(session, url, params, qres)
    result.runs = runs


def run(scale: Scale, runs: int, dashboards_dir: Path | None = None,
        baseline: str | None = None) -> tuple[str, QueryBenchResult]:
    """`baseline`: a git ref whose committed dashboards (and recording rules) are measured in
    the same passes as "before" (the current ones are "after")."""
    dashboards_dir = dashboards_dir or REPO_ROOT / "provisioning" / "dashboards"
    dashboards = compiled_dashboards(dashboards_dir)
    result = QueryBenchResult(scale, baseline=baseline or "")
    if not dashboards:
        return f"No compiled dashboards under {dashboards_dir}; query benchmark skipped.\n", result
    end = int(time.time()) // 60 * 60 - 120
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        extra_rules: list[Path] = []
        if baseline:
            dashboards += baseline_dashboards(baseline)
            for index, text in enumerate(at_ref(baseline, "prometheus/rules", ".yml").values()):
                extra_rules.append(Path(tmp) / f"baseline-rules-{index}.yml")
                extra_rules[-1].write_text(text, encoding="utf-8")
        data = prepare_tsdb(Path(tmp), scale, end, result, extra_rules)
        with Prometheus(data, extra_args=("--query.max-samples=200000000",)) as prom:
            run_queries(prom.url, dashboards, end, runs, result)
    return render(result), result


def _total(results: list[QueryResult], run: int) -> float:
    return sum(r.walls[run] for r in results if len(r.walls) > run)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds == seconds else "–"


def summarise(result: QueryBenchResult) -> dict[tuple[str, str, str], dict[str, Any]]:
    out = {}
    for key, results in result.results.items():
        totals = [_total(results, i) for i in range(result.runs)]
        slowest = max(results, key=lambda r: median(r.walls) if r.walls else 0, default=None)
        proms = [sum(r.prom[i] for r in results if len(r.prom) > i) for i in range(result.runs)]
        out[key] = {
            "totals": totals, "total": median(totals), "prom": median(proms) if proms else 0.0,
            "slowest": slowest, "slowest_s": median(slowest.walls) if slowest else float("nan"),
            "samples": sum(r.samples for r in results),
            "errors": [r for r in results if r.error],
        }
    return out


def render(result: QueryBenchResult) -> str:
    s = summarise(result)
    text = (f"Data: {result.scale.describe()} → {result.series:,} series, "
            f"{result.samples / 1e6:.1f} M samples (generated in {result.gen_s:.0f} s, "
            f"`promtool tsdb create-blocks-from openmetrics` {result.backfill_s:.0f} s, recording "
            f"rules backfilled with `promtool tsdb create-blocks-from rules` at 15 s in "
            f"{result.rules_backfill_s:.0f} s). {result.total_queries} panel/annotation queries; "
            f"{result.rewritten} rewritable to a recording rule (bench/rule_rewrite.py), "
            f"{result.last_value_only} are range queries of panels that show only the last value "
            "(stat/gauge/bargauge without sparkline, reduce last/lastNotNull). Variants: "
            f"**{SHIPPED}**; **{RULES}** (those queries rewritten, the rest unchanged); "
            f"**{INSTANT}** (those panels' queries sent as instant queries, the rest unchanged); "
            f"**{TOPK}** (the {result.wide} panels whose query returns more than {WIDE_SERIES} "
            f"series wrapped in `topk({TOPK_N}, …)`, the rest unchanged). A variant's query "
            "identical to the shipped one is not re-sent: it shares the shipped measurement. "
            f"Median of {result.runs} timed pass(es) after one warm-up pass; time = client wall "
            "time per query (HTTP and JSON included), a dashboard's queries one after another "
            "(Grafana runs them concurrently, so this is total work, not load latency); samples "
            "= `stats.samples.totalQueryableSamples` summed over the dashboard's queries. "
            "Variables set to All.\n")
    dashboards = sorted({k[0] for k in s if not k[0].startswith(BEFORE)})
    for range_name in RANGES:
        rows = []
        sums = {v: [0.0] * result.runs for v in VARIANTS}
        for name in dashboards:
            a, b, c, d = (s[(name, range_name, v)] for v in VARIANTS)
            for v, agg in zip(VARIANTS, (a, b, c, d), strict=True):
                sums[v] = [x + y for x, y in zip(sums[v], agg["totals"], strict=True)]
            slow = a["slowest"]
            rows.append([
                name, len(result.results[(name, range_name, SHIPPED)]),
                f"{_ms(a['total'])} ({spread(a['totals'])})",
                f"{_ms(b['total'])} ({fmt_ratio(b['total'], a['total'])})",
                f"{_ms(c['total'])} ({fmt_ratio(c['total'], a['total'])})",
                f"{_ms(d['total'])} ({fmt_ratio(d['total'], a['total'])})",
                f"{_ms(a['slowest_s'])} — {slow.panel} ({slow.ref_id})" if slow else "–",
                f"{a['samples']:,}", f"{b['samples']:,}", f"{c['samples']:,}",
                len(a["errors"]) or "",
            ])
        total = {v: median(x) for v, x in sums.items()}
        rows.append(["**all dashboards**", sum(r[1] for r in rows),
                     f"**{_ms(total[SHIPPED])}** ({spread(sums[SHIPPED])})",
                     f"**{_ms(total[RULES])}** ({fmt_ratio(total[RULES], total[SHIPPED])})",
                     f"**{_ms(total[INSTANT])}** ({fmt_ratio(total[INSTANT], total[SHIPPED])})",
                     f"**{_ms(total[TOPK])}** ({fmt_ratio(total[TOPK], total[SHIPPED])})",
                     "", "", "", "", ""])
        step = "15 s" if range_name == "6h" else "1 m"
        text += f"\n**Range {range_name}** (step {step}; ratios are variant / as shipped)\n\n"
        text += md_table(["dashboard", "queries", f"total {SHIPPED} (noise)", f"total {RULES}",
                          f"total {INSTANT}", f"total {TOPK}", f"slowest query {SHIPPED} (panel)",
                          f"samples {SHIPPED}", f"samples {RULES}", f"samples {INSTANT}",
                          "errors"], rows)
    text += "\n" + _before_after(result, s) + _heaviest(result) + _errors(s) + _variables(result)
    return text


def _fewer(after: float, before: float) -> str:
    """`0.08× (12.5× fewer)`: the ratio, and its inverse where it is a reduction."""
    ratio = fmt_ratio(after, before)
    return f"{ratio} ({before / after:.1f}× fewer)" if after and before > after else ratio


def _heaviest_panel(results: list[QueryResult]) -> QueryResult | None:
    return max(results, key=lambda r: r.samples, default=None)


def _before_after(result: QueryBenchResult, s: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    """Per dashboard, the baseline ref's dashboards (before) against this tree's (after), as
    shipped, measured in the same passes: Prometheus' own evaluation time (the sum of
    `stats.timings.evalTotalTime` of the dashboard's queries), client time, samples, and the
    panel reading the most samples before — and what that panel (same dashboard, title and refId)
    reads after."""
    if not result.baseline:
        return ""
    text = (f"\n**Before ({result.baseline}) / after (this tree), as shipped, same passes**: "
            "Prometheus time = sum over the dashboard's queries of Prometheus' own "
            "`stats.timings.evalTotalTime` (evaluation only, no JSON encoding or transfer); "
            "client time as above; the heaviest panel is the query reading the most samples "
            "before, and the same panel after.\n")
    for range_name in RANGES:
        rows = []
        for name in sorted({k[0] for k in s if not k[0].startswith(BEFORE)}):
            after = s.get((name, range_name, SHIPPED))
            before = s.get((BEFORE + name, range_name, SHIPPED))
            if after is None or before is None:
                continue
            old = _heaviest_panel(result.results[(BEFORE + name, range_name, SHIPPED)])
            new = result.results[(name, range_name, SHIPPED)]
            same = [r for r in new if old and (r.panel, r.ref_id) == (old.panel, old.ref_id)]
            top = _heaviest_panel(new)
            rows.append([
                name,
                f"{_ms(before['prom'])}", f"{_ms(after['prom'])}",
                fmt_ratio(after["prom"], before["prom"]),
                f"{_ms(before['total'])}", f"{_ms(after['total'])}",
                fmt_ratio(after["total"], before["total"]),
                f"{before['samples']:,}", f"{after['samples']:,}",
                _fewer(after["samples"], before["samples"]),
                f"{old.panel} ({old.ref_id}): {old.samples:,}" if old else "–",
                (f"{same[0].samples:,} ({_fewer(same[0].samples, old.samples)})"
                 if same and old else "removed"),
                f"{top.panel} ({top.ref_id}): {top.samples:,}" if top else "–",
            ])
        step = "15 s" if range_name == "6h" else "1 m"
        text += f"\n*Range {range_name}* (step {step}; ratios are after / before)\n\n"
        text += md_table(["dashboard", "Prometheus time before", "after", "ratio",
                          "client time before", "after", "ratio", "samples before", "after",
                          "ratio", "heaviest panel before: samples", "same panel after",
                          "heaviest panel after: samples"], rows)
    return text


def _heaviest(result: QueryBenchResult, top: int = 10) -> str:
    rows = []
    for (name, range_name, variant), results in result.results.items():
        if range_name != "24h" or variant != SHIPPED or name.startswith(BEFORE):
            continue
        others = [result.results[(name, range_name, v)] for v in VARIANTS[1:]]
        for r, *alts in zip(results, *others, strict=True):
            if r.walls:
                rows.append((median(r.walls), r, alts))
    rows.sort(key=lambda x: -x[0])

    def cell(base: float, other: QueryResult) -> str:
        if not other.changed:
            return "same"
        if not other.walls:
            return "error"
        return f"{_ms(median(other.walls))} ({fmt_ratio(median(other.walls), base)})"

    table = [[f"{r.dashboard} / {r.panel} ({r.ref_id})", _ms(t), f"{r.samples:,}", r.series,
              *(cell(t, o) for o in alts),
              "`" + r.expr.replace("\n", " ").replace("|", "\\|")[:110] + "`"]
             for t, r, alts in rows[:top]]
    return (f"\n**Heaviest {top} queries (24 h, as shipped)**\n\n" + md_table(
        ["dashboard / panel", SHIPPED, "samples", "series", *VARIANTS[1:],
         "query (first 110 chars)"], table))


def _errors(s: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    seen: dict[str, str] = {}
    for (name, _range, _variant), agg in s.items():
        for r in agg["errors"]:
            seen.setdefault(f"{name} / {r.panel} ({r.ref_id})", r.error)
    if not seen:
        return ""
    lines = [f"- {k}: {v}" for k, v in sorted(seen.items())]
    return "\nQueries that failed:\n\n" + "\n".join(lines) + "\n"


def _variables(result: QueryBenchResult) -> str:
    per = defaultdict(float)
    for name, walls in result.variable_walls.items():
        per[name] = sum(walls)
    if not per:
        return ""
    total = sum(per.values())
    return (f"\nVariable (`label_values`) lookups, once per dashboard: {total * 1000:.0f} ms "
            "in total.\n")

"""Rules with grafana/dashboard-linter's names and meaning (differences: docs/lint.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import promql_parser

from grafana_sync.lint import promql
from grafana_sync.lint.base import LintContext, query_panels
from grafana_sync.lint.model import (
    WARNING,
    Dashboard,
    Issue,
    datasource_type,
    datasource_uid,
    targets,
    variable_name_in,
)
from grafana_sync.lint.units import is_valid_unit

UNIT_PANEL_TYPES = frozenset({
    "timeseries", "stat", "gauge", "bargauge", "table", "graph", "singlestat",
})
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_VARIABLE_QUERY_RE = re.compile(r"^\s*(\w+)\s*\((.*)\)\s*$", re.DOTALL)


# --- template-* ---------------------------------------------------------------------------------

def template_datasource(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    variables = dash.variables_of_type("datasource")
    if not variables:
        yield Issue("has no datasource template variable (type 'datasource'); add one named "
                    "'datasource' so the dashboard works against any Prometheus")
        return
    for var in variables:
        plugin = var.get("query") if isinstance(var.get("query"), str) else ""
        name, label = var.get("name"), var.get("label")
        allowed_names = [f"{plugin.lower()}_datasource"]
        allowed_labels = [f"{plugin.title()} data source"]
        if len(variables) == 1:
            allowed_names.append("datasource")
            allowed_labels.append("Data source")
        # Two independent checks, as in dashboard-linter: a wrong name does not hide a wrong label.
        if name not in allowed_names:
            yield Issue(f"datasource variable is named {name!r}, should be named "
                        + " or ".join(repr(n) for n in allowed_names))
        if label not in allowed_labels:
            yield Issue(f"datasource variable {name!r} is labelled {label!r}, should be labelled "
                        + " or ".join(repr(n) for n in allowed_labels), severity=WARNING,
                        fix=_setter(var, "label", allowed_labels[-1]))


def _job_instance(dash: Dashboard, name: str) -> Iterator[Issue]:
    ds_vars = dash.variables_of_type("datasource")
    if not ds_vars or ds_vars[0].get("query") != "prometheus":
        return
    var = next((v for v in dash.variables() if v.get("name") == name), None)
    if var is None:
        yield Issue(f"is missing the {name!r} template variable")
        return
    uid = datasource_uid(var.get("datasource")) or ""
    if variable_name_in(uid) not in ("datasource", "prometheus_datasource"):
        yield Issue(f"{name} variable should use datasource '$datasource', uses {uid!r}")
    if var.get("type") != "query":
        yield Issue(f"{name} variable should be a Prometheus query, is {var.get('type')!r}")
    if var.get("label") != name.title():
        yield Issue(f"{name} variable should be labelled {name.title()!r}, is {var.get('label')!r}",
                    severity=WARNING)
    if not var.get("multi"):
        yield Issue(f"{name} variable should be multi-select")
    if var.get("allValue") != ".+":
        yield Issue(f"{name} variable allValue should be '.+', is {var.get('allValue')!r}")


def template_job(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    yield from _job_instance(dash, "job")


def template_instance(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    yield from _job_instance(dash, "instance")


def _variable_query(var: dict[str, Any]) -> str | None:
    query = var.get("query")
    if isinstance(query, dict):
        query = query.get("query")
    return query if isinstance(query, str) else None


def _is_prometheus_variable(dash: Dashboard, var: dict[str, Any]) -> bool:
    kind = datasource_type(dash, var.get("datasource"))
    if kind is not None:
        return kind == "prometheus"
    return any(v.get("query") == "prometheus" for v in dash.variables_of_type("datasource"))


def _split_last_arg(args: str) -> tuple[str, str] | None:
    """'up{a="b,c"}, job' -> ('up{a="b,c"}', 'job'): split at the last top-level comma."""
    depth, quote = 0, ""
    split = -1
    for i, ch in enumerate(args):
        if quote:
            if ch == quote and args[i - 1] != "\\":
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == "," and depth == 0:
            split = i
    if split < 0:
        return None
    return args[:split].strip(), args[split + 1:].strip()


def check_variable_query(query: str, parse: Any) -> str | None:
    """Why a Prometheus variable query is invalid, or None. `parse(expr)` returns a Parsed."""
    match = _VARIABLE_QUERY_RE.match(query)
    if not match:
        parsed = parse(query)  # Grafana runs a bare expression as a series query
        return None if parsed.error is None else f"invalid query: {parsed.error}"
    func, args = match.group(1), match.group(2).strip()
    if func == "label_values":
        parts = _split_last_arg(args)
        selector, label = parts if parts else ("", args)
        if not _LABEL_NAME_RE.match(label) and not variable_name_in(label):
            return f"label_values: {label!r} is not a label name"
        if selector:
            parsed = parse(selector)
            if parsed.error:
                return f"label_values: invalid series selector: {parsed.error}"
        return None
    if func == "label_names":
        if args:
            parsed = parse(args)
            if parsed.error:
                return f"label_names: invalid series selector: {parsed.error}"
        return None
    if func == "metrics":
        return None if args else "metrics: expects a regex argument"
    if func == "query_result":
        parsed = parse(args)
        return None if parsed.error is None else f"query_result: invalid PromQL: {parsed.error}"
    parsed = parse(query)
    if parsed.error is None:
        return None
    return (f"invalid function {func!r} (expected label_names, label_values, metrics "
            "or query_result)")


def template_label_promql(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    for var in dash.variables_of_type("query"):
        if not _is_prometheus_variable(dash, var):
            continue
        query = _variable_query(var)
        if not query or not query.strip():
            yield Issue(f"variable {var.get('name')!r} has an empty query")
            continue
        problem = check_variable_query(query, lambda e: ctx.parse(dash, e))
        if problem:
            yield Issue(f"variable {var.get('name')!r} query {query!r}: {problem}")


def _setter(obj: dict[str, Any], key: str, value: Any) -> Callable[[], None]:
    def fix() -> None:
        obj[key] = value
    return fix


def template_on_time_change_reload(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    for var in dash.variables_of_type("query"):
        if var.get("refresh") != 2:
            yield Issue(f"variable {var.get('name')!r} should refresh 'On time range change' "
                        f"(refresh: 2), is {var.get('refresh')!r}", fix=_setter(var, "refresh", 2))


# --- panel-* ------------------------------------------------------------------------------------

def panel_datasource(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    ds_vars = {v["name"] for v in dash.variables_of_type("datasource")
               if isinstance(v.get("name"), str)}
    if not ds_vars:
        return  # template-datasource-rule reports the missing variable, once

    def templated(ref: Any) -> bool:
        uid = datasource_uid(ref)
        return uid is not None and variable_name_in(uid) in ds_vars

    def pseudo(ref: Any) -> bool:  # -- Mixed -- / -- Dashboard --: the targets decide
        return datasource_type(dash, ref) == "datasource" or datasource_uid(ref) in (
            "-- Mixed --", "-- Dashboard --")

    for panel in dash.content_panels():
        ref = panel.raw.get("datasource")
        panel_targets = targets(panel)
        if ref is not None and not pseudo(ref):
            if not templated(ref):
                yield Issue(f"does not use a templated datasource, uses {datasource_uid(ref)!r}",
                            panel=panel)
                continue
            for target in panel_targets:
                tref = target.raw.get("datasource")
                if tref is None or templated(tref) or pseudo(tref):
                    continue
                if datasource_uid(tref) != datasource_uid(ref):
                    yield Issue(f"target uses datasource {datasource_uid(tref)!r}, not a "
                                "templated one", panel=panel, target=target)
            continue
        for target in panel_targets:
            tref = target.raw.get("datasource")
            if tref is None:
                yield Issue("target uses the default datasource, not a templated one",
                            panel=panel, target=target)
            elif not templated(tref) and not pseudo(tref):
                yield Issue(f"target uses datasource {datasource_uid(tref)!r}, not a templated one",
                            panel=panel, target=target)


def panel_title_description(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    for panel in dash.content_panels():
        if not panel.is_data_panel:
            continue
        description = panel.raw.get("description")
        missing = [what for what, value in (("title", panel.title), ("description", description))
                   if not (isinstance(value, str) and value.strip())]
        if missing:
            yield Issue(f"has no {' and no '.join(missing)}", panel=panel)


def _field_config(panel_raw: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    config = panel_raw.get("fieldConfig")
    if not isinstance(config, dict):
        return {}, []
    defaults = config.get("defaults") if isinstance(config.get("defaults"), dict) else {}
    overrides = config.get("overrides") if isinstance(config.get("overrides"), list) else []
    return defaults, [o for o in overrides if isinstance(o, dict)]


def _override_properties(overrides: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for override in overrides:
        props = override.get("properties")
        for prop in props if isinstance(props, list) else []:
            if isinstance(prop, dict):
                yield prop


def _legacy_units(panel_raw: dict[str, Any]) -> list[tuple[str, Any]]:
    """(where, unit) of the Angular panels' own unit settings: graph's y axes, singlestat's format."""
    found: list[tuple[str, Any]] = []
    if panel_raw.get("type") == "graph":
        axes = panel_raw.get("yaxes")
        for i, axis in enumerate(axes if isinstance(axes, list) else []):
            if isinstance(axis, dict) and axis.get("format") not in (None, ""):
                if i == 1 and axis.get("show") is False:
                    continue  # a hidden right axis formats nothing
                found.append((f"yaxes[{i}].format", axis["format"]))
    elif panel_raw.get("type") == "singlestat" and panel_raw.get("format") not in (None, ""):
        found.append(("format", panel_raw["format"]))
    return found


def panel_units(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    for panel in dash.content_panels():
        if panel.type not in UNIT_PANEL_TYPES:
            continue
        options = panel.raw.get("options")
        reduce = options.get("reduceOptions") if isinstance(options, dict) else None
        if panel.type == "stat" and isinstance(reduce, dict) and reduce.get("fields"):
            continue  # a stat showing non-numeric fields has nothing to put a unit on
        defaults, overrides = _field_config(panel.raw)
        props = list(_override_properties(overrides))
        if defaults.get("mappings") or any(p.get("id") == "mappings" and p.get("value")
                                           for p in props):
            continue  # value mappings render text, not numbers
        if panel.type == "singlestat" and panel.raw.get("valueMaps") and panel.raw.get(
                "mappingType") in (1, None):
            continue  # singlestat's own value mappings
        units = [("fieldConfig.overrides", p.get("value")) for p in props if p.get("id") == "unit"]
        unit = defaults.get("unit")
        if isinstance(unit, str) and unit:
            units.insert(0, ("fieldConfig.defaults.unit", unit))
        units += _legacy_units(panel.raw)
        if not units:
            where = {"graph": " or yaxes[].format", "singlestat": " or format"}.get(panel.type, "")
            yield Issue(f"has no unit (fieldConfig.defaults.unit{where})", panel=panel)
            continue
        for where, value in units:
            if not isinstance(value, str) or not is_valid_unit(value):
                yield Issue(f"has an invalid unit {value!r} ({where})", panel=panel)


def panel_no_targets(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    for panel in dash.content_panels():
        if panel.is_data_panel and not targets(panel):
            yield Issue("has no targets (queries)", panel=panel)


# --- target-* -----------------------------------------------------------------------------------

def target_promql(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    panel_ids = {p.id for p in dash.panels() if p.id is not None}
    for panel in query_panels(dash):
        for target in targets(panel):
            ref = target.raw.get("panelId")
            if target.expr or ref is None:
                continue
            if not isinstance(ref, int) or isinstance(ref, bool) or ref not in panel_ids:
                yield Issue(f"target reuses the query of panel id {ref!r}, which does not exist "
                            "in this dashboard", panel=panel, target=target)
    for query in ctx.queries(dash):
        if query.target is not None and not query.expr and "panelId" in query.target.raw:
            continue  # a -- Dashboard -- reference, checked above
        if not query.expr.strip():
            yield query.issue("has an empty PromQL expression")
        elif query.parsed.error:
            yield query.issue(f"invalid PromQL {query.expr!r}: {query.parsed.error}")


def target_rate_interval(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    for query in ctx.queries(dash):
        if query.parsed.expr is None:
            continue
        for node, parents in promql.walk(query.parsed.expr):
            if not isinstance(node, promql_parser.MatrixSelector) or not parents:
                continue
            func = promql.call_name(parents[-1])
            if func not in RATE_FUNCTIONS:
                continue
            allowed = {promql.RATE_INTERVAL_DELTA}
            if func == "increase":
                allowed.add(promql.RANGE_DELTA)  # "increase over the selected time range"
            if node.range not in allowed:
                shown = str(node).rsplit("[", 1)[-1].rstrip("]")
                yield query.issue(f"{func}() over [{shown}] should use [$__rate_interval]"
                                  + (" (or [$__range])" if func == "increase" else ""))


def _tests_presence(node: Any) -> bool:
    """absent(...) and friends read whether series exist, never a counter's value."""
    return promql.call_name(node) in ("absent", "absent_over_time", "present_over_time")


def target_counter_agg(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    """As dashboard-linter: a `*_total` selector must be the range of rate/irate/increase (or of
    resets(), a counter function too); count()/group() over a raw counter are findings, as
    upstream (count by (x) (rate(c[$__rate_interval])) says the same without a raw counter)."""
    for query in ctx.queries(dash):
        if query.parsed.expr is None:
            continue
        for node, parents in promql.walk(query.parsed.expr):
            if not isinstance(node, promql_parser.VectorSelector):
                continue
            name = promql.selector_name(node) or ""
            if not name.endswith("_total"):
                continue
            ok = (len(parents) >= 2 and isinstance(parents[-1], promql_parser.MatrixSelector)
                  and promql.call_name(parents[-2]) in RATE_FUNCTIONS | {"resets"})
            if not ok and not any(_tests_presence(p) for p in parents):
                yield query.issue(
                    f"counter metric '{name}' is not aggregated with rate, irate or increase")


def _required_matcher(name: str) -> Callable[[Dashboard, LintContext], Iterator[Issue]]:
    """target-job-rule / target-instance-rule: every selector has `name=~"$name"`."""

    def check(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
        ds_vars = dash.variables_of_type("datasource")
        if not ds_vars or ds_vars[0].get("query") != "prometheus":
            return  # as upstream: only dashboards templated on a Prometheus datasource
        wanted = {f"${name}", f"${{{name}}}"}
        for query in ctx.queries(dash):
            if query.parsed.expr is None:
                continue  # invalid PromQL is target-promql-rule's
            for node, _ in promql.walk(query.parsed.expr):
                if not isinstance(node, promql_parser.VectorSelector):
                    continue
                problem = f"{name} selector not found"
                for matcher in node.matchers.matchers:
                    if matcher.name != name:
                        continue
                    if matcher.op == promql_parser.MatchOp.Re and matcher.value in wanted:
                        problem = ""
                        break
                    if matcher.op != promql_parser.MatchOp.Re:
                        problem = f"{name} selector is {_op_text(matcher.op)}, not =~"
                    else:
                        problem = f"{name} selector is {matcher.value!r}, not '${name}'"
                if problem:
                    yield query.issue(f"{problem} in {query.expr!r}")
                    break  # one finding per query is enough to act on

    return check


def _op_text(op: Any) -> str:
    for text, value in (("=", promql_parser.MatchOp.Equal), ("!=", promql_parser.MatchOp.NotEqual),
                        ("!~", promql_parser.MatchOp.NotRe), ("=~", promql_parser.MatchOp.Re)):
        if op == value:
            return text
    return str(op)


target_job = _required_matcher("job")
target_instance = _required_matcher("instance")


def uneditable_dashboard(dash: Dashboard, ctx: LintContext) -> Iterator[Issue]:
    if dash.raw.get("editable") is True:
        yield Issue("is editable; set 'editable: false' (the code is the source of truth)",
                    fix=_setter(dash.raw, "editable", False))

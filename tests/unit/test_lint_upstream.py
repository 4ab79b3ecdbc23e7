"""grafana/dashboard-linter's own test cases, ported case by case.

Ported from https://github.com/grafana/dashboard-linter at commit
4d0844b40d49cbfd442916fc6c0c3c6fc81084e3 (2026-06-18), files lint/*_test.go (Apache-2.0); its
lint/testdata/dashboard.json is copied to tests/fixtures/lint/upstream/dashboard.json.

Each case keeps upstream's dashboard (Go struct fields written as the JSON they marshal to) and
upstream's expected results as (severity, words of the message). Messages are this project's own
wording, so a case checks the number of findings, their severities and the facts each message
must carry (the offending value, what it should be). Where this linter deliberately disagrees,
the case says `ours=` with the result here and `why=` naming the entry in docs/lint.md
("Differences from dashboard-linter"); test_every_difference_is_documented checks the list.

Not ported, as docs/lint.md says: lint_test.go TestResultSet and rules_test.go TestCustomRules
(Go API: result sets, registering custom rules), rule_target_logql*_test.go (LogQL rules: not
implemented here).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.lint import promql
from grafana_sync.lint.base import LintContext
from grafana_sync.lint.model import Dashboard
from grafana_sync.lint.registry import RULES_BY_NAME

UPSTREAM_COMMIT = "4d0844b40d49cbfd442916fc6c0c3c6fc81084e3"
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "lint" / "upstream"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "lint.md"
OK: list[tuple[str, tuple[str, ...]]] = []  # upstream's ResultSuccess

E, W = "error", "warning"


@dataclass
class Case:
    source: str  # upstream test function and case name
    rule: str
    dashboard: dict[str, Any]
    upstream: list[tuple[str, tuple[str, ...]]]
    ours: list[tuple[str, tuple[str, ...]]] | None = None  # when we deliberately differ
    why: str | None = None  # the docs/lint.md difference that explains it
    fixed: dict[str, Any] | None = None  # upstream's autofix result, when the case has one
    extra: dict[str, Any] = field(default_factory=dict)


def dash(panels: list[dict[str, Any]] | None = None, templates: list[dict[str, Any]] | None = None,
         title: str = "test", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"title": title, "panels": panels or []}
    if templates is not None:
        out["templating"] = {"list": templates}
    out.update(extra)
    return out


def panel(**fields: Any) -> dict[str, Any]:
    """A Go `Panel{...}`; `exprs=[...]` is shorthand for targets with those expressions."""
    exprs = fields.pop("exprs", None)
    if exprs is not None:
        fields["targets"] = [{"expr": e} for e in exprs]
    return fields


PROM_DS = {"type": "datasource", "query": "prometheus"}  # Template{Type: datasource, Query: prometheus}


def lint_one(rule: str, raw: dict[str, Any]) -> tuple[Dashboard, list[Any]]:
    d = Dashboard(path=Path("test.json"), display_path="test.json", raw=raw)
    return d, list(RULES_BY_NAME[rule].check(d, LintContext(dashboards=[d])))


def results(rule: str, raw: dict[str, Any]) -> list[tuple[str, str]]:
    _, issues = lint_one(rule, raw)
    return [(i.severity or RULES_BY_NAME[rule].severity, i.message) for i in issues]


# --- lint/rule_panel_datasource_test.go: TestPanelDatasource -------------------------------------

def _panel_datasource() -> list[Case]:
    cases = [Case("TestPanelDatasource#0", "panel-datasource-rule",
                  dash([panel(type="singlestat", datasource="foo", title="bar")]),
                  upstream=[(E, ("does not use a templated datasource", "'foo'"))],
                  ours=OK, why="panel-datasource-rule without a datasource variable")]
    for name in ("$datasource", "${datasource}", "$prometheus_datasource",
                 "${prometheus_datasource}"):
        var = name.strip("${}")
        cases.append(Case(f"TestPanelDatasource {name}", "panel-datasource-rule",
                          dash([panel(type="singlestat", datasource=name)],
                               [{"type": "datasource", "name": var}]), upstream=OK))
    return cases


# --- lint/rule_panel_no_targets_test.go ---------------------------------------------------------

def _panel_no_targets() -> list[Case]:
    return [
        Case("TestPanelNoTargets#0", "panel-no-targets-rule",
             dash([panel(type="singlestat", datasource="foo", title="bar")]),
             upstream=[(E, ("has no targets",))]),
        Case("TestPanelNoTargets#1", "panel-no-targets-rule",
             dash([panel(type="singlestat", datasource="foo", title="bar",
                         exprs=["sum(rate(foo[5m]))"])]), upstream=OK),
    ]


# --- lint/rule_panel_title_description_test.go --------------------------------------------------

def _panel_title_description() -> list[Case]:
    return [
        Case("TestPanelTitleDescription#0", "panel-title-description-rule",
             dash([panel(type="singlestat", id=1, title="", description="")]),
             upstream=[(E, ("title", "description"))]),
        Case("TestPanelTitleDescription#1", "panel-title-description-rule",
             dash([panel(type="singlestat", id=2, title="title", description="")]),
             upstream=[(E, ("description",))]),
        Case("TestPanelTitleDescription#2", "panel-title-description-rule",
             dash([panel(type="singlestat", id=3, title="", description="description")]),
             upstream=[(E, ("title",))]),
        Case("TestPanelTitleDescription#3", "panel-title-description-rule",
             dash([panel(type="singlestat", id=1, datasource="foo", title="testpanel",
                         description="testdescription")]), upstream=OK),
    ]


# --- lint/rule_panel_units_test.go --------------------------------------------------------------

_MAPPINGS = [{"type": "value", "options": {"1": {"text": "OK", "color": "green", "index": 0},
                                           "2": {"text": "Problem", "color": "red", "index": 1}}}]


def _panel_units() -> list[Case]:
    def units(**fields: Any) -> dict[str, Any]:
        return dash([panel(datasource="foo", title="bar", **fields)])

    return [
        Case("TestPanelUnits/invalid unit", "panel-units-rule",
             units(type="singlestat", fieldConfig={"defaults": {"unit": "MyInvalidUnit"}}),
             upstream=[(E, ("invalid", "MyInvalidUnit"))]),
        Case("TestPanelUnits/missing FieldConfig", "panel-units-rule", units(type="singlestat"),
             upstream=[(E, ("no unit",))]),
        Case("TestPanelUnits/empty FieldConfig", "panel-units-rule",
             units(type="singlestat", fieldConfig={}), upstream=[(E, ("no unit",))]),
        Case("TestPanelUnits/valid", "panel-units-rule",
             units(type="singlestat", fieldConfig={"defaults": {"unit": "short"}}), upstream=OK),
        Case("TestPanelUnits/none - scalar", "panel-units-rule",
             units(type="singlestat", fieldConfig={"defaults": {"unit": "none"}}), upstream=OK),
        Case("TestPanelUnits/has nonnumeric reduceOptions fields", "panel-units-rule",
             units(type="stat", options={"reduceOptions": {"fields": "/^version$/"}}),
             upstream=OK),
        Case("TestPanelUnits/has empty reduceOptions fields", "panel-units-rule",
             units(type="stat", options={"reduceOptions": {"fields": ""}}),
             upstream=[(E, ("no unit",))]),
        Case("TestPanelUnits/no units but have value mappings", "panel-units-rule",
             units(type="singlestat", fieldConfig={"defaults": {"mappings": _MAPPINGS}}),
             upstream=OK),
        Case("TestPanelUnits/no units but have value mappings in overrides", "panel-units-rule",
             units(type="singlestat", fieldConfig={"overrides": [
                 {"properties": [{"id": "mappings", "value": _MAPPINGS}]}]}), upstream=OK),
    ]


# --- lint/rule_target_counter_agg_test.go -------------------------------------------------------

def _counter_agg() -> list[Case]:
    def counter(expr: str) -> dict[str, Any]:
        return dash([panel(title="panel", datasource="foo", exprs=[expr])], [], title="dashboard")

    bad = "is not aggregated with rate, irate or increase"
    return [
        Case("TestTargetCounterAggRule#0", "target-counter-agg-rule", counter("something_total"),
             upstream=[(E, ("'something_total'", bad))]),
        Case("TestTargetCounterAggRule#1", "target-counter-agg-rule",
             counter("something_total[$__rate_interval]"),
             upstream=[(E, ("'something_total'", bad))]),
        Case("TestTargetCounterAggRule#2", "target-counter-agg-rule",
             counter("increase(something_total[$__rate_interval])"), upstream=OK),
        Case("TestTargetCounterAggRule#3", "target-counter-agg-rule",
             counter("something_total / rate(somethingelse_total[$__rate_interval])"),
             upstream=[(E, ("'something_total'", bad))]),
        Case("TestTargetCounterAggRule#4", "target-counter-agg-rule",
             counter("rate(something_total[$__rate_interval]) / somethingelse_total"),
             upstream=[(E, ("'somethingelse_total'", bad))]),
        # Not an upstream case: upstream's text test (`selector.String()` ends in `_total`)
        # misses a counter with label matchers; this one is reported here.
        Case("counter with label matchers", "target-counter-agg-rule",
             counter('sum(something_total{job="a"})'), upstream=OK,
             ours=[(E, ("'something_total'", bad))], why="reports counters written with label"),
    ]


# --- lint/rule_target_job_instance_test.go ------------------------------------------------------

def _job_instance() -> list[Case]:
    cases = []
    for m in ("job", "instance"):
        rule = f"target-{m}-rule"

        def target(expr: str) -> dict[str, Any]:
            return dash([panel(title="panel", type="singlestat", exprs=[expr])], [PROM_DS],
                        title="dashboard")

        cases += [
            Case(f"TestTargetJobInstanceRule {m} happy", rule,
                 target(f'sum(rate(foo{{{m}=~"${m}"}}[5m]))'), upstream=OK),
            Case(f"TestTargetJobInstanceRule {m} multiple matchers (1)", rule,
                 target(f'sum(rate(foo{{{m}="integrations/bar", {m}=~"${m}"}}[5m]))'),
                 upstream=OK),
            Case(f"TestTargetJobInstanceRule {m} multiple matchers (2)", rule,
                 target(f'sum(rate(foo{{{m}=~"${m}", {m}="integrations/bar"}}[5m]))'),
                 upstream=OK),
            Case(f"TestTargetJobInstanceRule {m} invalid PromQL", rule, target("foo(bar.baz))"),
                 upstream=OK),
            Case(f"TestTargetJobInstanceRule {m} missing matcher", rule,
                 target("sum(rate(foo[5m]))"),
                 upstream=[(E, (f"{m} selector not found", "sum(rate(foo[5m]))"))]),
            Case(f"TestTargetJobInstanceRule {m} not a regex matcher", rule,
                 target(f'sum(rate(foo{{{m}="${m}"}}[5m]))'),
                 upstream=[(E, (f"{m} selector is =, not =~",))]),
            Case(f"TestTargetJobInstanceRule {m} wrong variable", rule,
                 target(f'sum(rate(foo{{{m}=~"$foo"}}[5m]))'),
                 upstream=[(E, (f"{m} selector is '$foo', not '${m}'",))]),
        ]
    return cases


# --- lint/rule_target_promql_test.go ------------------------------------------------------------

_PROMQL_TEMPLATES = [
    PROM_DS,
    {"type": "interval", "name": "interval", "options": [{"value": "1h"}]},
    {"type": "interval", "name": "sampling", "current": {"value": "$__auto_interval_sampling"}},
    {"type": "resolution", "name": "resolution", "options": [{"value": "1h"}, {"value": "1h"}]},
]


def _target_promql() -> list[Case]:
    def promql_dash(p: dict[str, Any]) -> dict[str, Any]:
        return dash([p], copy.deepcopy(_PROMQL_TEMPLATES), title="dashboard")

    def single(expr: str, kind: str = "singlestat") -> dict[str, Any]:
        return promql_dash(panel(title="panel", type=kind, exprs=[expr]))

    return [
        Case("TestTargetPromQLRule non-prometheus panel", "target-promql-rule",
             promql_dash(panel(title="panel", datasource="foo", exprs=["sum(rate(foo[5m]))"])),
             upstream=OK),
        Case("TestTargetPromQLRule valid", "target-promql-rule", single("sum(rate(foo[5m]))"),
             upstream=OK),
        Case("TestTargetPromQLRule timeseries", "target-promql-rule",
             single("foo(bar.baz)", "timeseries"),
             upstream=[(E, ("invalid PromQL", "'foo(bar.baz)'"))]),
        Case("TestTargetPromQLRule variable substitutions", "target-promql-rule",
             single("sum(rate(foo[$__rate_interval])) * $__range_s"), upstream=OK),
        Case("TestTargetPromQLRule ${...} substitutions", "target-promql-rule",
             single("sum(rate(foo[$__rate_interval])) * ${__range_s}"), upstream=OK),
        Case("TestTargetPromQLRule substitution inside by clause", "target-promql-rule",
             single("sum by(${variable:csv}) (rate(foo[$__rate_interval])) * $__range_s"),
             upstream=OK),
        Case("TestTargetPromQLRule template variables", "target-promql-rule",
             single("sum (rate(foo[$interval:$resolution]))"), upstream=OK),
        Case("TestTargetPromQLRule auto interval", "target-promql-rule",
             single("increase(foo{}[$sampling])"), upstream=OK),
        Case("TestTargetPromQLRule empty expression", "target-promql-rule", single(""),
             upstream=[(E, ("empty",))]),
        Case("TestTargetPromQLRule reference to a missing panel", "target-promql-rule",
             promql_dash(panel(id=1, title="panel", type="singlestat",
                               targets=[{"panelId": 2}])),
             upstream=[(E, ("panel id 2", "does not exist")), (E, ("empty",))],
             ours=[(E, ("panel id 2", "does not exist"))],
             why="A target reusing another panel's query"),
    ]


# --- lint/rule_target_rate_interval_test.go -----------------------------------------------------

def _rate_interval() -> list[Case]:
    def rate_dash(p: dict[str, Any]) -> dict[str, Any]:
        return dash([p], [PROM_DS], title="dashboard")

    def single(expr: str, kind: str = "singlestat") -> dict[str, Any]:
        return rate_dash(panel(title="panel", type=kind, exprs=[expr]))

    sel = '{job=~"$job",instance=~"$instance"}'
    return [
        Case("TestTargetRateIntervalRule non-prometheus panel", "target-rate-interval-rule",
             rate_dash(panel(title="panel", datasource="foo", exprs=["sum(rate(foo[5m]))"])),
             upstream=OK, ours=[(E, ("rate()", "[5m]", "$__rate_interval"))],
             why="Which panels' targets are checked"),
        Case("TestTargetRateIntervalRule valid", "target-rate-interval-rule",
             single(f"sum(rate(foo{sel}[$__rate_interval]))"), upstream=OK),
        Case("TestTargetRateIntervalRule valid ratio", "target-rate-interval-rule",
             single(f"sum(rate(foo{sel}[$__rate_interval]))/sum(rate(bar{sel}[$__rate_interval]))"),
             upstream=OK),
        Case("TestTargetRateIntervalRule invalid", "target-rate-interval-rule",
             single(f"sum(rate(foo{sel}[5m]))"), upstream=[(E, ("[5m]", "$__rate_interval"))]),
        Case("TestTargetRateIntervalRule timeseries", "target-rate-interval-rule",
             single(f"sum(rate(foo{sel}[5m]))", "timeseries"),
             upstream=[(E, ("[5m]", "$__rate_interval"))]),
        Case("TestTargetRateIntervalRule increase over $__range", "target-rate-interval-rule",
             single(f"sum(increase(foo{sel}[$__range]))"), upstream=OK),
        Case("TestTargetRateIntervalRule irate", "target-rate-interval-rule",
             single(f"sum(irate(foo{sel}[$__interval]))"),
             upstream=[(E, ("irate()", "$__rate_interval"))]),
    ]


# --- lint/rule_template_datasource_test.go ------------------------------------------------------

def _template_datasource() -> list[Case]:
    def ds(*variables: dict[str, Any]) -> dict[str, Any]:
        return dash(templates=[{"type": "datasource", **v} for v in variables])

    rule = "template-datasource-rule"
    return [
        Case("TestTemplateDatasource/0 Data Sources", rule, dash(),
             upstream=[(E, ("no datasource template variable",))]),
        Case("TestTemplateDatasource/1 Data Source", rule, ds({"name": "foo"}),
             upstream=[(E, ("named 'foo'", "'_datasource'", "'datasource'")),
                       (W, ("labelled None", "' data source'", "'Data source'"))]),
        Case("TestTemplateDatasource/wrong name", rule,
             ds({"name": "datasource", "query": "bar", "label": "bar"}),
             upstream=[(W, ("labelled 'bar'", "'Bar data source'", "'Data source'"))]),
        Case("TestTemplateDatasource/OK - Data source", rule,
             ds({"name": "datasource", "label": "Data source", "query": "prometheus"}),
             upstream=OK),
        Case("TestTemplateDatasource/OK - Prometheus data source", rule,
             ds({"name": "datasource", "label": "Prometheus data source", "query": "prometheus"}),
             upstream=OK),
        Case("TestTemplateDatasource/OK - name: prometheus_datasource", rule,
             ds({"name": "prometheus_datasource", "label": "Data source", "query": "prometheus"}),
             upstream=OK),
        Case("TestTemplateDatasource/OK - prometheus_datasource, Prometheus data source", rule,
             ds({"name": "prometheus_datasource", "label": "Prometheus data source",
                 "query": "prometheus"}), upstream=OK),
        Case("TestTemplateDatasource/OK - name: loki_datasource, query: loki", rule,
             ds({"name": "loki_datasource", "label": "Data source", "query": "loki"}),
             upstream=OK),
        Case("TestTemplateDatasource/OK - name: datasource, query: loki", rule,
             ds({"name": "datasource", "label": "Data source", "query": "loki"}), upstream=OK),
        Case("TestTemplateDatasource/3 Data Sources - 0", rule,
             ds({"name": "datasource", "label": "Data source", "query": "prometheus"},
                {"name": "loki_datasource", "label": "Data source", "query": "loki"},
                {"name": "influx_datasource", "label": "Data source", "query": "influx"}),
             upstream=[(E, ("named 'datasource'", "'prometheus_datasource'")),
                       (W, ("'Data source'", "'Prometheus data source'")),
                       (W, ("'Data source'", "'Loki data source'")),
                       (W, ("'Data source'", "'Influx data source'"))]),
        Case("TestTemplateDatasource/3 Data Sources - 1", rule,
             ds({"name": "prometheus_datasource", "label": "Data source", "query": "prometheus"},
                {"name": "loki_datasource", "label": "Data source", "query": "loki"},
                {"name": "influx_datasource", "label": "Data source", "query": "influx"}),
             upstream=[(W, ("'Prometheus data source'",)), (W, ("'Loki data source'",)),
                       (W, ("'Influx data source'",))]),
        Case("TestTemplateDatasource/3 Data Sources - 2", rule,
             ds({"name": "prometheus_datasource", "label": "Prometheus data source",
                 "query": "prometheus"},
                {"name": "loki_datasource", "label": "Loki data source", "query": "loki"},
                {"name": "influx_datasource", "label": "Influx data source", "query": "influx"}),
             upstream=OK),
    ]


# --- lint/rule_template_job_test.go, lint/rule_template_instance_test.go ------------------------

_JOB_OK = {"name": "job", "datasource": "$datasource", "type": "query", "label": "Job",
           "multi": True, "allValue": ".+"}
_INSTANCE_OK = {"name": "instance", "datasource": "${datasource}", "type": "query",
                "label": "Instance", "multi": True, "allValue": ".+"}


def _template_job_instance() -> list[Case]:
    job = "template-job-rule"
    inst = "template-instance-rule"
    return [
        Case("TestJobTemplate/Non-prometheus dashboards", job, dash(), upstream=OK),
        Case("TestJobTemplate/Missing job template", job, dash(templates=[PROM_DS]),
             upstream=[(E, ("missing", "'job'"))]),
        Case("TestJobTemplate/Wrong datasource", job,
             dash(templates=[PROM_DS, {"name": "job", "datasource": "foo"}]),
             upstream=[(E, ("'$datasource'", "'foo'")), (E, ("Prometheus query", "None")),
                       (W, ("'Job'", "None")), (E, ("multi-select",)),
                       (E, ("allValue", "'.+'", "None"))]),
        Case("TestJobTemplate/Wrong type", job,
             dash(templates=[PROM_DS, {"name": "job", "datasource": "$datasource",
                                       "type": "bar"}]),
             upstream=[(E, ("Prometheus query", "'bar'")), (W, ("'Job'",)),
                       (E, ("multi-select",)), (E, ("allValue",))]),
        Case("TestJobTemplate/Wrong job label", job,
             dash(templates=[PROM_DS, {"name": "job", "datasource": "$datasource",
                                       "type": "query", "label": "bar"}]),
             upstream=[(W, ("'Job'", "'bar'")), (E, ("multi-select",)), (E, ("allValue",))]),
        Case("TestJobTemplate/OK", job, dash(templates=[PROM_DS, _JOB_OK, _INSTANCE_OK]),
             upstream=OK),
        Case("TestInstanceTemplate#0", inst, dash(), upstream=OK),
        Case("TestInstanceTemplate#1", inst, dash(templates=[PROM_DS, _JOB_OK]),
             upstream=[(E, ("missing", "'instance'"))]),
        Case("TestInstanceTemplate#2", inst, dash(templates=[PROM_DS, _JOB_OK, _INSTANCE_OK]),
             upstream=OK),
    ]


# --- lint/rule_template_label_promql_test.go ----------------------------------------------------

def _template_label_promql() -> list[Case]:
    rule = "template-label-promql-rule"

    def var(query: str) -> dict[str, Any]:
        return dash(templates=[PROM_DS, {"name": "namespaces", "datasource": "$datasource",
                                         "query": query, "type": "query", "label": "job"}])

    return [
        Case("TestTemplateLabelPromQLRule/Don't fail on non prometheus template", rule,
             dash(templates=[{"type": "datasource", "query": "foo"}]), upstream=OK),
        Case("TestTemplateLabelPromQLRule/OK", rule,
             var('label_values(up{job=~"$job"}, namespace)'), upstream=OK),
        Case("TestTemplateLabelPromQLRule/Error", rule, var("label_values(up{, namespace)"),
             upstream=[(E, ("'namespaces'", "label_values(up{, namespace)"))]),
        Case("TestTemplateLabelPromQLRule/Invalid function", rule, var("foo(up, namespace)"),
             upstream=[(E, ("'namespaces'", "invalid function 'foo'"))]),
        Case("TestTemplateLabelPromQLRule/Invalid query expression", rule, var("foo"),
             upstream=[(E, ("'namespaces'", "foo"))], ours=OK,
             why="A bare series selector as a variable query"),
        Case("TestTemplateLabelPromQLRule main grafana variables", rule,
             var("query_result(max by(namespaces) (max_over_time(memory{}[$__range])))"),
             upstream=OK),
    ]


# --- lint/rule_template_on_time_change_reload_test.go, lint/rule_uneditable_test.go -------------

def _reload_and_uneditable() -> list[Case]:
    rule = "template-on-time-change-reload-rule"

    def templates(refresh: int) -> list[dict[str, Any]]:
        return [PROM_DS, {"name": "namespaces", "datasource": "$datasource",
                          "query": 'label_values(up{job=~"$job"}, namespace)', "type": "query",
                          "label": "job", "refresh": refresh}]

    return [
        Case("TestTemplateOnTimeRangeReloadRule/OK", rule, dash(templates=templates(2)),
             upstream=OK),
        Case("TestTemplateOnTimeRangeReloadRule/autofix", rule, dash(templates=templates(1)),
             upstream=[(E, ("'namespaces'", "refresh: 2", "is 1"))],
             fixed=dash(templates=templates(2))),
        Case("TestTemplateOnTimeRangeReloadRule/error", rule, dash(templates=templates(1)),
             upstream=[(E, ("'namespaces'", "refresh: 2", "is 1"))]),
        Case("TestNewUneditableRule/OK", "uneditable-dashboard", dash(editable=False),
             upstream=OK),
        Case("TestNewUneditableRule/error", "uneditable-dashboard", dash(editable=True),
             upstream=[(E, ("is editable", "'editable: false'"))],
             ours=[(W, ("is editable", "'editable: false'"))],
             why="uneditable-dashboard is a warning"),
        Case("TestNewUneditableRule/autofix", "uneditable-dashboard", dash(editable=True),
             upstream=[(E, ("is editable",))], ours=[(W, ("is editable",))],
             why="uneditable-dashboard is a warning", fixed=dash(editable=False)),
    ]


CASES = (_panel_datasource() + _panel_no_targets() + _panel_title_description() + _panel_units()
         + _counter_agg() + _job_instance() + _target_promql() + _rate_interval()
         + _template_datasource() + _template_job_instance() + _template_label_promql()
         + _reload_and_uneditable())


@pytest.mark.parametrize("case", CASES, ids=[c.source for c in CASES])
def test_upstream_case(case: Case) -> None:
    raw = copy.deepcopy(case.dashboard)
    dashboard, issues = lint_one(case.rule, raw)
    got = [(i.severity or RULES_BY_NAME[case.rule].severity, i.message) for i in issues]
    expected = case.upstream if case.ours is None else case.ours
    assert [s for s, _ in got] == [s for s, _ in expected], got
    for (_, message), (_, words) in zip(got, expected, strict=True):
        for word in words:
            assert word in message, (word, message)
    if case.fixed is not None:
        for issue in issues:
            assert issue.fix is not None, f"{case.rule} finding is not fixable: {issue.message}"
            issue.fix()
        assert dashboard.raw == case.fixed
        assert results(case.rule, dashboard.raw) == []


def test_every_difference_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Differences from dashboard-linter", 1)[1]
    for case in CASES:
        if case.ours is not None:
            assert case.why and case.why in section, case.source
    assert UPSTREAM_COMMIT in text


# --- lint/variables_test.go: TestVariableExpansion ----------------------------------------------
# Upstream checks its own substitution text; here the point is that every expression parses and
# that names, values and magic durations land where upstream puts them. Our stand-ins differ in
# two deliberate ways (docs/lint.md, "Variable substitution"): one name, not three, for a
# multi-value format, and numbers where a number must stand (`@ ${__from:date}`).

EXPANSIONS = [
    ('up{job=~"$job"}', [], 'up{job=~"$job"}'),
    ('up$var{job=~"$job"}', [], 'upvar{job=~"$job"}'),
    ("rate(metric{}[$__rate_interval])", [], f"rate(metric{{}}[{promql.RATE_INTERVAL_MAGIC}])"),
    ("rate(metric{}[${__rate_interval}])", [], f"rate(metric{{}}[{promql.RATE_INTERVAL_MAGIC}])"),
    ("rate(metric{}[[[__rate_interval]]])", [], f"rate(metric{{}}[{promql.RATE_INTERVAL_MAGIC}])"),
    ('sum(http_requests_total{method="GET"} @ ${__user.id})', [],
     'sum(http_requests_total{method="GET"} @ 42)'),
    ('sum(http_requests_total{method="GET"} @ $__from)', [],
     'sum(http_requests_total{method="GET"} @ 1700000000000)'),
    ('sum(http_requests_total{method="GET"} @ ${__from:date:seconds}000)', [],
     'sum(http_requests_total{method="GET"} @ 1700000000000)'),
    ('sum(http_requests_total{method="GET"} @ ${__from:date})', [],
     'sum(http_requests_total{method="GET"} @ 1700000000000)'),
    ('sum(http_requests_total{method="GET"} @ ${__from:date:iso})', [],
     'sum(http_requests_total{method="GET"} @ 1700000000000)'),
    ("max by(${variable:csv}) (rate(cpu{}[$__rate_interval]))", [],
     f"max by(variable) (rate(cpu{{}}[{promql.RATE_INTERVAL_MAGIC}]))"),
    ("max by(${variable:raw}) (rate(cpu{}[$__rate_interval]))", [],
     f"max by(variable) (rate(cpu{{}}[{promql.RATE_INTERVAL_MAGIC}]))"),
    ("max by(${variable:pipe}) (rate(cpu{}[$__rate_interval]))", [],
     f"max by(variable) (rate(cpu{{}}[{promql.RATE_INTERVAL_MAGIC}]))"),
    ("max by(${variable:regex}) (rate(cpu{}[$__rate_interval]))", [],
     f"max by(variable) (rate(cpu{{}}[{promql.RATE_INTERVAL_MAGIC}]))"),
    ("max by($var) (rate(cpu{}[$interval:$resolution]))",
     [{"name": "interval", "options": [{"value": "4h"}]},
      {"name": "resolution", "options": [{"value": "5m"}]},
      {"name": "var", "type": "query", "current": {"value": "value"}}],
     # a query variable's saved value is a snapshot: its name stands in (upstream: "value")
     "max by(var) (rate(cpu{}[4h:5m]))"),
    ("sum (rate(cpu{}[$interval]))",
     [{"name": "interval", "current": {"value": "$__auto_interval_interval"}}],
     "sum (rate(cpu{}[10s]))"),
    ("sum (rate(cpu{}[$interval]))", [{"name": "interval", "current": {"value": "$__auto_interval"}}],
     "sum (rate(cpu{}[10s]))"),
    # upstream: "[interval]" (invalid); here a duration always stands in a range
    ("sum (rate(cpu{}[$interval]))", [{"name": "interval", "current": {"value": "$interval"}}],
     "sum (rate(cpu{}[1m]))"),
]


@pytest.mark.parametrize(("expr", "variables", "expected"), EXPANSIONS,
                         ids=[e for e, _, _ in EXPANSIONS])
def test_upstream_variable_expansion(expr: str, variables: list[dict[str, Any]],
                                     expected: str) -> None:
    d = Dashboard(path=Path("t.json"), display_path="t.json",
                  raw={"templating": {"list": variables}, "panels": []})
    parsed = promql.parse(expr, promql.dashboard_variables(d))
    assert parsed.text == expected
    assert parsed.error is None


# --- lint/model_test.go: TestParseDashboard (testdata/dashboard.json) ---------------------------

def test_upstream_sample_dashboard_panels_rows_and_annotations() -> None:
    from grafana_sync.jsonio import load_dashboard_file  # reads legacy rows, as lint does

    raw = load_dashboard_file(FIXTURE / "dashboard.json")
    d = Dashboard(path=FIXTURE / "dashboard.json", display_path="dashboard.json", raw=raw)
    assert len(d.panels()) == 4  # upstream: "Row panels" -> 4
    assert [p.title for p in d.content_panels()] == ["Timeseries"] * 3
    assert len(d.annotations()) == 1


# --- lint/lint_test.go: TestConfiguration (.lint semantics) -------------------------------------

def _finding(rule: str = "rule1", dashboard: str | None = None, panel_title: str | None = None,
             target: int | None = None):
    from grafana_sync.lint.model import Finding
    return Finding(file="f.json", rule=rule, severity=E, dashboard_uid=None,
                   dashboard_title=dashboard or "", panel_id=None, panel_title=panel_title,
                   ref_id=None, message="foo", target_index=target)


def _config(tmp_path: Path, text: str):
    from grafana_sync.lint.config import load_lint_file
    path = tmp_path / ".lint"
    path.write_text(text, encoding="utf-8")
    return load_lint_file(path, ".lint", {})


def _severity(config, finding) -> str:
    from grafana_sync.lint.config import apply_configs
    kept = apply_configs(finding, [config])
    return "exclude" if kept is None else kept.severity


@pytest.mark.parametrize(("name", "text", "finding", "expected"), [
    ("Excludes Rule", "exclusions:\n  rule1:\n", _finding(), "exclude"),
    ("Excludes Rule (other rule)", "exclusions:\n  rule1:\n", _finding("rule2"), E),
    ("Warns Rule", "warnings:\n  rule1:\n", _finding(), W),
    ("Warns Rule (other rule)", "warnings:\n  rule1:\n", _finding("rule2"), E),
    ("Excludes More Specific Config", "exclusions:\n  rule1:\n    entries:\n"
     "      - dashboard: dash1\n", _finding(dashboard="dash1", panel_title="foo", target=0),
     "exclude"),
    ("Excludes More Specific Config (other)", "exclusions:\n  rule1:\n    entries:\n"
     "      - dashboard: dash1\n", _finding(dashboard="dash2", panel_title="bar", target=0), E),
    ("Excludes multiple entries (1)", "exclusions:\n  rule1:\n    entries:\n"
     "      - dashboard: dash1\n      - dashboard: dash2\n", _finding(dashboard="dash1"),
     "exclude"),
    ("Excludes multiple entries (2)", "exclusions:\n  rule1:\n    entries:\n"
     "      - dashboard: dash1\n      - dashboard: dash2\n", _finding(dashboard="dash2"),
     "exclude"),
    ("Excludes multiple entries (3)", "exclusions:\n  rule1:\n    entries:\n"
     "      - dashboard: dash1\n      - dashboard: dash2\n", _finding(dashboard="dash3"), E),
    ("Excludes all when entries empty (0)", "exclusions:\n  rule1:\n    entries: []\n",
     _finding(dashboard="dash1", panel_title="panel1", target=0), "exclude"),
    ("Excludes all when entries empty (1)", "exclusions:\n  rule1:\n    entries: []\n",
     _finding(dashboard="dash1", panel_title="panel1", target=1), "exclude"),
    ("Excludes Dashboard", "exclusions:\n  rule1:\n    entries:\n      - dashboard: dash1\n",
     _finding(dashboard="dash1"), "exclude"),
    ("Excludes Dashboard (other)", "exclusions:\n  rule1:\n    entries:\n"
     "      - dashboard: dash1\n", _finding(dashboard="dash2"), E),
    ("Warns Dashboard", "warnings:\n  rule1:\n    entries:\n      - dashboard: dash1\n",
     _finding(dashboard="dash1"), W),
    ("Warns Dashboard (other)", "warnings:\n  rule1:\n    entries:\n      - dashboard: dash1\n",
     _finding(dashboard="dash2"), E),
    ("Excludes Panels", "exclusions:\n  rule1:\n    entries:\n      - dashboard: dash1\n"
     "        panel: panel1\n", _finding(dashboard="dash1", panel_title="panel1"), "exclude"),
    ("Excludes Panels (other)", "exclusions:\n  rule1:\n    entries:\n      - dashboard: dash1\n"
     "        panel: panel1\n", _finding(dashboard="dash1", panel_title="panel2"), E),
    ("Warns Panels", "warnings:\n  rule1:\n    entries:\n      - dashboard: dash1\n"
     "        panel: panel1\n", _finding(dashboard="dash1", panel_title="panel1"), W),
    ("Warns Panels (other)", "warnings:\n  rule1:\n    entries:\n      - dashboard: dash1\n"
     "        panel: panel1\n", _finding(dashboard="dash1", panel_title="panel2"), E),
    ("Excludes Targets", "exclusions:\n  rule1:\n    entries:\n      - dashboard: dash1\n"
     "        panel: panel1\n        targetIdx: '0'\n",
     _finding(dashboard="dash1", panel_title="panel1", target=0), "exclude"),
    ("Excludes Targets (other)", "exclusions:\n  rule1:\n    entries:\n      - dashboard: dash1\n"
     "        panel: panel1\n        targetIdx: '0'\n",
     _finding(dashboard="dash1", panel_title="panel1", target=1), E),
    ("Warns Targets", "warnings:\n  rule1:\n    entries:\n      - dashboard: dash1\n"
     "        panel: panel1\n        targetIdx: '0'\n",
     _finding(dashboard="dash1", panel_title="panel1", target=0), W),
    ("Warns Targets (other)", "warnings:\n  rule1:\n    entries:\n      - dashboard: dash1\n"
     "        panel: panel1\n        targetIdx: '0'\n",
     _finding(dashboard="dash1", panel_title="panel1", target=1), E),
], ids=lambda v: v if isinstance(v, str) and "\n" not in v else None)
def test_upstream_configuration(tmp_path: Path, name: str, text: str, finding: Any,
                                expected: str) -> None:
    assert _severity(_config(tmp_path, text), finding) == expected


# --- lint/model_test.go: TestParseDashboard "v0alpha1 dashboard", TestParseDatasource -----------

def test_upstream_v0alpha1_wrapped_sample_dashboard(tmp_path: Path) -> None:
    from grafana_sync.jsonio import load_dashboard_file

    sample = (FIXTURE / "dashboard.json").read_text(encoding="utf-8")
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text('{"apiVersion": "v0alpha1", "kind": "Dashboard", "spec": ' + sample + "}",
                       encoding="utf-8")
    raw = load_dashboard_file(wrapped)
    d = Dashboard(path=wrapped, display_path="wrapped.json", raw=raw)
    assert len(d.annotations()) == 1
    assert d.title == "Sample dashboard"
    assert len(d.panels()) == 4


@pytest.mark.parametrize(("ref", "uid"), [
    ("${datasource}", "${datasource}"),                                # "string"
    ({"uid": "${datasource}"}, "${datasource}"),                       # "uid"
    ({"uid": "${datasource}", "type": "${type}"}, "${datasource}"),    # "uid-type"
    (1, None),                                                         # "byte": upstream errors
    ({}, None),                                                        # "empty object": errors
    ({"uid": 1}, None),                                                # "int uid": errors
])
def test_upstream_parse_datasource(ref: Any, uid: str | None) -> None:
    """Upstream returns an error for the last three; here they are no datasource uid, and the
    rule that needs one reports the panel (no traceback, no one-line exit for a panel)."""
    from grafana_sync.model import datasource_uid

    assert datasource_uid(ref) == uid


@pytest.mark.parametrize(("current", "value"), [
    ({"text": "text", "value": "value"}, "value"),
    ({"text": ["text1", "text2"], "value": ["value1", "value2"]}, ["value1", "value2"]),
    ({"text": "text", "value": 2}, "2"),  # upstream: an error for the value
    ({}, None),
    ({"text": "text"}, None),
])
def test_upstream_parse_template_value(current: dict[str, Any], value: Any) -> None:
    """TestParseTemplateValue: the current value substitution uses (upstream keeps the first of a
    list; here all of them, formatted as the variable's format asks)."""
    d = Dashboard(path=Path("t.json"), display_path="t.json", raw={"panels": [], "templating": {
        "list": [{"name": "v", "type": "custom", "current": current}]}})
    assert promql.dashboard_variables(d)["v"].value == value


def test_upstream_fixable_rules_apply_every_fix_in_order(tmp_path: Path) -> None:
    """rules_test.go TestFixableRules: two fixable findings on one dashboard are both fixed."""
    raw = dash(templates=[PROM_DS,
                          {"name": "a", "type": "query", "query": "label_values(a)", "refresh": 1},
                          {"name": "b", "type": "query", "query": "label_values(b)", "refresh": 0}],
               editable=True)
    for rule in ("template-on-time-change-reload-rule", "uneditable-dashboard"):
        _, issues = lint_one(rule, raw)
        for issue in issues:
            issue.fix()
    assert [v.get("refresh") for v in raw["templating"]["list"]] == [None, 2, 2]
    assert raw["editable"] is False

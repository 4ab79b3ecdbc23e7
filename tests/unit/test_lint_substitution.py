"""Variable substitution by position: what Grafana accepts must parse here too (issue #19).

Each expression is valid in Grafana (it substitutes text before the query reaches Prometheus);
before position-aware substitution every unknown variable became `.*`, and these were reported
as PromQL errors.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.lint import LintOptions, run_lint
from grafana_sync.lint.model import Dashboard
from grafana_sync.lint.promql import dashboard_variables, parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lint"
CLEAN = json.loads((FIXTURES / "clean-dashboard.json").read_text(encoding="utf-8"))

VARIABLES = [
    {"name": "variable", "type": "custom", "multi": True, "query": "model,version",
     "current": {"text": ["model", "version"], "value": ["model", "version"]}},
    {"name": "var", "type": "query", "query": "label_names()", "refresh": 2,
     "current": {"text": "All", "value": "$__all"}},
    {"name": "suffix", "type": "textbox", "query": "", "current": {"value": ""}},
    {"name": "n", "type": "query", "query": "query_result(vector(5))", "refresh": 2},
    {"name": "window", "type": "interval", "query": "1m,5m", "current": {"value": "5m"}},
    {"name": "q", "type": "constant", "query": "0.99"},
]

VALID = [
    "sum by (${variable:csv}) (rate(demo_requests_total[$__rate_interval]))",
    "up$var{job=~\"$job\"}",
    "max by ($var) (demo_queue_length)",
    "sum(demo_queue_length @ ${__user.id})",
    "demo_queue_length @ ${__to:date:seconds}",
    "topk($n, demo_queue_length)",
    "histogram_quantile($q, sum by (le) (rate(demo_latency_seconds_bucket[$__rate_interval])))",
    "avg_over_time(demo_queue_length[$window] offset $window)",
    "demo_queue_length$suffix",
    "sum(rate(demo_requests_total[$__rate_interval])) by ([[var]])",
    "label_replace(demo_queue_length, \"m\", \"$1\", \"model\", \"(.*)\")",
    "demo_queue_length{model=~\"${model:regex}\"} # a comment with an unmatched \" quote $x",
]


def dashboard_with(expr: str) -> dict[str, Any]:
    dash = copy.deepcopy(CLEAN)
    dash["templating"]["list"].extend(copy.deepcopy(VARIABLES))
    dash["panels"][1]["targets"][0]["expr"] = expr
    return dash


@pytest.mark.parametrize("expr", VALID)
def test_valid_grafana_query_is_no_promql_finding(tmp_path: Path, expr: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(dashboard_with(expr)), encoding="utf-8")
    result = run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "out", paths=[path],
                                  disable=["metric-contract-rule"]))
    assert [(f.rule, f.message) for f in result.findings
            if f.rule in ("target-promql-rule", "target-counter-agg-rule")] == []


@pytest.mark.parametrize("expr", [
    "sum by (model (demo_queue_length)",
    "rate(demo_requests_total[$__rate_interval]",
    "demo_queue_length{model=~\"$model\"",
    # Grafana gives `by (model|version)` for the pipe format: Prometheus rejects it too
    "sum by (${variable:pipe}) (demo_queue_length)",
    "avg_over_time(demo_queue_length[$window]) offset $window",
])
def test_real_syntax_errors_are_still_reported(expr: str) -> None:
    dash = Dashboard(path=Path("d.json"), display_path="d.json", raw=dashboard_with(expr))
    parsed = parse(expr, dashboard_variables(dash))
    assert parsed.error is not None and parsed.expr is None


def test_what_stands_in_where() -> None:
    dash = Dashboard(path=Path("d.json"), display_path="d.json", raw=dashboard_with("up"))
    variables = dashboard_variables(dash)
    cases = {
        "sum by (${variable:csv}) (x)": "sum by (model,version) (x)",  # custom: its values
        "max by ($var) (x)": "max by (var) (x)",  # query variable: its name
        "x{a=~\"$var\"}": "x{a=~\"$var\"}",  # inside a string: as written
        "x[$window]": "x[5m]",  # interval variable in a range: its value
        "x[$var]": "x[1m]",  # anything else in a range: a duration
        "x @ ${__user.id}": "x @ 42",
        "topk($n, x)": "topk(1, x)",  # only a number parses there
        "topk(${q}, x)": "topk(0.99, x)",  # a constant: its value
    }
    assert {e: parse(e, variables).text for e in cases} == cases


def test_metric_name_built_from_a_variable_is_not_checked_against_the_contract(
        tmp_path: Path) -> None:
    contract = tmp_path / "metrics.md"
    contract.write_text("| metric | type |\n|---|---|\n| `demo_queue_length` | gauge |\n")
    results = {}
    for expr in ("demo_queue_length$suffix", "{__name__=\"$metric\"}", "demo_typo_length"):
        path = tmp_path / "d.json"
        path.write_text(json.dumps(dashboard_with(expr)), encoding="utf-8")
        result = run_lint(LintOptions(root=tmp_path, output_dir=tmp_path / "out", paths=[path],
                                      metrics_contract=contract, enable=[],
                                      disable=["target-promql-rule"]))
        results[expr] = [f.message for f in result.findings if f.rule == "metric-contract-rule"
                         and f.panel_id == 2]
    assert results == {
        "demo_queue_length$suffix": [],
        "{__name__=\"$metric\"}": [],
        "demo_typo_length": [f"metric 'demo_typo_length' is not in the metrics contract "
                             f"({contract})"],
    }


def test_number_fallback_never_lands_in_a_long_label_list() -> None:
    """`topk($n, ...)` needs a number, `by (..., $var)` a name, however long the list is."""
    expr = ("topk($n, sum by (a_very_long_label_name_one, a_very_long_label_name_two, "
            "third_label_name, $var) (demo_queue_length))")
    dash = Dashboard(path=Path("d.json"), display_path="d.json", raw=dashboard_with("up"))
    parsed = parse(expr, dashboard_variables(dash))
    assert parsed.error is None
    assert parsed.text == expr.replace("$n", "1").replace("$var", "var")

"""The nine ML monitoring dashboards: conventions (DESIGN.md "Dashboard conventions"), PromQL
validity after macro substitution, and the metrics contract (docs/metrics.md + recording rules).

The helpers at the top are shared with tests/integration/test_dashboards_data.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from grafana_sync.compile import compare_output, compile_all
from grafana_sync.macros import substitute_macros
from grafana_sync.model import iter_panels  # re-exported for tests/integration

REPO = Path(__file__).resolve().parents[2]
# ML_DASHBOARDS_DIR / ML_OUTPUT_DIR run these checks on another copy (tests/unit/test_readme_recipe.py)
DASHBOARDS_DIR = Path(os.environ.get("ML_DASHBOARDS_DIR", REPO / "dashboards"))
OUTPUT_DIR = Path(os.environ.get("ML_OUTPUT_DIR", REPO / "provisioning" / "dashboards"))
FOLDER = "ml-monitoring"

# The built-in dashboards and their areas. Every test below runs on EVERY compiled dashboard (a
# team's own, added by the README recipe, included); these nine must exist with these areas.
AREAS = {
    "ml-overview": "overview",
    "ml-infrastructure": "infrastructure",
    "ml-performance": "performance",
    "ml-drift": "drift",
    "ml-errors": "errors",
    "ml-cost": "cost",
    "ml-versions": "versions",
    "ml-fairness": "fairness",
    "ml-feedback": "feedback",
    "ml-llm": "llm",
}
BASE_TAGS = {"ml-monitoring", "managed-by-grafana-sync"}

# Distinct, recognisable values so a test can tell which macro produced a range.
RATE_INTERVAL = "17s"
RANGE = "3h"


# --- helpers (also used by the integration tests) ------------------------------------------------


@lru_cache(maxsize=1)
def compiled_dashboards() -> dict[str, dict[str, Any]]:
    """uid -> compiled dashboard JSON of every dashboard module (not only the built-in nine)."""
    result = compile_all(DASHBOARDS_DIR)
    assert not result.errors, [str(e) for e in result.errors]
    return {d.uid: d.data for d in result.dashboards}


def area_of(dash: dict[str, Any]) -> str:
    """The one tag besides the base tags (the area: built-in or a team's own)."""
    (area,) = set(dash["tags"]) - BASE_TAGS
    return area


ALL_UIDS = sorted(compiled_dashboards())


def iter_targets(dashboards: dict[str, dict[str, Any]] | None = None
                 ) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(uid, panel, target) for every query of every panel."""
    for uid, dash in sorted((dashboards or compiled_dashboards()).items()):
        for panel in iter_panels(dash):
            for target in panel.get("targets", []):
                yield uid, panel, target


def target_id(item: tuple[str, dict[str, Any], dict[str, Any]]) -> str:
    uid, panel, target = item
    return f"{uid}/{panel['title']}/{target['refId']}"


def concrete(expr: str, **kwargs: str) -> str:
    """The expression Prometheus receives with every variable at All and default macros."""
    return substitute_macros(expr, {}, rate_interval=kwargs.get("rate_interval", "1m"),
                             range_=kwargs.get("range_", "1h"))


def walk(expr: str) -> list[Any]:
    nodes: list[Any] = []
    promql_parser.walk(promql_parser.parse(expr), nodes.append)
    return nodes


def metric_names(expr: str) -> set[str]:
    return {n.name for n in walk(concrete(expr)) if isinstance(n, promql_parser.VectorSelector)
            and n.name}


@lru_cache(maxsize=1)
def contract_metrics() -> set[str]:
    """Every series name docs/metrics.md promises (histograms expand to _bucket/_sum/_count)."""
    names: set[str] = set()
    for line in (REPO / "docs" / "metrics.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        name, kind = cells[0].strip("`"), cells[1]
        names.add(name)
        if kind == "histogram":
            names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
    return names


@lru_cache(maxsize=1)
def recording_rules() -> set[str]:
    return set(rule_exprs())


# --- the set of dashboards ------------------------------------------------------------------------


def test_the_nine_builtin_dashboards_compile_with_stable_uids() -> None:
    assert set(AREAS) <= set(compiled_dashboards())


def test_committed_json_is_up_to_date() -> None:
    result = compile_all(DASHBOARDS_DIR)
    mine = result.dashboards
    state = compare_output(mine, OUTPUT_DIR)
    assert not state.stale and not state.missing, (
        "run `grafana-sync build` and commit: "
        f"{[str(p) for p in state.stale + state.missing]}"
    )
    assert all(d.relpath.parts[0] == FOLDER for d in mine)


@pytest.mark.parametrize("uid", ALL_UIDS)
def test_tags_base_and_exactly_one_area(uid: str) -> None:
    dash = compiled_dashboards()[uid]
    assert BASE_TAGS <= set(dash["tags"])
    assert len(set(dash["tags"]) - BASE_TAGS) == 1, dash["tags"]
    if uid in AREAS:
        assert area_of(dash) == AREAS[uid]


def test_each_area_tag_on_exactly_one_dashboard() -> None:
    areas = [area_of(d) for d in compiled_dashboards().values()]
    assert sorted(areas) == sorted(set(areas))
    for uid, area in AREAS.items():
        assert area_of(compiled_dashboards()[uid]) == area


@pytest.mark.parametrize("uid", ALL_UIDS)
def test_links_to_the_other_dashboards_by_tag(uid: str) -> None:
    links = compiled_dashboards()[uid]["links"]
    assert any(link["type"] == "dashboards" and link["tags"] == ["ml-monitoring"]
               and link["asDropdown"] for link in links)


@pytest.mark.parametrize("uid", ALL_UIDS)
def test_validates_against_grafana_11_4_schemas(uid: str, contracts_dir: Path) -> None:
    from tests.grafana_schemas import validate_dashboard

    assert validate_dashboard(compiled_dashboards()[uid], contracts_dir) == []


# --- variables and annotations --------------------------------------------------------------------


@pytest.mark.parametrize("uid", ALL_UIDS)
def test_variables_datasource_first_then_label_values(uid: str) -> None:
    variables = compiled_dashboards()[uid]["templating"]["list"]
    first, rest = variables[0], variables[1:]
    assert (first["type"], first["name"], first["query"]) == ("datasource", "datasource",
                                                              "prometheus")
    assert first["current"]["value"] == "prometheus"  # provisioning/datasources uid
    assert [v["name"] for v in rest[:3]] == ["cluster", "model", "version"]
    for var in rest:
        assert var["type"] == "query"
        assert var["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        # metric names may hold colons (recording rules, e.g. the LLM dashboard's)
        assert re.fullmatch(r"label_values\(([\w:]+)?(\{.*\})?, \w+\)", var["query"]), var["query"]
        assert var["multi"] and var["includeAll"] and var["refresh"] == 2
        assert var["current"]["value"] == ["$__all"]


@pytest.mark.parametrize("uid", ALL_UIDS)
def test_every_variable_a_query_uses_is_defined(uid: str) -> None:
    dash = compiled_dashboards()[uid]
    defined = {v["name"] for v in dash["templating"]["list"]}
    exprs = [t["expr"] for _, _, t in iter_targets({uid: dash})]
    exprs += [v["query"] for v in dash["templating"]["list"]]
    exprs += [a["expr"] for a in dash["annotations"]["list"]]
    used = {m for e in exprs for m in re.findall(r"\$\{?(\w+)", e) if not m.startswith("__")}
    assert used <= defined, used - defined


@pytest.mark.parametrize("uid", ALL_UIDS)
def test_deployment_annotation_on_datasource_variable(uid: str) -> None:
    (ann,) = compiled_dashboards()[uid]["annotations"]["list"]
    assert ann["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert metric_names(ann["expr"]) == {"ml_model_deployed_timestamp_seconds"}


# --- panels ---------------------------------------------------------------------------------------


def _panels() -> list[tuple[str, dict[str, Any]]]:
    return [(uid, p) for uid, d in sorted(compiled_dashboards().items()) for p in iter_panels(d)
            if p["type"] != "row"]


@pytest.mark.parametrize("uid,panel", _panels(), ids=lambda v: v if isinstance(v, str)
                         else v.get("title"))
def test_panel_title_description_unit_targets(uid: str, panel: dict[str, Any]) -> None:
    assert panel["title"].strip()
    description = panel.get("description", "")
    assert len(description) >= 40, "say what the panel shows"
    assert re.search(r"\bBad\b|ALERT", description), "say what bad looks like"
    assert panel["fieldConfig"]["defaults"].get("unit"), "every panel needs a unit"
    assert panel["targets"], "a panel without queries shows nothing"
    assert panel["type"] not in {"graph", "singlestat"}
    steps = [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
    assert steps == sorted(steps), "thresholds must ascend"


def test_every_dashboard_uses_several_visualisations() -> None:
    kinds = {p["type"] for _, p in _panels()}
    assert {"timeseries", "stat", "bargauge", "table", "heatmap", "state-timeline"} <= kinds


# --- queries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("item", list(iter_targets()), ids=target_id)
def test_promql_parses_after_macro_substitution(item: tuple) -> None:
    _, _, target = item
    promql_parser.parse(concrete(target["expr"]))


@pytest.mark.parametrize("item", list(iter_targets()), ids=target_id)
def test_rate_and_increase_use_rate_interval_or_range(item: tuple) -> None:
    expr = concrete(item[2]["expr"], rate_interval=RATE_INTERVAL, range_=RANGE)
    for node in walk(expr):
        if isinstance(node, promql_parser.Call) and node.func.name in {"rate", "increase",
                                                                        "irate"}:
            window = promql_parser.display_duration(node.args[0].range)
            assert window in {RATE_INTERVAL, RANGE}, f"{node.func.name} over {window}"


@pytest.mark.parametrize("item", list(iter_targets()), ids=target_id)
def test_histogram_quantile_aggregates_by_le(item: tuple) -> None:
    for node in walk(concrete(item[2]["expr"])):
        if isinstance(node, promql_parser.Call) and node.func.name == "histogram_quantile":
            inner = node.args[1]
            assert isinstance(inner, promql_parser.AggregateExpr), "sum by (le, ...) first"
            assert "le" in inner.modifier.labels


@pytest.mark.parametrize("item", list(iter_targets()), ids=target_id)
def test_metrics_are_in_the_contract_or_recording_rules(item: tuple) -> None:
    unknown = metric_names(item[2]["expr"]) - contract_metrics() - recording_rules()
    assert not unknown, f"not in docs/metrics.md or prometheus/rules/*.yml: {unknown}"


def test_metrics_contract_parser_sees_the_contract() -> None:
    # guards the two tests above against a parser that silently finds nothing
    assert {"ml_inference_requests_total", "ml_inference_duration_seconds_bucket",
            "DCGM_FI_DEV_GPU_UTIL"} <= contract_metrics()
    assert "model:ml_serving_cost_usd_per_hour:sum" in recording_rules()


def test_dashboards_read_recording_rules_for_expensive_queries() -> None:
    used = set().union(*(metric_names(t["expr"]) for _, _, t in iter_targets()))
    assert {"model:ml_serving_cost_usd_per_hour:sum",
            "model:ml_inference_duration_seconds:p95_rate5m",
            "model_version:ml_predictions_share:ratio_rate5m"} <= used


def test_only_demo_control_metrics_are_never_read() -> None:
    used = set().union(*(metric_names(t["expr"]) for _, _, t in iter_targets()))
    assert not {m for m in used if m.startswith("demo_")}


# --- configuration --------------------------------------------------------------------------------

_ADAPTED_YAML = """
labels: {model: model_name, version: model_version}
selectors: {serving: 'job="serving"'}
cost_budget_usd_per_hour: 42.5
"""

_ADAPTED = """
import json, pathlib
from grafana_sync.compile import compile_all
result = compile_all(pathlib.Path({dashboards!r}))
assert not result.errors, [str(e) for e in result.errors]
print(json.dumps({{d.uid: d.data for d in result.dashboards}}))
"""


def test_label_names_and_selectors_come_from_the_config(tmp_path) -> None:
    """A team renames its labels in monitoring.yaml and every query follows."""
    config = tmp_path / "monitoring.yaml"
    config.write_text(_ADAPTED_YAML)
    out = subprocess.run(
        [sys.executable, "-c", _ADAPTED.format(dashboards=str(DASHBOARDS_DIR))],
        capture_output=True, text=True, check=True, cwd=REPO,
        env={**__import__("os").environ, "MONITORING_CONFIG": str(config)},
    ).stdout
    adapted = json.loads(out)
    exprs = [t["expr"] for _, _, t in iter_targets(adapted)]
    assert not any(re.search(r"\bmodel=~|\bversion=~|by \(model\b", e) for e in exprs)
    assert any('model_name=~"$model"' in e for e in exprs)
    assert all('job="serving"' in e for e in exprs if "ml_inference_requests_total{" in e)
    assert any("42.5" in e for e in exprs)  # the budget fallback
    cluster_var, model_var = adapted["ml-overview"]["templating"]["list"][1:3]
    assert cluster_var["query"].endswith(", cluster)")
    assert model_var["query"].endswith(", model_name)")


@pytest.mark.parametrize("uid", ALL_UIDS)
def test_panel_titles_unique_within_a_dashboard(uid: str) -> None:
    """Titles identify panels for readers and for `grafana-sync diff`'s fallback matching."""
    titles = [p["title"] for p in iter_panels(compiled_dashboards()[uid])]
    assert len(titles) == len(set(titles))


def test_overview_tiles_drill_down_to_existing_dashboards() -> None:
    links = [link for p in iter_panels(compiled_dashboards()["ml-overview"])
             for link in p.get("links", [])]
    targets = {re.match(r"/d/([\w-]+)\?", link["url"]).group(1) for link in links}
    assert len(links) >= 8
    assert targets <= set(compiled_dashboards()) and len(targets) >= 5


# --- labels: the check that filters and groupings use labels the series carry is a lint rule,
# target-label-propagation-rule (grafana_sync/lint/rules_labels.py, tests/unit/test_lint_labels.py).


@lru_cache(maxsize=1)
def rule_exprs() -> dict[str, str]:
    exprs: dict[str, str] = {}
    for path in sorted((REPO / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            exprs.update({r["record"]: r["expr"] for r in group["rules"] if "record" in r})
    return exprs



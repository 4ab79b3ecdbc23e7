"""Every query keeps the cluster label (docs/scale-out.md), checked on the compiled outputs.

Parsed with promql-parser, every aggregation of every compiled panel, variable and annotation
query and of every compiled Prometheus rule either keeps the configured cluster label (`by (…)`
lists it) or removes only named labels (`without (…)`), and every vector match (`on (…)`) matches
on it; every vector selector of a dashboard filters on `$cluster`. So two clusters' series are
never summed into one line or matched across clusters. The live proof is
tests/integration/test_multicluster.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from grafana_sync.lint.promql import walk
from grafana_sync.macros import substitute_macros
from ml_monitoring.config import load_config
from tests.unit.test_dashboards import compiled_dashboards, iter_panels

REPO = Path(__file__).resolve().parents[2]
CLUSTER = load_config(root=REPO).labels.cluster


def _queries() -> list[tuple[str, str, bool]]:
    """(where, expression, is a dashboard query) for every compiled query and rule."""
    out = []
    for uid, dash in sorted(compiled_dashboards().items()):
        for panel in iter_panels(dash):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((f"{uid} / {panel['title']} / {target['refId']}",
                                target["expr"], True))
        for var in dash["templating"]["list"]:
            query = var.get("query")
            query = query.get("query") if isinstance(query, dict) else query
            if var["type"] == "query" and var["name"] != "cluster" and query:
                inner = query.removeprefix("label_values(").rsplit(",", 1)[0]
                out.append((f"{uid} / variable {var['name']}", inner, True))
        for ann in dash["annotations"]["list"]:
            if ann.get("expr"):
                out.append((f"{uid} / annotation {ann['name']}", ann["expr"], True))
    for path in sorted((REPO / "prometheus" / "rules").glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group["rules"]:
                name = rule.get("record") or rule.get("alert")
                out.append((f"{path.name} / {group['name']} / {name}", rule["expr"], False))
    return out


QUERIES = _queries()


def _problems(expr: str, dashboard: bool) -> list[str]:
    text = substitute_macros(expr) if dashboard else expr
    tree = promql_parser.parse(text)
    found = []
    for node, _ in walk(tree):
        if isinstance(node, promql_parser.AggregateExpr):
            mod = node.modifier
            if mod is None or (mod.type == promql_parser.AggModifierType.By
                               and CLUSTER not in mod.labels):
                found.append(f"aggregation drops {CLUSTER}: {str(node)[:120]}")
        elif isinstance(node, promql_parser.BinaryExpr):
            matching = node.modifier.matching if node.modifier else None
            if (matching is not None and matching.type == promql_parser.LabelModifierType.Include
                    and CLUSTER not in matching.labels):
                found.append(f"on (…) without {CLUSTER}: {str(node)[:120]}")
        elif dashboard and isinstance(node, promql_parser.VectorSelector):
            if not any(m.name == CLUSTER for m in node.matchers.matchers):
                found.append(f"selector without a {CLUSTER} filter: {str(node)[:120]}")
    return found


@pytest.mark.parametrize("where, expr, dashboard", QUERIES, ids=[q[0] for q in QUERIES])
def test_query_keeps_the_cluster_label(where: str, expr: str, dashboard: bool) -> None:
    assert not _problems(expr, dashboard), f"{where}: {_problems(expr, dashboard)}"


def test_the_checker_catches_a_dropped_cluster_label() -> None:
    assert _problems("sum by (model) (rate(x[5m]))", False)
    assert _problems("count(x)", False)
    assert _problems(f"a / on (pod) group_left () max by ({CLUSTER}, pod) (b)", False)
    assert _problems(f'sum by ({CLUSTER}) (x{{model="a"}})', True)
    assert not _problems(f'sum by ({CLUSTER}, model) (x{{{CLUSTER}=~"$cluster"}})', True)
    assert not _problems("sum without (instance) (x)", False)


def test_every_dashboard_has_the_cluster_variable_after_datasource() -> None:
    for uid, dash in compiled_dashboards().items():
        variables: list[dict[str, Any]] = dash["templating"]["list"]
        assert [v["name"] for v in variables[:2]] == ["datasource", "cluster"], uid
        cluster = variables[1]
        assert cluster["multi"] and cluster["includeAll"] and cluster["allValue"] == ".*"
        assert cluster["query"].endswith(f", {CLUSTER})"), cluster["query"]
        assert "$cluster" not in cluster["query"], "the variable must not filter on itself"

"""Several clusters, one view, on real Prometheus servers (`make test-e2e`).

Two Prometheus agents (`--enable-feature=agent`), each scraping its own `python -m demo` (and
node_exporter) with `external_labels: {<cluster label>: NAME}`, remote-write to a central
Prometheus (`--web.enable-remote-write-receiver`) that evaluates the compiled rules
(tests/multicluster.py). Checked on the central server:

- the agents' series arrive, each with its own cluster label, and no series of one cluster's
  demo carries the other's;
- every panel query of every compiled dashboard, with the `cluster` variable set to one cluster
  (other variables at All), returns data, and every series it returns is of that cluster
  (an aggregation that dropped the cluster label would return series without it);
- every recording rule's output carries the cluster label of both clusters, kept apart.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import pytest

from tests.multicluster import run_multicluster
from tests.promharness import HarnessError, require_binary
from tests.unit.test_dashboards import compiled_dashboards, iter_targets, target_id

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CLUSTERS = ("eu-west", "us-east")
WARM_UP_SIM_SECONDS = 20 * 60  # every metric of the demo has been emitted (evaluation job: 15 min)
DAY = 86400.0
OFFSET_RE = re.compile(r"\boffset (\d+)d\b")


@pytest.fixture(scope="module")
def multicluster() -> Any:
    require_binary("prometheus")
    require_binary("prometheus-node-exporter")
    try:
        with run_multicluster(CLUSTERS, node_exporter=True) as mc:
            mc.central.wait_for_sim_time(WARM_UP_SIM_SECONDS, timeout=180)
            time.sleep(5)  # a few remote-write batches and rule evaluations after the warm-up
            yield mc
    except HarnessError as exc:
        pytest.fail(f"multi-cluster stack did not start: {exc}")


def _evaluate(mc: Any, expr: str, cluster: str) -> list[dict]:
    concrete = mc.central.grafana_expr(expr, {"cluster": cluster}, rate_interval="1m",
                                       range_="1h")
    at = None
    offsets = {int(d) for d in OFFSET_RE.findall(concrete)}
    if offsets:  # "last week" queries: look from N days ahead (see test_dashboards_data.py)
        at = time.time() + max(offsets) * DAY
    return mc.central.query(concrete, at=at)


def test_agents_remote_write_each_cluster_under_its_own_label(multicluster: Any) -> None:
    label = multicluster.label
    up = multicluster.central.query(f"count by ({label}, job) (up == 1)")
    seen = {(r["metric"].get(label), r["metric"]["job"]) for r in up}
    assert seen == {(c, j) for c in CLUSTERS for j in ("ml-model", "node")}
    # the demo's own series: both clusters, every one labelled, no unlabelled copy
    by_cluster = multicluster.central.query(
        f"count by ({label}) (ml_inference_requests_total)")
    assert {r["metric"].get(label) for r in by_cluster} == set(CLUSTERS)
    assert multicluster.central.query(f'ml_inference_requests_total{{{label}=""}}') == []


@pytest.mark.parametrize("item", list(iter_targets()), ids=target_id)
def test_every_panel_has_data_per_cluster_and_no_other_cluster(multicluster: Any,
                                                               item: tuple) -> None:
    uid, panel, target = item
    label = multicluster.label
    for cluster in CLUSTERS:
        result = _evaluate(multicluster, target["expr"], cluster)
        where = f"{uid} / {panel['title']} / {target['refId']} / {label}={cluster}"
        assert result, f"{where}: no data"
        assert any(not math.isnan(float(r["value"][1])) for r in result), f"{where}: only NaN"
        wrong = [r["metric"] for r in result if r["metric"].get(label) != cluster]
        assert not wrong, f"{where}: series without this cluster's label: {wrong[:3]}"


def test_every_dashboard_has_a_cluster_variable_after_datasource() -> None:
    for uid, dash in compiled_dashboards().items():
        names = [v["name"] for v in dash["templating"]["list"]]
        assert names[:2] == ["datasource", "cluster"], f"{uid}: variables {names}"


def test_cluster_variable_lists_both_clusters(multicluster: Any) -> None:
    for uid, dash in compiled_dashboards().items():
        var = next(v for v in dash["templating"]["list"] if v["name"] == "cluster")
        query = var["query"] if isinstance(var["query"], str) else var["query"]["query"]
        metric, label = re.fullmatch(r"label_values\((.+), (\w+)\)", query).groups()
        expr = multicluster.central.grafana_expr(metric)
        values = {r["metric"].get(label) for r in multicluster.central.query(expr)}
        assert values >= set(CLUSTERS), f"{uid}: cluster variable lists {values}"


def test_recording_rules_keep_clusters_apart(multicluster: Any) -> None:
    label = multicluster.label
    records = sorted({rule["name"] for group in multicluster.central.rules()
                      for rule in group["rules"] if rule["type"] == "recording"})
    assert records
    missing = []
    for record in records:
        series = multicluster.central.query(record)
        if not series:
            continue  # an empty rule is the single-cluster tests' business (every panel has data)
        clusters = {s["metric"].get(label) for s in series}
        if clusters != set(CLUSTERS):
            missing.append(f"{record}: {sorted(map(str, clusters))}")
    assert not missing, "recording rules that lose or merge the cluster label:\n" + "\n".join(
        missing)

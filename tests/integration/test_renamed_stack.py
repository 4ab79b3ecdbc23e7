"""A renamed monitoring config end to end on a real Prometheus (issue #13, "Done when").

The setup of tests/unit/test_renamed_config.py (model -> model_name, version -> model_version,
feature -> input_name, serving selector job="model-serving", two thresholds changed): dashboards
and rules are compiled from it into a temp folder, Prometheus loads those rules and scrapes the
demo under the job `model-serving`, and the demo reads the same config (MONITORING_CONFIG), so
its series carry the renamed labels. Then every panel and variable of every compiled dashboard
has data, and each incident of the `ci` scenario raises its alerts, labelled with the new names.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_alerts_demo import EXPECTED
from tests.integration.test_dashboards_data import WARM_UP_SIM_SECONDS, evaluate, numbers
from tests.promharness import PROMETHEUS_BIN, HarnessError, require_binary, run_stack
from tests.unit.test_renamed_config import RENAMED, build_with

pytestmark = pytest.mark.integration

NEW = {"model": "model_name", "version": "model_version", "feature": "input_name"}
ACTIVE = {"pending", "firing"}


@pytest.fixture(scope="module")
def renamed(tmp_path_factory) -> Any:
    prom = require_binary(PROMETHEUS_BIN)
    built = build_with(RENAMED, tmp_path_factory.mktemp("renamed-stack"))
    try:
        with run_stack(prometheus_bin=prom, rule_files=sorted((built / "rules").glob("*.yml")),
                       demo_job="model-serving",
                       demo_env={"MONITORING_CONFIG": str(built / "monitoring.yaml")}) as stack:
            stack.wait_for_sim_time(WARM_UP_SIM_SECONDS, timeout=120)
            yield stack, built
    except HarnessError as exc:
        pytest.fail(f"Prometheus test stack did not start: {exc}")


def _dashboards(built: Path) -> dict[str, dict]:
    return {d["uid"]: d for d in (json.loads(p.read_text()) for p in sorted(
        (built / "dashboards").rglob("*.json")))}


def _panels(dash: dict) -> list[dict]:
    return [p for top in dash["panels"] for p in (top, *top.get("panels", []))]


def test_demo_series_carry_the_renamed_labels(renamed: Any) -> None:
    stack, _ = renamed
    result = stack.query('ml_inference_requests_total{job="model-serving"}')
    assert result and all({"model_name", "model_version"} <= set(r["metric"]) for r in result)
    assert not stack.query('{__name__=~"ml_.+", model!=""}')
    assert not stack.query('{__name__=~"ml_.+", version!=""}')
    assert stack.query('ml_feature_drift_score{input_name!=""}')


def test_every_panel_of_every_dashboard_has_data(renamed: Any) -> None:
    stack, built = renamed
    dashboards = _dashboards(built)
    assert len(dashboards) >= 9
    empty, checked = [], 0
    for uid, dash in sorted(dashboards.items()):
        for panel in _panels(dash):
            for target in panel.get("targets", []):
                checked += 1
                values = numbers(evaluate(stack, target["expr"]))
                if not values or all(math.isnan(v) for v in values):
                    empty.append(f"{uid} / {panel['title']} / {target['refId']}")
    assert checked > 100
    assert empty == []


def test_every_variable_lists_values(renamed: Any) -> None:
    stack, built = renamed
    empty = []
    for uid, dash in sorted(_dashboards(built).items()):
        for var in dash["templating"]["list"][1:]:
            metric, label = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]).groups()
            assert label not in NEW, f"{uid}: variable {var['name']} reads the old label {label}"
            if var["name"] == "cluster":  # one Prometheus, no cluster label: empty is "All"
                continue
            if not {r["metric"].get(label) for r in evaluate(stack, metric)} - {None}:
                empty.append(f"{uid}: ${var['name']}")
    assert empty == []


def test_each_incident_raises_its_alerts_under_the_new_names(renamed: Any) -> None:
    stack, _ = renamed
    for kind in EXPECTED:  # the demo's control series are renamed too (model_name=...)
        stack.wait_for(f'demo_incident_active{{incident="{kind}", model_name!=""}} == 1', timeout=60)
    wanted = [(kind, name, severity, {NEW.get(k, k): v for k, v in labels.items()})
              for kind, exps in EXPECTED.items() for name, severity, labels in exps]
    deadline = time.monotonic() + 90
    while True:
        alerts = [a for a in stack.alerts() if a["state"] in ACTIVE]
        missing = [w for w in wanted if not any(
            a["labels"]["alertname"] == w[1] and a["labels"].get("severity") == w[2]
            and all(a["labels"].get(k) == v for k, v in w[3].items()) for a in alerts)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, f"incidents without their alert: {missing}"
    for alert in alerts:
        assert not {"model", "version", "feature"} & set(alert["labels"]), alert["labels"]
        assert "{{" not in alert["annotations"]["description"]

"""Compiled dashboards validate against Grafana 11.4's dashboard and panel JSON Schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from grafana_sync.compile import compile_all, compile_dashboard
from grafana_sync.jsonio import compiled_files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from grafana_schemas import validate_dashboard  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "build"


def test_schema_rejects_raw_grafanalib(contracts_dir: Path) -> None:
    """The validator can fail: the raw grafanalib fixture is invalid."""
    raw = json.loads((contracts_dir / "fixtures" / "grafanalib-0.7.1-sample-dashboard.json").read_text())
    assert validate_dashboard(raw, contracts_dir)


def test_normalised_grafanalib_fixture_validates(contracts_dir: Path) -> None:
    raw = json.loads((contracts_dir / "fixtures" / "grafanalib-0.7.1-sample-dashboard.json").read_text())
    compiled = compile_dashboard({**raw, "uid": "fixture"}, Path("fixture.json"), None)
    assert validate_dashboard(compiled.data, contracts_dir) == []


def test_every_panel_type_validates(contracts_dir: Path, tmp_path: Path) -> None:
    module = tmp_path / "all_types.py"
    module.write_text((FIXTURES / "all_panel_types.py").read_text())
    result = compile_all(tmp_path)
    assert not result.errors, result.errors
    (dash,) = result.dashboards
    types = {p["type"] for p in dash.data["panels"]}
    assert {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "state-timeline", "row"} <= types
    assert validate_dashboard(dash.data, contracts_dir) == []


def test_golden_example_validates(contracts_dir: Path) -> None:
    data = json.loads((FIXTURES / "example.golden.json").read_text())
    assert validate_dashboard(data, contracts_dir) == []


def test_every_repository_dashboard_validates(contracts_dir: Path) -> None:
    files = compiled_files(REPO / "provisioning" / "dashboards")
    if not files:
        pytest.skip("no compiled dashboards in provisioning/dashboards yet")
    failures = {}
    for path in files:
        errors = validate_dashboard(json.loads(path.read_text()), contracts_dir)
        if errors:
            failures[path.name] = errors[:5]
    assert not failures, json.dumps(failures, indent=1)

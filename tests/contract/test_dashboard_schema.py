"""Compiled dashboards validate against Grafana 11.4's and 12.3's dashboard and panel JSON Schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from grafana_sync.compile import compile_all, compile_dashboard
from grafana_sync.jsonio import compiled_files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from grafana_schemas import GRAFANA_VERSIONS, validate_dashboard  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "build"


VERSIONS = pytest.mark.parametrize("version", GRAFANA_VERSIONS)


@VERSIONS
def test_schema_rejects_raw_grafanalib(contracts_dir: Path, version: str) -> None:
    """The validator can fail: the raw grafanalib fixture is invalid."""
    raw = json.loads((contracts_dir / "fixtures" / "grafanalib-0.7.1-sample-dashboard.json").read_text())
    assert validate_dashboard(raw, contracts_dir, version)


@VERSIONS
def test_normalised_grafanalib_fixture_validates(contracts_dir: Path, version: str) -> None:
    raw = json.loads((contracts_dir / "fixtures" / "grafanalib-0.7.1-sample-dashboard.json").read_text())
    compiled = compile_dashboard({**raw, "uid": "fixture"}, Path("fixture.json"), None)
    assert validate_dashboard(compiled.data, contracts_dir, version) == []


@VERSIONS
def test_every_panel_type_validates(contracts_dir: Path, tmp_path: Path, version: str) -> None:
    module = tmp_path / "all_types.py"
    module.write_text((FIXTURES / "all_panel_types.py").read_text())
    result = compile_all(tmp_path)
    assert not result.errors, result.errors
    (dash,) = result.dashboards
    types = {p["type"] for p in dash.data["panels"]}
    assert {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "state-timeline", "row"} <= types
    assert validate_dashboard(dash.data, contracts_dir, version) == []


@VERSIONS
def test_golden_example_validates(contracts_dir: Path, version: str) -> None:
    data = json.loads((FIXTURES / "example.golden.json").read_text())
    assert validate_dashboard(data, contracts_dir, version) == []


@VERSIONS
def test_every_repository_dashboard_validates(contracts_dir: Path, version: str) -> None:
    files = compiled_files(REPO / "provisioning" / "dashboards")
    if not files:
        pytest.skip("no compiled dashboards in provisioning/dashboards yet")
    failures = {}
    for path in files:
        errors = validate_dashboard(json.loads(path.read_text()), contracts_dir, version)
        if errors:
            failures[path.name] = errors[:5]
    assert not failures, json.dumps(failures, indent=1)


@VERSIONS
@pytest.mark.parametrize("fixture, wrap", [
    ("grafana-docs-v1beta1-example-dashboard-spec.json", True),  # a Kubernetes v1beta1 spec
    ("foundation-sdk-v0.0.18-reference-dashboard.valid.json", False),
])
def test_other_sources_compile_to_valid_json(contracts_dir: Path, fixture: str, wrap: bool,
                                             version: str) -> None:
    data = json.loads((contracts_dir / "fixtures" / fixture).read_text())
    if wrap:
        data = {"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
                "metadata": {"name": "docs-example"}, "spec": data}
    else:
        data.setdefault("uid", "sdk-reference")
    compiled = compile_dashboard(data, Path(fixture), None)
    assert compiled.data["panels"], fixture
    assert validate_dashboard(compiled.data, contracts_dir, version) == []

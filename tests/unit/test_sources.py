"""Any dashboard source: grafanalib, foundation SDK (builder, model, v2), plain dict and `.json`
files all compile through the same pipeline to the same canonical JSON, and lint and diff alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grafana_sync.compile import compile_all, compile_dashboard
from grafana_sync.jsonio import canonical_dumps

REPO = Path(__file__).resolve().parents[2]

GRAFANALIB = """
from grafanalib.core import Dashboard, GridPos, Target, TimeSeries
dashboard = Dashboard(title="From grafanalib", uid="src-grafanalib", panels=[
    TimeSeries(title="Up", description="Scrape health; bad: below 1.", unit="short",
               targets=[Target(expr="up", refId="A")], gridPos=GridPos(h=8, w=12, x=0, y=0)),
])
"""

SDK = """
from grafana_foundation_sdk.builders import dashboard as d, prometheus, timeseries

dashboard = (
    d.Dashboard("From the foundation SDK").uid("src-sdk").tags(["sdk"])
    .with_panel(timeseries.Panel().title("Up").description("Scrape health; bad: below 1.")
                .unit("short").height(8).span(12)
                .with_target(prometheus.Dataquery().expr("up").ref_id("A")))
)
"""

SDK_MODEL = SDK.replace("src-sdk", "src-sdk-model").replace(
    "From the foundation SDK", "From a foundation SDK model") + "\ndashboard = dashboard.build()\n"

DICT = """
folder = "team-b"
dashboards = [{
    "uid": "src-dict", "title": "From a dict", "schemaVersion": 39,
    "panels": [{"type": "timeseries", "title": "Up", "description": "Scrape health; bad: below 1.",
                "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
                "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
                "targets": [{"expr": "up", "refId": "A"}]}],
}]
"""

K8S_JSON = {
    "apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
    "metadata": {"name": "src-json", "annotations": {"grafana.app/folder": "team-c"}},
    "spec": {"title": "From a JSON file", "schemaVersion": 41, "panels": [
        {"type": "timeseries", "title": "Up", "description": "Scrape health; bad: below 1.",
         "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
         "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
         "targets": [{"expr": "up", "refId": "A"}]}]},
}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "grafana_sync", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    pytest.importorskip("grafana_foundation_sdk", reason="pip install '.[dev]' (foundation SDK)")
    src = tmp_path / "dashboards"
    src.mkdir()
    (src / "a_grafanalib.py").write_text(textwrap.dedent(GRAFANALIB))
    (src / "b_sdk.py").write_text(textwrap.dedent(SDK))
    (src / "b_sdk_model.py").write_text(textwrap.dedent(SDK_MODEL))
    (src / "c_dict.py").write_text(textwrap.dedent(DICT))
    (src / "d_k8s.json").write_text(json.dumps(K8S_JSON))
    (src / "_data.json").write_text("{}")  # `_` files are not sources
    return tmp_path


def test_every_source_kind_builds_lints_and_diffs(project: Path) -> None:
    proc = run(project, "build")
    assert proc.returncode == 0, proc.stderr
    out = project / "provisioning" / "dashboards"
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.json"))
    assert files == ["src-grafanalib.json", "src-sdk-model.json", "src-sdk.json",
                     "team-b/src-dict.json", "team-c/src-json.json"]
    for path in out.rglob("*.json"):
        data = json.loads(path.read_text())
        assert path.read_text() == canonical_dumps(data)  # canonical, like any build output
        assert data["schemaVersion"] >= 39
        (panel,) = data["panels"]
        assert panel["targets"][0]["expr"] == "up" and panel["targets"][0]["refId"] == "A"
        assert panel["fieldConfig"]["defaults"]["unit"] == "short"
        assert panel["gridPos"] == {"h": 8, "w": 12, "x": 0, "y": 0} and panel["id"] == 1
        # the same normalisation ran on each: a base threshold step, required options filled in
        assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"][0] == {
            "color": "green", "value": None}
        assert panel["options"]["tooltip"]["mode"] in ("single", "multi")
    assert run(project, "build", "--check").returncode == 0

    lint = run(project, "lint", "--format", "json", "--disable", "panel-datasource-rule",
               "--disable", "template-datasource-rule")
    assert lint.returncode in (0, 1), lint.stderr
    findings = json.loads(lint.stdout)
    linted = {f["dashboard_uid"] for f in findings} if isinstance(findings, list) else set()
    assert linted <= {"src-grafanalib", "src-sdk", "src-sdk-model", "src-dict", "src-json"}

    snapshot = project / "snapshot"
    snapshot.mkdir()
    for path in out.rglob("*.json"):
        (snapshot / path.name).write_text(path.read_text())
    same = run(project, "diff", "--against", str(snapshot), "--exit-code")
    assert same.returncode == 0, same.stdout + same.stderr
    k8s = json.loads((project / "dashboards" / "d_k8s.json").read_text())
    k8s["spec"]["panels"][0]["targets"][0]["expr"] = "sum(up)"
    (project / "dashboards" / "d_k8s.json").write_text(json.dumps(k8s))
    assert run(project, "build").returncode == 0
    changed = run(project, "diff", "--against", str(snapshot), "--exit-code", "--format", "json")
    assert changed.returncode == 1, changed.stderr
    report = json.loads(changed.stdout)
    (dash,) = report["dashboards"]
    assert dash["uid"] == "src-json"
    assert dash["panels"][0]["fields"] == [
        {"path": "targets[A].expr", "change": "changed", "old": "up", "new": "sum(up)"}]


def test_a_bad_source_is_one_line_naming_the_file(tmp_path: Path) -> None:
    src = tmp_path / "dashboards"
    src.mkdir()
    (src / "bad.json").write_text('{"apiVersion": "v1", "kind": "ConfigMap", "spec": {}}')
    (src / "odd.py").write_text("dashboard = 42\n")
    proc = run(tmp_path, "build")
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert any("bad.json" in e and "ConfigMap" in e for e in errors), proc.stderr
    assert any("odd.py" in e and "int" in e and "foundation-SDK" in e for e in errors), proc.stderr
    assert "Traceback" not in proc.stderr


def test_sdk_v2_spec_needs_a_uid_from_its_resource(tmp_path: Path) -> None:
    pytest.importorskip("grafana_foundation_sdk")
    from grafana_foundation_sdk.builders import dashboardv2beta1 as v2

    builder = v2.Dashboard("V2 from the SDK")
    spec = json.loads(json.dumps(builder.build(), default=lambda o: o.to_json()))
    resource = {"apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard",
                "metadata": {"name": "sdk-v2"}, "spec": spec}
    compiled = compile_dashboard(resource, tmp_path / "v2.json", None)
    assert compiled.uid == "sdk-v2" and compiled.data["title"] == "V2 from the SDK"


def test_compiled_dashboards_are_a_fixed_point_as_json_and_dict_sources(tmp_path: Path) -> None:
    """Each of the project's compiled dashboards, given back as a .json file and as a dict
    module, compiles to the very same bytes: one pipeline, whatever the source."""
    as_json, as_dict = tmp_path / "json", tmp_path / "dict"
    as_json.mkdir()
    as_dict.mkdir()
    compiled = sorted((REPO / "provisioning" / "dashboards").rglob("*.json"))
    assert len(compiled) >= 9
    for path in compiled:
        (as_json / path.name).write_text(path.read_text())
        data = json.loads(path.read_text())
        (as_dict / f"m_{path.stem.replace('-', '_')}.py").write_text(
            f"import json\ndashboard = json.loads({json.dumps(json.dumps(data))})\n")
    for folder in (as_json, as_dict):
        result = compile_all(folder)
        assert not result.errors
        by_uid = {d.uid: d.text for d in result.dashboards}
        for path in compiled:
            assert by_uid[json.loads(path.read_text())["uid"]] == path.read_text(), path.name

"""grafana_sync.api: build, check, lint, diff and push from Python, with result objects.

Push runs against the OpenAPI-validated fake Grafana (tests/grafana_fake.py); the dashboards are
built from a grafanalib module, a dict module and a Kubernetes-shaped .json file.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from grafana_sync import api
from grafana_sync.errors import ConfigError
from grafana_sync.sync import CREATE, OWNER_TAG, UNCHANGED
from tests import grafana_fake
from tests.grafana_fake import SECRET_TOKEN

contract = grafana_fake.contract  # fixtures
grafana = grafana_fake.grafana

MODULE = f"""
from grafanalib.core import Dashboard, GridPos, Target, TimeSeries
folder = "team-a"
dashboard = Dashboard(title="Service", uid="svc", tags=[{OWNER_TAG!r}], panels=[
    TimeSeries(title="Requests", description="Requests per second; bad: a drop to 0.",
               unit="reqps", targets=[Target(expr="sum(rate(http_requests_total[$__rate_interval]))")],
               gridPos=GridPos(h=8, w=12, x=0, y=0)),
])
"""
DICT_MODULE = f"""
dashboard = {{"uid": "plain", "title": "Plain", "tags": [{OWNER_TAG!r}], "panels": [
    {{"type": "stat", "title": "Up", "description": "Targets up; bad: below 1.",
      "fieldConfig": {{"defaults": {{"unit": "short"}}, "overrides": []}},
      "targets": [{{"expr": "sum(up)"}}]}}]}}
"""
K8S = {"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
       "metadata": {"name": "k8s"},
       "spec": {"title": "From Kubernetes", "tags": [OWNER_TAG], "panels": [
           {"type": "timeseries", "title": "Errors", "description": "Errors; bad: above 0.",
            "fieldConfig": {"defaults": {"unit": "short"}, "overrides": []},
            "targets": [{"expr": "sum(rate(errors_total[$__rate_interval]))"}]}]}}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    src = tmp_path / "dashboards"
    src.mkdir()
    (src / "service.py").write_text(textwrap.dedent(MODULE))
    (src / "plain.py").write_text(textwrap.dedent(DICT_MODULE))
    (src / "k8s.json").write_text(json.dumps(K8S))
    (tmp_path / "pyproject.toml").write_text('[tool.grafana-sync]\noutput-dir = "out"\n')
    return tmp_path


def test_build_then_check_report_what_they_did(project: Path) -> None:
    report = api.build(project / "dashboards")  # any directory inside the project will do
    assert report.ok and report.exit_code == 0 and report.written
    assert report.project.root == project and report.project.output_dir == project / "out"
    assert sorted(p.relative_to(project).as_posix() for p in report.created) == [
        "out/k8s.json", "out/plain.json", "out/team-a/svc.json"]
    assert sorted(d.uid for d in report.dashboards) == ["k8s", "plain", "svc"]
    assert api.check(project).up_to_date

    again = api.build(project)
    assert again.created == [] and again.updated == [] and len(again.unchanged) == 3

    (project / "dashboards" / "plain.py").write_text(
        textwrap.dedent(DICT_MODULE).replace("sum(up)", "min(up)"))
    stale = api.check(project)
    assert not stale.up_to_date and stale.exit_code == 1
    assert [p.name for p in stale.stale] == ["plain.json"] and not stale.missing


def test_build_errors_are_reported_not_raised(project: Path) -> None:
    (project / "dashboards" / "broken.py").write_text("dashboard = {'uid': 'x y', 'title': 't'}\n")
    report = api.build(project)
    assert not report.ok and report.exit_code == 2 and not report.written
    assert "broken.py" in str(report.errors[0]) and not (project / "out").exists()


def test_lint_uses_the_project_and_returns_findings(project: Path) -> None:
    api.build(project)
    result = api.lint(project=project, enable=[], disable=["panel-datasource-rule",
                                                              "template-datasource-rule"])
    assert result.dashboards == 3
    # well-formed dashboards of every source kind; grafanalib writes editable: true by default
    assert [(f.rule, f.dashboard_uid) for f in result.findings] == [("uneditable-dashboard", "svc")]
    assert any("metric-contract-rule skipped" in n for n in result.notes)  # none configured


def test_diff_against_a_folder_and_stale_warning(project: Path, tmp_path: Path) -> None:
    api.build(project)
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    for path in (project / "out").rglob("*.json"):
        (snapshot / path.name).write_text(path.read_text())
    same = api.diff(project, against=snapshot)
    assert same.identical and same.stale == []

    source = project / "dashboards" / "k8s.json"
    changed = json.loads(source.read_text())
    changed["spec"]["panels"][0]["targets"][0]["expr"] = "sum(rate(failures_total[$__rate_interval]))"
    source.write_text(json.dumps(changed))
    future = time.time() + 5
    os.utime(source, (future, future))
    report = api.diff(project, against=snapshot)
    assert report.identical  # the compiled JSON did not change yet...
    assert [(c.name, s.name) for c, s in report.stale] == [("k8s.json", "k8s.json")]  # ...but it says so
    api.build(project)
    report = api.diff(project, against=snapshot)
    assert not report.identical and report.stale == []
    (dash,) = report.result.dashboards
    assert dash.uid == "k8s" and dash.panels[0].fields[0].path == "targets[A].expr"
    assert json.loads(report.render("json"))["summary"]["panels_changed"] == 1


def test_diff_needs_exactly_one_reference(project: Path) -> None:
    with pytest.raises(ConfigError, match="nothing to compare against"):
        api.diff(project)
    with pytest.raises(ConfigError, match="not both"):
        api.diff(project, against=".", against_ref="HEAD")
    with pytest.raises(ConfigError, match="one of"):
        api.diff(project, against=".", connection=api.Connection("http://127.0.0.1:9"))


def test_push_dry_run_then_push_then_nothing_to_do(project: Path, grafana) -> None:
    api.build(project)
    conn = api.Connection(url="http://grafana.test", token=SECRET_TOKEN)
    plan = api.push(conn, project, dry_run=True, skip_datasource=True)
    assert plan.dry_run and plan.ok and plan.outcomes is None
    assert sorted((d.uid, d.action) for d in plan.plan.dashboards) == [
        ("k8s", CREATE), ("plain", CREATE), ("svc", CREATE)]
    assert not [c for c in grafana.calls if c[0] in ("POST", "PUT", "DELETE")]

    done = api.push(conn, project, message="from the API", skip_datasource=True)
    assert done.ok and done.exit_code == 0
    assert sorted(o.name for o in done.outcomes if o.kind == "dashboard") == ["k8s", "plain", "svc"]
    assert grafana.dashboards["svc"]["meta"]["folderUid"] == "team-a"

    again = api.push(conn, project, skip_datasource=True)
    assert [d.action for d in again.plan.dashboards] == [UNCHANGED] * 3 and again.outcomes == []
    live = api.diff(project, connection=conn)
    assert live.identical, live.render()

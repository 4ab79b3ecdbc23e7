"""docs/migrating.md end to end against the Grafana stand-in: pull --python, build, push --dry-run
(conflict: not ours), push --force (takes ownership), then prune of a removed module.

Every request and response is checked against the OpenAPI subset by tests/grafana_fake.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.cli import main
from grafana_sync.sync import OWNER_TAG
from tests import grafana_fake
from tests.contract.test_push_cli import DATASOURCES
from tests.grafana_fake import SECRET_TOKEN, FakeGrafana

pytestmark = pytest.mark.contract
contract = grafana_fake.contract
grafana = grafana_fake.grafana

PROVIDERS = """\
apiVersion: 1
providers:
  - name: ops
    type: file
    folder: Operations
    folderUid: ops
    options:
      path: /etc/grafana/provisioning/dashboards/ops
"""


def ui_dashboard(uid: str, title: str, expr: str) -> dict[str, Any]:
    """A dashboard as the Grafana UI saves it (no ownership tag)."""
    return {
        "uid": uid, "title": title, "tags": ["ops"], "schemaVersion": 39, "editable": True,
        "time": {"from": "now-6h", "to": "now"}, "timezone": "browser",
        "templating": {"list": []}, "annotations": {"list": []},
        "panels": [{
            "id": 1, "type": "stat", "title": "Up", "gridPos": {"h": 4, "w": 6, "x": 0, "y": 0},
            "datasource": {"type": "prometheus", "uid": "prometheus"},
            "fieldConfig": {"defaults": {"unit": "none"}, "overrides": []},
            "targets": [{"refId": "A", "expr": expr,
                         "datasource": {"type": "prometheus", "uid": "prometheus"}}],
        }],
    }


def cli(capsys: pytest.CaptureFixture[str], fake: FakeGrafana, *args: str) -> tuple[int, str]:
    argv = list(args)
    if args[0] in ("pull", "push"):
        argv += ["--url", fake.base_url, "--token", SECRET_TOKEN]
    if args[0] == "push":
        argv += ["--message", "migration test"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert SECRET_TOKEN not in out + err
    return int(exc.value.code or 0), out + err


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD", "GRAFANA_ORG_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PROMETHEUS_URL", "http://prometheus:9090")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "provisioning" / "dashboards").mkdir(parents=True)
    (tmp_path / "provisioning" / "dashboards" / "ops.yaml").write_text(PROVIDERS)
    (tmp_path / "provisioning" / "datasources").mkdir()
    (tmp_path / "provisioning" / "datasources" / "prometheus.yaml").write_text(DATASOURCES)
    return tmp_path


def test_pull_import_build_push_and_prune(grafana, project, capsys) -> None:
    grafana.add_folder("ops", "Operations")
    grafana.add_dashboard(ui_dashboard("api", "API", "up{job='api'}"), folder_uid="ops", updated_by="alice")
    grafana.add_dashboard(ui_dashboard("db", "DB", "pg_up"), folder_uid="ops", updated_by="alice")

    code, pulled = cli(capsys, grafana, "pull", "--folder", "ops", "--python")
    assert code == 0, pulled
    assert "folder ops (Operations): push names a folder after a provider" in pulled
    assert sorted(p.name for p in (project / "dashboards").glob("*.py")) == ["api.py", "db.py"]
    code, out = cli(capsys, grafana, "build")
    assert code == 0, out
    assert (project / "provisioning" / "dashboards" / "ops" / "api.json").is_file()

    # right after import, the build differs from what was pulled only by fields the original
    # left to Grafana's defaults, which import counted (nothing dropped, nothing changed)
    code, out = cli(capsys, grafana, "diff", "--against", "pulled", "--format", "json", "--exit-code")
    report = json.loads(out)
    fields = [f for d in report["dashboards"] for p in d.get("panels", []) for f in p.get("fields", [])]
    assert code == 1 and fields and {f["change"] for f in fields} == {"added"}
    assert all(d.get("changes", []) == [] for d in report["dashboards"])
    assert f"{len(fields) // 2} field(s) the original leaves to Grafana's defaults" in pulled

    # not ours yet: a dry run names the conflict and writes nothing
    code, out = cli(capsys, grafana, "push", "--dry-run")
    assert code == 1 and "without the managed-by-grafana-sync tag (not ours)" in out
    assert grafana.writes() == []

    # --force takes ownership: the content is the build of the pulled dashboard, plus the tag
    code, out = cli(capsys, grafana, "push", "--force")
    assert code == 0, out
    api = grafana.dashboards["api"]["dashboard"]
    assert OWNER_TAG in api["tags"] and "ops" in api["tags"]
    assert api["panels"][0]["targets"][0]["expr"] == "up{job='api'}"
    assert grafana.dashboards["api"]["meta"]["folderUid"] == "ops"
    assert grafana.folders["ops"]["title"] == "Operations"  # the provider keeps the title

    # owned now: removing a module is deleting the dashboard once prune runs
    (project / "dashboards" / "api.py").unlink()
    assert cli(capsys, grafana, "build")[0] == 0
    code, out = cli(capsys, grafana, "push", "--prune", "--dry-run")
    assert code == 0 and "delete" in out and "api" in out
    code, out = cli(capsys, grafana, "push", "--prune")
    assert code == 0, out
    assert "api" not in grafana.dashboards and "db" in grafana.dashboards

"""`grafana-sync pull` against the Grafana stand-in (every request/response checked against the
OpenAPI subset in ../shared/grafana-contracts by tests/grafana_fake.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.cli import main
from grafana_sync.compile import compile_all
from grafana_sync.jsonio import canonical_dumps
from grafana_sync.sync import body_to_push
from tests import grafana_fake
from tests.grafana_fake import SECRET_TOKEN, FakeGrafana

pytestmark = pytest.mark.contract
contract = grafana_fake.contract
grafana = grafana_fake.grafana

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "import"


def dashboard(uid: str, title: str, tags: list[str], expr: str = "up") -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "tags": tags, "schemaVersion": 39,
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
        "panels": [{
            "id": 1, "type": "timeseries", "title": "Requests", "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "fieldConfig": {"defaults": {"unit": "reqps"}, "overrides": []},
            "targets": [{"refId": "A", "expr": expr, "legendFormat": "{{job}}"}],
        }],
    }


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dashboards").mkdir()
    monkeypatch.chdir(tmp_path)
    for var in ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture()
def stocked(grafana: FakeGrafana) -> FakeGrafana:
    grafana.add_folder("ops", "Operations")
    grafana.add_folder("ml", "ML")
    grafana.add_dashboard(dashboard("api", "API", ["team-a", "http"]), folder_uid="ops")
    grafana.add_dashboard(dashboard("db", "Database", ["team-b"], "pg_up"), folder_uid="ops")
    grafana.add_dashboard(dashboard("model", "Model", ["team-a"], "ml_x"), folder_uid="ml")
    owned = body_to_push(dashboard("owned", "Owned", ["team-a"]))  # carries the push marker
    grafana.add_dashboard(owned, folder_uid="ml")
    return grafana


def run(capsys: pytest.CaptureFixture[str], fake: FakeGrafana, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["pull", "--url", fake.base_url, "--token", SECRET_TOKEN, *args])
    out, err = capsys.readouterr()
    assert SECRET_TOKEN not in out + err
    assert fake.writes() == [], "pull must only read Grafana"
    return int(exc.value.code or 0), out, err


def pulled(project: Path) -> set[str]:
    return {p.stem for p in (project / "pulled").glob("*.json")}


def test_pull_by_uid_writes_the_dashboard_as_grafana_returns_it(stocked, project, capsys) -> None:
    code, out, err = run(capsys, stocked, "api")
    assert (code, err) == (0, "")
    assert pulled(project) == {"api"}
    data = json.loads((project / "pulled" / "api.json").read_text(encoding="utf-8"))
    assert data == stocked.dashboards["api"]["dashboard"]
    assert (project / "pulled" / "api.json").read_text(encoding="utf-8") == canonical_dumps(data)
    assert ("GET", "/api/dashboards/uid/api") in [(m, p) for m, p, _ in stocked.calls]
    assert "1 pulled, 0 skipped, 0 failed." in out


def test_pull_by_folder_and_by_tag(stocked, project, capsys) -> None:
    code, _, _ = run(capsys, stocked, "--folder", "ops")
    assert code == 0 and pulled(project) == {"api", "db"}
    search = [u for u in stocked.urls if "/api/search" in u]
    assert search and all("folderUIDs=ops" in u and "type=dash-db" in u for u in search)
    for path in (project / "pulled").glob("*.json"):
        path.unlink()
    code, _, _ = run(capsys, stocked, "--tag", "team-a")
    assert code == 0 and pulled(project) == {"api", "model", "owned"}
    for path in (project / "pulled").glob("*.json"):
        path.unlink()
    code, _, _ = run(capsys, stocked, "--tag", "team-a", "--tag", "http")  # every tag must match
    assert code == 0 and pulled(project) == {"api"}


def test_push_marker_is_not_pulled(stocked, project, capsys) -> None:
    run(capsys, stocked, "owned")
    data = json.loads((project / "pulled" / "owned.json").read_text(encoding="utf-8"))
    assert data["tags"] == ["team-a", "managed-by-grafana-sync"]


def test_pull_python_imports_and_builds_back(stocked, project, capsys) -> None:
    code, out, err = run(capsys, stocked, "--folder", "ml", "--python")
    assert (code, err) == (0, ""), err
    modules = sorted(p.name for p in (project / "dashboards").glob("*.py"))
    assert modules == ["model.py", "owned.py"]
    source = (project / "dashboards" / "model.py").read_text(encoding="utf-8")
    assert 'folder = "ml"' in source and '"ml_x"' in source
    built = compile_all(project / "dashboards")
    assert not built.errors
    assert {str(d.relpath) for d in built.dashboards} == {"ml/model.json", "ml/owned.json"}
    model = next(d for d in built.dashboards if d.uid == "model").data
    assert model["panels"][0]["targets"][0]["expr"] == "ml_x"
    assert model["panels"][0]["fieldConfig"]["defaults"]["unit"] == "reqps"


def test_pull_refuses_to_overwrite_a_dashboard_the_repository_defines(stocked, project, capsys) -> None:
    compiled = project / "provisioning" / "dashboards" / "api.json"
    compiled.parent.mkdir(parents=True)
    compiled.write_text(canonical_dumps(dashboard("api", "API (ours)", [])), encoding="utf-8")
    mine = project / "dashboards" / "api.py"
    mine.write_text("# hand-written\n", encoding="utf-8")
    code, out, err = run(capsys, stocked, "api", "db", "--python")
    assert code == 1
    assert "skipped: api (API): already defined in this repository" in err
    assert mine.read_text(encoding="utf-8") == "# hand-written\n"
    assert pulled(project) == {"db"} and (project / "dashboards" / "db.py").exists()
    code, out, err = run(capsys, stocked, "api", "--python", "--force")
    assert code == 0, err
    assert "hand-written" not in mine.read_text(encoding="utf-8")


def test_pull_never_overwrites_an_existing_file(stocked, project, capsys) -> None:
    target = project / "pulled" / "api.json"
    target.parent.mkdir()
    target.write_text("{}", encoding="utf-8")
    code, _, err = run(capsys, stocked, "api")
    assert code == 2 and "pulled/api.json: already exists; pass --force" in err
    assert target.read_text(encoding="utf-8") == "{}"


def test_unknown_uid_is_one_line_error(stocked, project, capsys) -> None:
    code, _, err = run(capsys, stocked, "nope")
    assert code == 1
    assert err.strip().splitlines()[0] == "error: dashboard 'nope': not found in Grafana"
    assert "Traceback" not in err


def test_bad_token_is_refused_without_printing_it(stocked, project, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["pull", "--url", stocked.base_url, "--token", "wrong-" + SECRET_TOKEN, "api"])
    out, err = capsys.readouterr()
    assert exc.value.code == 1
    assert "wrong-" not in out + err and SECRET_TOKEN not in out + err
    assert pulled(project) == set()


def test_pull_without_url_is_a_usage_error(project, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["pull", "api"])
    assert exc.value.code == 2
    assert "pass --url" in capsys.readouterr().err


def test_pull_a_real_corpus_dashboard_round_trips(grafana, project, capsys) -> None:
    real = json.loads((CORPUS / "istio-mesh.json").read_text(encoding="utf-8"))
    grafana.add_dashboard(real)
    code, _, err = run(capsys, grafana, real["uid"], "--python")
    assert code == 0, err
    built = compile_all(project / "dashboards")
    assert not built.errors and built.dashboards[0].uid == real["uid"]

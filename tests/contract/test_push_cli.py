"""`grafana-sync push` end to end against the stateful fake Grafana (OpenAPI-validated traffic)."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.cli import main
from grafana_sync.sync import HASH_TAG_PREFIX, OWNER_TAG
from tests import grafana_fake
from tests.grafana_fake import SECRET_TOKEN, FakeGrafana

contract = grafana_fake.contract  # fixtures
grafana = grafana_fake.grafana

URL = "http://grafana.test"
DATASOURCES = """\
apiVersion: 1
datasources:
  - name: Prometheus
    type: prometheus
    uid: prometheus
    access: proxy
    orgId: 1
    url: ${PROMETHEUS_URL}
    isDefault: true
    editable: false
    jsonData:
      httpMethod: POST
      timeInterval: 15s
"""
PROVIDERS = """\
apiVersion: 1
providers:
  - name: ml
    type: file
    folder: ML monitoring
    folderUid: ml-monitoring
    options:
      path: /etc/grafana/provisioning/dashboards/ml
"""


def make_dashboard(uid: str, title: str, panels: int = 2, *, tags: list[str] | None = None,
                   unit: str = "s") -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "schemaVersion": 39,
        "tags": tags if tags is not None else ["ml-monitoring", OWNER_TAG, "overview"],
        "templating": {"list": []}, "annotations": {"list": []},
        "time": {"from": "now-6h", "to": "now"},
        "panels": [
            {"id": i + 1, "type": "timeseries", "title": f"Panel {i + 1}",
             "gridPos": {"x": 0, "y": 8 * i, "w": 24, "h": 8},
             "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
             "targets": [{"refId": "A", "expr": f"sum(rate(m{i}_total[$__rate_interval]))"}]}
            for i in range(panels)
        ],
    }


def write_dashboard(root: Path, rel: str, dash: dict[str, Any]) -> None:
    path = root / "provisioning" / "dashboards" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dash, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three dashboards: two in provider folder 'ml', one in the General folder."""
    for var in ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD",
                "GRAFANA_ORG_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PROMETHEUS_URL", "http://prometheus:9090")
    monkeypatch.chdir(tmp_path)
    write_dashboard(tmp_path, "ml/ovw.json", make_dashboard("ovw", "Overview"))
    write_dashboard(tmp_path, "ml/perf.json", make_dashboard("perf", "Performance"))
    write_dashboard(tmp_path, "cost.json", make_dashboard("cost", "Cost"))
    (tmp_path / "provisioning" / "dashboards" / "ml.yaml").write_text(PROVIDERS)
    ds = tmp_path / "provisioning" / "datasources"
    ds.mkdir(parents=True)
    (ds / "prometheus.yaml").write_text(DATASOURCES)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str, token: str | None = SECRET_TOKEN,
        url: str = URL) -> tuple[int, str, str]:
    argv = ["push", *args, "--message", "test push"]
    if url:
        argv += ["--url", url]
    if token:
        argv += ["--token", token]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def push_then_undefine(capsys: pytest.CaptureFixture[str], root: Path,
                       dashboards: list[dict[str, Any]]) -> None:
    """Push these dashboards with the real CLI, then delete their files (as prune's input)."""
    for dash in dashboards:
        write_dashboard(root, f"{dash['uid']}.json", dash)
    code, out, err = run(capsys)
    assert code == 0, out + err
    for dash in dashboards:
        (root / "provisioning" / "dashboards" / f"{dash['uid']}.json").unlink()


def tag_searches(fake: FakeGrafana) -> int:
    """Searches for the ownership tag (prune's), apart from the searches for local uids."""
    return sum(1 for url in fake.urls if "/api/search?" in url and "tag=" in url)


def dashboard_posts(fake: FakeGrafana) -> list[dict[str, Any]]:
    return [b for m, p, b in fake.calls if m == "POST" and p == "/api/dashboards/db"]


# -- first and second push ---------------------------------------------------------------------
def test_first_push_creates_folder_datasource_and_every_dashboard(grafana, project, capsys):
    code, out, err = run(capsys)
    assert code == 0, out + err
    assert set(grafana.dashboards) == {"ovw", "perf", "cost"}
    assert grafana.folders["ml-monitoring"]["title"] == "ML monitoring"
    assert grafana.dashboards["ovw"]["meta"]["folderUid"] == "ml-monitoring"
    assert grafana.dashboards["cost"]["meta"]["folderUid"] == ""  # General
    ds = grafana.datasources["prometheus"]
    assert ds["url"] == "http://prometheus:9090" and ds["jsonData"]["httpMethod"] == "POST"
    posts = dashboard_posts(grafana)
    assert len(posts) == 3
    for body in posts:
        assert body["overwrite"] is False and body["message"] == "test push"
        assert OWNER_TAG in body["dashboard"]["tags"]
        assert any(t.startswith(HASH_TAG_PREFIX) for t in body["dashboard"]["tags"])
        assert "id" not in body["dashboard"]
    assert "Summary: 3 created, 0 updated, 0 unchanged" in out


def test_second_push_posts_nothing(grafana, project, capsys):
    assert run(capsys)[0] == 0
    before = len(grafana.writes())
    code, out, _ = run(capsys)
    assert code == 0
    assert grafana.writes()[before:] == []  # no dashboard POST, no folder/datasource write
    assert "0 created, 0 updated, 3 unchanged" in out


def test_changed_dashboard_is_updated_with_the_version_read(grafana, project, capsys):
    run(capsys)
    write_dashboard(project, "ml/ovw.json", make_dashboard("ovw", "Overview", unit="ms"))
    code, out, _ = run(capsys)
    assert code == 0, out
    posts = dashboard_posts(grafana)[3:]
    assert [p["dashboard"]["uid"] for p in posts] == ["ovw"]
    assert posts[0]["dashboard"]["version"] == 1 and posts[0]["overwrite"] is False
    stored = grafana.dashboards["ovw"]["dashboard"]
    assert stored["panels"][0]["fieldConfig"]["defaults"]["unit"] == "ms"
    assert "1 updated" in out


def test_moved_dashboard_changes_folder(grafana, project, capsys):
    run(capsys)
    (project / "provisioning/dashboards/cost.json").rename(
        project / "provisioning/dashboards/ml/cost.json")
    assert run(capsys)[0] == 0
    assert grafana.dashboards["cost"]["meta"]["folderUid"] == "ml-monitoring"


def test_folder_is_retitled_by_uid(grafana, project, capsys):
    grafana.add_folder("ml-monitoring", "Old title")
    assert run(capsys)[0] == 0
    assert grafana.folders["ml-monitoring"]["title"] == "ML monitoring"
    assert grafana.count("PUT", "/api/folders/ml-monitoring") == 1
    assert grafana.count("POST", "/api/folders") == 0


# -- dry run -----------------------------------------------------------------------------------
def test_dry_run_makes_no_write_call_and_prints_the_plan(grafana, project, capsys):
    code, out, _ = run(capsys, "--dry-run", "--prune")
    assert code == 0, out
    assert grafana.writes() == []
    assert {m for m, _, _ in grafana.calls} == {"GET"}
    for uid in ("ovw", "perf", "cost"):
        assert f"dashboard   create     {uid} " in out
    assert "folder      create     ml-monitoring" in out
    assert "datasource  create     prometheus" in out
    assert grafana.dashboards == {} and grafana.folders == {} and grafana.datasources == {}


def test_dry_run_shows_every_kind_of_action(grafana, project, capsys):
    push_then_undefine(capsys, project, [make_dashboard("stale", "Stale")])
    write_dashboard(project, "ml/perf.json", make_dashboard("perf", "Performance", unit="ms"))
    grafana.ui_edit("ovw", lambda d: d["panels"][0].update(title="Edited in UI"))
    writes = len(grafana.writes())
    code, out, _ = run(capsys, "--dry-run", "--prune")
    assert grafana.writes()[writes:] == []
    assert code == 1  # a conflict means the real push would not do everything
    assert "dashboard   update     perf " in out
    assert "dashboard   conflict   ovw " in out
    assert "dashboard   unchanged  cost " in out
    assert "dashboard   delete     stale " in out


# -- prune -------------------------------------------------------------------------------------
def test_prune_deletes_exactly_the_stale_managed_dashboards(grafana, project, capsys):
    push_then_undefine(capsys, project, [make_dashboard("old1", "Old one"),
                                         make_dashboard("old2", "Old two")])
    grafana.add_dashboard(make_dashboard("theirs", "Someone else's", tags=["team-a"]))
    grafana.add_dashboard(make_dashboard("untagged", "No tags", tags=[]))
    code, out, _ = run(capsys)  # without --prune nothing is deleted
    assert code == 0
    assert {"old1", "old2", "theirs", "untagged"} <= set(grafana.dashboards)
    assert grafana.count("DELETE", "/api/dashboards/uid/old1") == 0
    code, out, _ = run(capsys, "--prune")
    assert code == 0, out
    deleted = sorted(p for m, p, _ in grafana.calls if m == "DELETE")
    assert deleted == ["/api/dashboards/uid/old1", "/api/dashboards/uid/old2"]
    assert set(grafana.dashboards) == {"ovw", "perf", "cost", "theirs", "untagged"}
    assert "2 deleted" in out


def test_prune_refuses_to_run_with_nothing_defined(grafana, project, capsys):
    for path in (project / "provisioning/dashboards").rglob("*.json"):
        path.unlink()
    grafana.add_dashboard(make_dashboard("old1", "Old one"))
    code, _, err = run(capsys, "--prune")
    assert code == 2
    assert "no compiled dashboards" in err and len(err.strip().splitlines()) == 1
    assert "old1" in grafana.dashboards and grafana.writes() == []


# -- conflicts ---------------------------------------------------------------------------------
def test_ui_edit_is_not_overwritten_without_force(grafana, project, capsys):
    run(capsys)
    grafana.ui_edit("ovw", lambda d: d["panels"][1].update(title="Renamed by Alice"))
    posts = len(dashboard_posts(grafana))
    code, out, err = run(capsys)
    assert code == 1
    assert len(dashboard_posts(grafana)) == posts  # nothing overwritten
    assert grafana.dashboards["ovw"]["dashboard"]["panels"][1]["title"] == "Renamed by Alice"
    line = next(x for x in out.splitlines() if "conflict" in x and "ovw" in x)
    assert "changed in Grafana since the last push" in line and "alice" in line
    # the panel-level difference: Grafana's title → the local one
    assert "Renamed by Alice" in out and "Panel 2" in out
    assert "1 conflict(s) not pushed" in out


def test_ui_edit_is_overwritten_with_force(grafana, project, capsys):
    run(capsys)
    grafana.ui_edit("ovw", lambda d: d["panels"][1].update(title="Renamed by Alice"))
    code, out, _ = run(capsys, "--force")
    assert code == 0, out
    post = dashboard_posts(grafana)[-1]
    assert post["dashboard"]["uid"] == "ovw" and post["overwrite"] is True
    assert grafana.dashboards["ovw"]["dashboard"]["panels"][1]["title"] == "Panel 2"
    assert run(capsys)[0] == 0  # and the next push is clean again
    assert dashboard_posts(grafana)[-1] is post


def test_edit_without_hash_detected_by_updated_by(grafana, project, capsys):
    """A managed dashboard lacking the hash tag: meta.updatedBy vs /api/user login decides."""
    mine = make_dashboard("ovw", "Overview", unit="ms")
    grafana.add_folder("ml-monitoring", "ML monitoring")
    grafana.add_dashboard(mine, folder_uid="ml-monitoring", updated_by="sa-1-ci-push")
    grafana.add_dashboard(make_dashboard("perf", "Perf", unit="ms"), folder_uid="ml-monitoring",
                          updated_by="bob")
    code, out, _ = run(capsys)
    assert code == 1
    assert [p["dashboard"]["uid"] for p in dashboard_posts(grafana)] == ["cost", "ovw"] or \
        sorted(p["dashboard"]["uid"] for p in dashboard_posts(grafana)) == ["cost", "ovw"]
    assert "conflict   perf" in out and "'bob'" in out


def test_unowned_uid_is_a_conflict_without_force(grafana, project, capsys):
    grafana.add_dashboard(make_dashboard("ovw", "Hand-made overview", tags=["team-a"]))
    code, out, _ = run(capsys)
    assert code == 1
    assert grafana.dashboards["ovw"]["dashboard"]["title"] == "Hand-made overview"
    assert "ovw" not in [p["dashboard"]["uid"] for p in dashboard_posts(grafana)]
    line = next(x for x in out.splitlines() if "conflict" in x and "ovw" in x)
    assert "without the managed-by-grafana-sync tag" in line
    assert set(grafana.dashboards) == {"ovw", "perf", "cost"}  # the rest still pushed


def test_unowned_uid_is_overwritten_with_force(grafana, project, capsys):
    grafana.add_dashboard(make_dashboard("ovw", "Hand-made overview", tags=["team-a"]))
    code, out, _ = run(capsys, "--force")
    assert code == 0, out
    stored = grafana.dashboards["ovw"]["dashboard"]
    assert stored["title"] == "Overview" and OWNER_TAG in stored["tags"]


# -- datasource --------------------------------------------------------------------------------
def test_datasource_updated_by_uid_and_left_alone_when_equal(grafana, project, capsys,
                                                             monkeypatch):
    run(capsys)
    assert grafana.count("PUT", "/api/datasources/uid/prometheus") == 0
    monkeypatch.setenv("PROMETHEUS_URL", "http://thanos:10902")
    assert run(capsys)[0] == 0
    assert grafana.count("PUT", "/api/datasources/uid/prometheus") == 1
    assert grafana.datasources["prometheus"]["url"] == "http://thanos:10902"
    run(capsys)
    assert grafana.count("PUT", "/api/datasources/uid/prometheus") == 1


def test_skip_datasource_reads_and_writes_no_datasource(grafana, project, capsys, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_URL")
    code, _, err = run(capsys, "--skip-datasource")
    assert code == 0, err
    assert not [p for _, p, _ in grafana.calls if p.startswith("/api/datasources")]


def test_missing_env_var_is_a_config_error(grafana, project, capsys, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_URL")
    code, out, err = run(capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: {Path('provisioning/datasources/prometheus.yaml').resolve()}: environment "
        "variable PROMETHEUS_URL is not set (referenced as ${PROMETHEUS_URL}); set it, or pass "
        "--skip-datasource to leave datasources alone"]
    assert grafana.calls == []


# -- errors: one line each, the right exit code, and the rest still pushed -----------------------
def test_no_url_is_a_usage_error(project, capsys):
    code, out, err = run(capsys, url="")
    assert code == 2
    assert err == "error: no Grafana URL: give --url URL or set GRAFANA_URL\n"


def test_bad_token(grafana, project, capsys):
    code, out, err = run(capsys, token="glsa_wrong")
    assert code == 1
    assert err == ("error: read the signed-in user: HTTP 401 unauthorized: the token was "
                   "rejected by Grafana\n")
    assert grafana.writes() == []


def test_wrong_sub_path(grafana, project, capsys):
    code, out, err = run(capsys, url=f"{URL}/grafana")
    assert code == 1
    assert err.startswith("error: check Grafana health: HTTP 404 at "
                          "http://grafana.test/grafana/api/health: wrong URL or sub-path")
    assert len(err.splitlines()) == 1


def test_missing_permission_names_the_action(grafana, project, capsys):
    grafana.fail("POST", "/api/folders", 403, {"message": "You'll need additional permissions"})
    code, out, err = run(capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0] == ("error: folder ml-monitoring: HTTP 403 forbidden: the token lacks "
                        "permission to create folder 'ml-monitoring': Grafana says "
                        "\"You'll need additional permissions\"")
    # dashboards of that folder are not saved, the General one is
    assert set(grafana.dashboards) == {"cost"}
    assert any("ovw" in x and "could not be ensured" in x for x in lines)


def test_version_mismatch_412_fails_that_dashboard_only(grafana, project, capsys):
    grafana.fail("POST", "/api/dashboards/db", 412,
                 {"message": "The dashboard has been changed by someone else",
                  "status": "version-mismatch"})
    code, out, err = run(capsys, "--jobs", "1")
    assert code == 1
    failed = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(failed) == 1 and "HTTP 412 version mismatch" in failed[0]
    assert len(grafana.dashboards) == 2  # the other two were pushed
    assert "1 failed" in out


def test_400_shows_grafanas_message(grafana, project, capsys):
    grafana.fail("POST", "/api/dashboards/db", 400,
                 {"message": "Dashboard title cannot be empty", "status": "empty-name"})
    code, _, err = run(capsys, "--jobs", "1")
    assert code == 1
    assert "HTTP 400: Grafana says 'Dashboard title cannot be empty (empty-name)'" in err


def test_422_on_search_during_prune(grafana, project, capsys):
    # both searches fail: the one for the local uids (push then reads each uid instead) and the
    # one for the ownership tag, which prune cannot do without
    grafana.fail("GET", "/api/search", 422, {"message": "invalid search parameters"}, times=2)
    code, _, err = run(capsys, "--prune")
    assert code == 1
    assert err == ("error: search dashboards: HTTP 422: Grafana says "
                   "'invalid search parameters'\n")
    assert grafana.writes() == []  # planning failed: nothing was written


def test_health_503_is_retried_then_succeeds(grafana, project, capsys):
    grafana.fail("GET", "/api/health", 503, {"message": "database is down"})
    code, out, err = run(capsys)
    assert code == 0, err
    assert grafana.count("GET", "/api/health") == 2


def test_get_500_once_is_retried(grafana, project, capsys):
    assert run(capsys)[0] == 0  # ovw exists now: the next push reads it
    reads = grafana.count("GET", "/api/dashboards/uid/ovw")
    grafana.fail("GET", "/api/dashboards/uid/ovw", 500, {"message": "internal"})
    assert run(capsys)[0] == 0
    assert grafana.count("GET", "/api/dashboards/uid/ovw") - reads == 2


def test_500_that_persists_gives_up_after_retries(grafana, project, capsys):
    grafana.fail("GET", "/api/health", 503, {"message": "down"}, times=10)
    code, _, err = run(capsys)
    assert code == 1
    assert err == ("error: check Grafana health: HTTP 503 server error from Grafana "
                   "(after 3 retries): Grafana says 'down'\n")
    assert grafana.count("GET", "/api/health") == 4


def test_post_is_never_retried(grafana, project, capsys):
    grafana.fail("POST", "/api/dashboards/db", 500, {"message": "boom"})
    code, out, err = run(capsys, "--jobs", "1")
    assert code == 1
    assert grafana.count("POST", "/api/dashboards/db") == 3  # 3 dashboards, 1 attempt each
    failed = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(failed) == 1
    assert "HTTP 500 server error from Grafana: Grafana says 'boom'" in failed[0]
    assert "retries" not in failed[0]
    assert len(grafana.dashboards) == 2


def test_plain_lines_when_not_a_terminal(grafana, project, capsys):
    code, out, _ = run(capsys)
    assert code == 0
    created = [x for x in out.splitlines() if x.strip().startswith("created")]
    assert sorted(x.split()[2] for x in created) == ["cost", "ml-monitoring", "ovw", "perf",
                                                     "prometheus"]


# -- commit message ----------------------------------------------------------------------------
def test_default_message_comes_from_git(grafana, project, capsys):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "Add overview dashboard"]):
        subprocess.run(["git", *args], cwd=project, check=True, env={**env, "PATH": "/usr/bin"})
    with pytest.raises(SystemExit):
        main(["push", "--url", URL, "--token", SECRET_TOKEN])
    capsys.readouterr()
    message = dashboard_posts(grafana)[0]["message"]
    assert message.startswith("grafana-sync push ") and message.endswith(
        ": Add overview dashboard")


# -- secrets -----------------------------------------------------------------------------------
def test_secrets_never_in_output_logs_or_errors(contract, project, capsys, caplog, monkeypatch):
    import responses

    password = "pa55w0rd_TOPSECRET_basic"
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PROMETHEUS_URL", "http://prometheus:9090")
    monkeypatch.setenv("DS_PASSWORD", "ds_TOPSECRET_password")  # a datasource secret too
    (project / "provisioning/datasources/secret.yaml").write_text(
        "apiVersion: 1\ndatasources:\n  - name: Secured\n    type: prometheus\n"
        "    uid: secured\n    url: http://p\n    basicAuth: true\n    basicAuthUser: u\n"
        "    secureJsonData:\n      basicAuthPassword: ${DS_PASSWORD}\n")
    seen: list[str] = []
    sent_secrets: list[Any] = []
    scenarios = [
        ("token", None), ("token", ("POST", "/api/dashboards/db", 500)),
        ("token", ("GET", "/api/health", 503)), ("wrong-token", None), ("token-subpath", None),
        ("basic", ("POST", "/api/folders", 403)), ("wrong-basic", None),
        ("token", ("POST", "/api/datasources", 500)),
    ]
    for auth, failure in scenarios:
        fake = FakeGrafana(contract, token=SECRET_TOKEN if "token" in auth else None,
                           basic=("admin", password) if "basic" in auth else None)
        if failure:
            fake.fail(failure[0], failure[1], failure[2], {"message": "nope"}, times=10)
        argv = ["push", "--url", URL + ("/sub" if "subpath" in auth else ""), "--message", "m"]
        if auth in ("token", "token-subpath"):
            argv += ["--token", SECRET_TOKEN]
        elif auth == "wrong-token":
            argv += ["--token", SECRET_TOKEN + "x"]
        elif auth == "basic":
            argv += ["--user", "admin", "--password", password, "--org-id", "3"]
        else:
            argv += ["--user", "admin", "--password", password + "x"]
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake.install(rsps)
            with pytest.raises(SystemExit):
                main(argv)
        assert fake.violations == []
        out, err = capsys.readouterr()
        seen += [out, err]
        sent_secrets.append(fake.secure.get("secured"))
    # credentials in the URL itself, against a closed port (a real connection failure)
    monkeypatch.setattr("grafana_sync.client.DEFAULT_BACKOFF", 0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SystemExit):
        main(["push", "--url", f"http://admin:{password}@127.0.0.1:{port}", "--message", "m"])
    out, err = capsys.readouterr()
    assert "connection refused" in err
    seen += [out, err, caplog.text]
    assert {"basicAuthPassword": "ds_TOPSECRET_password"} in sent_secrets  # it was really used
    text = "\n".join(seen)
    for status in ("HTTP 401", "HTTP 403", "HTTP 404", "HTTP 500", "HTTP 503"):
        assert status in text  # the errors really happened
    assert SECRET_TOKEN not in text and password not in text
    assert "TOPSECRET" not in text


def test_search_pages_are_all_read_for_prune(grafana, project, capsys, monkeypatch):
    monkeypatch.setattr("grafana_sync.client.SEARCH_PAGE_SIZE", 2)
    push_then_undefine(capsys, project, [make_dashboard(f"old{i}", f"Old {i}") for i in range(5)])
    searches = tag_searches(grafana)
    code, out, _ = run(capsys, "--prune")
    assert code == 0, out
    # 8 tagged dashboards (3 defined + 5 stale): pages of 2, 2, 2, 2 hits and an empty one
    assert tag_searches(grafana) - searches == 5
    assert set(grafana.dashboards) == {"ovw", "perf", "cost"}


def test_progress_bar_on_a_terminal(grafana, project, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    code, out, _ = run(capsys)
    assert code == 0
    assert "Pushing" in out  # click.progressbar label
    assert "created   dashboard ovw" in out and "Summary: 3 created" in out


def test_a_dashboard_that_cannot_be_read_fails_alone(grafana, project, capsys):
    assert run(capsys)[0] == 0  # all three exist: the next push reads each one
    write_dashboard(project, "ml/ovw.json", make_dashboard("ovw", "Overview", unit="ms"))
    write_dashboard(project, "ml/perf.json", make_dashboard("perf", "Performance", unit="ms"))
    write_dashboard(project, "cost.json", make_dashboard("cost", "Cost", unit="ms"))
    grafana.fail("GET", "/api/dashboards/uid/perf", 403, {"message": "Access denied"})
    code, out, err = run(capsys)
    assert code == 1
    units = {uid: e["dashboard"]["panels"][0]["fieldConfig"]["defaults"]["unit"]
             for uid, e in grafana.dashboards.items()}
    assert units == {"ovw": "ms", "perf": "s", "cost": "ms"}  # the rest still pushed
    assert err.strip().splitlines() == [
        "error: dashboard perf: HTTP 403 forbidden: the token lacks permission to read dashboard "
        "'perf': Grafana says 'Access denied'"]
    assert "1 failed" in out


def test_datasource_permission_error_does_not_stop_dashboards(grafana, project, capsys):
    grafana.fail("GET", "/api/datasources/uid/prometheus", 403, {"message": "Permission denied"})
    code, out, err = run(capsys)
    assert code == 1
    assert set(grafana.dashboards) == {"ovw", "perf", "cost"}
    assert "error: datasource prometheus: HTTP 403 forbidden: the token lacks permission to " \
           "read datasource 'prometheus'" in err


@pytest.mark.parametrize(("status", "body", "expected"), [
    (412, {"message": "A dashboard with the same name in the folder already exists",
           "status": "name-exists"},
     "save dashboard 'cost': HTTP 412 precondition failed: Grafana says 'A dashboard with the "
     "same name in the folder already exists (name-exists)'"),
    (403, {"message": "Quota reached"},
     "save dashboard 'cost': HTTP 403: Grafana's quota is reached: Grafana says 'Quota reached'"),
])
def test_other_save_refusals_say_what_grafana_said(grafana, project, capsys, status, body,
                                                   expected):
    grafana.fail("POST", "/api/dashboards/db", status, body)
    code, _, err = run(capsys, "--jobs", "1", "--skip-datasource")
    assert code == 1
    assert err.strip().splitlines() == [f"error: dashboard cost: {expected}"]


def test_after_a_push_diff_sees_no_difference(grafana, project, capsys):
    """push's "unchanged" and diff's "no difference" agree (one normaliser, marker stripped)."""
    assert run(capsys)[0] == 0

    def diff() -> int:
        with pytest.raises(SystemExit) as exc:
            main(["diff", "--exit-code", "--url", URL, "--token", SECRET_TOKEN])
        capsys.readouterr()
        return int(exc.value.code or 0)

    assert diff() == 0
    grafana.ui_edit("perf", lambda d: d["panels"][0].update(title="Edited"))
    assert diff() == 1

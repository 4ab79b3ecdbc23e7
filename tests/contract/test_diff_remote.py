"""`grafana-sync diff` against a live Grafana, through `responses`.

Every request and response goes through tests/grafana_fake.py, which validates both against
Grafana's OpenAPI client subset (tests/openapi_contract.py); the `grafana` fixture fails the
test on any violation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.cli import main
from grafana_sync.jsonio import canonical_dumps
from grafana_sync.sync import body_to_push
from tests import grafana_fake
from tests.grafana_fake import SECRET_TOKEN, FakeGrafana
from tests.unit.test_diff_fixtures import base_dashboard, panel

pytestmark = pytest.mark.contract
contract = grafana_fake.contract  # fixtures: the OpenAPI subset and the validated fake
grafana = grafana_fake.grafana


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose compiled dashboards are `infra` and `other`."""
    for dash, folder in ((base_dashboard(), "ml"), (base_dashboard("other", "Other"), "ops")):
        path = tmp_path / "provisioning" / "dashboards" / folder / f"{dash['uid']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(canonical_dumps(dash), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for var in ("GRAFANA_URL", "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def pushed(fake: FakeGrafana, dash: dict[str, Any]) -> None:
    """Put a dashboard in the fake the way `grafana-sync push` leaves it (tags + hash marker)."""
    fake.add_dashboard(body_to_push(dash), updated_by=fake.login)


def run(capsys: pytest.CaptureFixture[str], fake: FakeGrafana, *args: str,
        token: str = SECRET_TOKEN) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["diff", "--url", fake.base_url, "--token", token, *args])
    out, err = capsys.readouterr()
    assert SECRET_TOKEN not in out + err
    return int(exc.value.code or 0), out, err


def test_in_sync_grafana_is_identical(grafana, project, capsys) -> None:
    pushed(grafana, base_dashboard())
    pushed(grafana, base_dashboard("other", "Other"))
    code, out, err = run(capsys, grafana, "--exit-code")
    assert (code, err) == (0, "")
    assert out.startswith("No differences between grafana http://grafana.test and local")
    assert grafana.writes() == []


def test_ui_edit_shows_as_a_change_from_grafana_to_local(grafana, project, capsys) -> None:
    pushed(grafana, base_dashboard())
    pushed(grafana, base_dashboard("other", "Other"))
    grafana.ui_edit("infra", lambda d: panel(d, "p99 latency")["fieldConfig"]["defaults"]
                    .update(unit="ms"))
    code, out, _ = run(capsys, grafana, "--exit-code", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["old"] == "grafana http://grafana.test"
    assert [(d["uid"], e["new"]["title"], f["path"], f["old"], f["new"])
            for d in doc["dashboards"] for e in d["panels"] for f in e["fields"]] == [
        ("infra", "p99 latency", "fieldConfig.defaults.unit", "ms", "s")]
    assert doc["unchanged"] == ["other"]
    assert grafana.writes() == []


def test_which_dashboards_are_compared(grafana, project, capsys) -> None:
    """Managed ones and local uids; unmanaged dashboards nobody defines locally are ignored."""
    pushed(grafana, base_dashboard())
    pushed(grafana, base_dashboard("stale", "Stale"))  # managed, no longer defined: removed
    unmanaged = base_dashboard("someone-elses", "Theirs")
    unmanaged["tags"] = ["team-b"]
    grafana.add_dashboard(unmanaged)
    code, out, _ = run(capsys, grafana, "--format", "json")
    assert code == 0
    statuses = {d["uid"]: d["status"] for d in json.loads(out)["dashboards"]}
    assert statuses == {"other": "added", "stale": "removed"}
    assert json.loads(out)["unchanged"] == ["infra"]
    reads = sorted(p for m, p, _ in grafana.calls if p.startswith("/api/dashboards/uid/"))
    assert reads == ["/api/dashboards/uid/infra", "/api/dashboards/uid/other",
                     "/api/dashboards/uid/stale"]


def test_unmanaged_dashboard_holding_a_local_uid_is_compared(grafana, project, capsys) -> None:
    theirs = base_dashboard("other", "Other")
    theirs["tags"] = ["team-b"]
    grafana.add_dashboard(theirs)
    pushed(grafana, base_dashboard())
    code, out, _ = run(capsys, grafana, "--format", "json")
    (dash,) = json.loads(out)["dashboards"]
    assert dash["uid"] == "other" and dash["changes"] == [{
        "path": "tags", "change": "changed", "old": ["team-b"],
        "new": ["infrastructure", "managed-by-grafana-sync", "ml-monitoring"]}]


def test_markdown_against_grafana(grafana, project, capsys) -> None:
    pushed(grafana, base_dashboard("other", "Other"))
    code, out, _ = run(capsys, grafana, "--format", "markdown")
    assert code == 0
    assert "### Infrastructure (`infra`): added" in out
    assert "New dashboard with 3 panels." in out


def test_bad_token_is_one_line_exit_1(grafana, project, capsys) -> None:
    code, out, err = run(capsys, grafana, token="wrong-token")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "401" in err and "wrong-token" not in err


def test_server_error_is_one_line(grafana, project, capsys) -> None:
    grafana.fail("GET", "/api/search", 500, {"message": "boom"}, times=10)
    code, _, err = run(capsys, grafana)
    assert code == 1 and err.count("\n") == 1 and "HTTP 500" in err


def test_credentials_in_the_url_are_not_printed(grafana, project, capsys, monkeypatch) -> None:
    pushed(grafana, base_dashboard())
    pushed(grafana, base_dashboard("other", "Other"))
    with pytest.raises(SystemExit):
        main(["diff", "--url", "http://admin:hunter2@grafana.test", "--token", SECRET_TOKEN])
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err and "No differences" in out

"""GrafanaClient methods one by one through the OpenAPI-validated fake."""

from __future__ import annotations

import pytest
import responses

from grafana_sync.client import GrafanaClient
from grafana_sync.connection import ConnectionSettings
from grafana_sync.errors import GrafanaError
from tests import grafana_fake
from tests.grafana_fake import SECRET_TOKEN, FakeGrafana

contract = grafana_fake.contract  # fixtures
grafana = grafana_fake.grafana


def make_client(url: str = "http://grafana.test") -> GrafanaClient:
    return GrafanaClient(ConnectionSettings(url=url, token=SECRET_TOKEN), backoff_factor=0)


def dash(uid: str, tags: list[str]) -> dict:
    return {"uid": uid, "title": uid.upper(), "tags": tags, "panels": [],
            "schemaVersion": 39, "templating": {"list": []}, "annotations": {"list": []}}


def test_dashboards_round_trip(grafana):
    c = make_client()
    assert c.get_dashboard("nope") is None
    grafana.add_folder("f", "F")
    saved = c.save_dashboard(dash("a", ["x"]), folder_uid="f", message="m")
    assert saved["status"] == "success" and saved["version"] == 1
    got = c.get_dashboard("a")
    assert got["dashboard"]["title"] == "A" and got["meta"]["folderUid"] == "f"
    assert c.delete_dashboard("a") is True
    assert c.delete_dashboard("a") is False  # already gone: not an error


def test_search_by_tag_and_repeated_folder_uids(grafana):
    for uid, folder in (("a", "f1"), ("b", "f2"), ("c", "f3")):
        grafana.add_folder(folder, folder.upper())
        grafana.add_dashboard(dash(uid, ["t"]), folder_uid=folder)
    grafana.add_dashboard(dash("d", ["other"]), folder_uid="f1")
    c = make_client()
    hits = c.search_dashboards(tag="t", folder_uids=["f1", "f2"])
    assert sorted(h["uid"] for h in hits) == ["a", "b"]
    [url] = [u for u in grafana.urls if "/api/search" in u]
    assert "tag=t" in url and "folderUIDs=f1&folderUIDs=f2" in url  # repeated keys


def test_folders_and_datasources(grafana):
    c = make_client()
    assert c.get_folder("f") is None
    assert c.create_folder("f", "Folder")["uid"] == "f"
    assert c.update_folder("f", "Renamed", 1)["title"] == "Renamed"
    assert c.get_datasource("p") is None and c.get_datasource_by_name("P") is None
    body = {"name": "P", "type": "prometheus", "uid": "p", "access": "proxy", "url": "http://x"}
    assert c.create_datasource(body)["datasource"]["uid"] == "p"
    assert c.update_datasource("p", {**body, "url": "http://y"})["datasource"]["url"] == "http://y"
    assert c.get_datasource_by_name("P")["uid"] == "p"


def test_current_user_and_its_absence(contract):
    for status, expected in ((200, "sa-1-ci-push"), (404, None)):
        fake = FakeGrafana(contract, token=SECRET_TOKEN, user_status=status)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake.install(rsps)
            user = make_client().current_user()
        assert (user or {}).get("login") == expected
        assert fake.violations == []


def test_health_rejects_a_non_grafana_json_answer(grafana):
    grafana.fail("GET", "/api/health", 200, {})
    with pytest.raises(GrafanaError) as exc:
        make_client().health()
    assert "did not answer like Grafana" in str(exc.value)

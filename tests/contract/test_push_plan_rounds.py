"""Push plans from fewer round trips (issue #18): the same decisions and the same requests sent.

The reference below is the planner as it was before, written out: health, user, each folder,
each datasource, then a GET for EVERY local uid and, with prune, the ownership-tag search and a
GET per candidate; content compared as `content_equal(grafana, body_to_push(local))`. The
planner under test reads health, user, folders, datasources and a search for the local uids in
one round, creates the uids that search does not list without reading them, reads the rest
concurrently and compares with a fast path first.

Both run against identical OpenAPI-validated fake Grafanas holding every kind of dashboard push
meets (unchanged, noisy, UI-edited, unowned, unmarked, provisioned, moved, absent, changed
locally; stale, edited, "Save as" copies and provisioned ones for prune). The plans must be
equal field for field (action, reason, diff, version read, forced) for every combination of
--force and --prune, and applying them must send the same writes with byte-identical bodies.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import responses

from grafana_sync import sync
from grafana_sync.client import GrafanaClient
from grafana_sync.connection import ConnectionSettings
from grafana_sync.errors import GrafanaError
from grafana_sync.model import content_equal as model_content_equal
from grafana_sync.provisioning import Folder
from grafana_sync.sync import (
    FAILED,
    OWNER_TAG,
    DashboardPlan,
    LocalDashboard,
    Plan,
    apply_plan,
    body_to_push,
    plan_dashboard,
    plan_folders,
    plan_prune_candidate,
    plan_push,
    strip_push_marker,
)
from tests import grafana_fake
from tests.contract.test_push_cli import make_dashboard
from tests.grafana_fake import SECRET_TOKEN, FakeGrafana
from tests.openapi_contract import OpenAPIContract

contract = grafana_fake.contract  # fixture

URL = "http://grafana.test"
LOGIN = "sa-1-ci-push"
ML = Folder("ml-monitoring", "ML monitoring")
OPS = Folder("ops", "Operations")


def _local() -> list[LocalDashboard]:
    def one(uid: str, folder: Folder | None = ML, **kw: Any) -> LocalDashboard:
        dash = make_dashboard(uid, uid.title(), **kw)
        return LocalDashboard(uid=uid, title=dash["title"], path=Path(f"{uid}.json"),
                              folder=folder, dashboard=dash)

    typed = one("typed")
    typed.dashboard["editable"] = True
    return [one("same"), one("noisy"), one("edited"), one("unowned"), one("mine", unit="ms"),
            one("bobs", unit="ms"), one("provsame"), one("provdiff", unit="ms"), one("moved"),
            one("new"), one("new2", folder=OPS), one("changed", unit="ms"), typed,
            one("general", folder=None)]


def _grafana(fake: FakeGrafana) -> None:
    """Grafana as several earlier pushes, UI edits and other people left it."""
    fake.add_folder("ml-monitoring", "Old title")  # OPS is absent: created
    pushed = {d.uid: body_to_push(make_dashboard(d.uid, d.title)) for d in _local()}

    def put(uid: str, body: dict[str, Any], folder: str = "ml-monitoring", *,
            by: str = LOGIN, provisioned: bool = False) -> None:
        fake.add_dashboard(body, folder_uid=folder, updated_by=by, provisioned=provisioned)

    for uid in ("same", "edited", "changed", "general"):
        put(uid, pushed[uid], "" if uid == "general" else "ml-monitoring")
    noisy = copy.deepcopy(pushed["noisy"])
    noisy.update(schemaVersion=41, graphTooltip=0, tags=list(reversed(noisy["tags"])))
    for panel in noisy["panels"]:
        panel["pluginVersion"] = "11.4.0"
    put("noisy", noisy)
    typed = copy.deepcopy(pushed["typed"])
    typed["editable"] = 1  # == True: equal under Python's ==, and to the normaliser
    put("typed", typed)
    fake.ui_edit("edited", lambda d: d["panels"][0].update(title="Renamed by Alice"))
    put("unowned", make_dashboard("unowned", "Hand-made", tags=["team-a"]))
    put("mine", strip_push_marker(pushed["mine"]))  # no marker: updatedBy decides
    put("bobs", strip_push_marker(pushed["bobs"]), by="bob")
    put("provsame", pushed["provsame"], provisioned=True)
    put("provdiff", pushed["provdiff"], provisioned=True)
    put("moved", pushed["moved"], folder="")
    # prune candidates: no local file defines them
    for uid in ("stale", "staleedit", "staleprov"):
        put(uid, body_to_push(make_dashboard(uid, uid.title())), provisioned=uid == "staleprov")
    fake.ui_edit("staleedit", lambda d: d.update(description="kept by Alice"))
    fake.save_as("same", "copyofsame", title="Same (copy)")
    put("theirs", make_dashboard("theirs", "Theirs", tags=["team-b"]))


def reference_plan(client: GrafanaClient, local: list[LocalDashboard], *, force: bool,
                   prune: bool, monkeypatch: pytest.MonkeyPatch) -> Plan:
    """The planner before issue #18's round-trip work, written out."""
    client.health()
    login = (client.current_user() or {}).get("login")
    identity = login if isinstance(login, str) else None
    plan = Plan()
    plan.folders = plan_folders(client, [d.folder for d in local if d.folder])
    plan.datasources = []  # none in this project (datasource planning itself is unchanged)
    with monkeypatch.context() as m:  # the comparison as it was: content_equal of the pushed body
        m.setattr(sync, "same_content_as_pushed",
                  lambda g, loc: model_content_equal(strip_push_marker(g),
                                                     strip_push_marker(body_to_push(loc))))
        for dash in local:
            try:
                remote = client.get_dashboard(dash.uid)
            except GrafanaError as exc:
                plan.dashboards.append(DashboardPlan(uid=dash.uid, title=dash.title,
                                                     action=FAILED, folder=dash.folder,
                                                     reason=str(exc)))
                continue
            plan.dashboards.append(plan_dashboard(dash, remote, identity=identity, force=force))
    if prune:
        defined = {d.uid for d in local}
        for uid in sorted({h["uid"] for h in client.search_dashboards(tag=OWNER_TAG)
                           if h["uid"] not in defined}):
            item = plan_prune_candidate(uid, client.get_dashboard(uid), force=force)
            if item is not None:
                plan.dashboards.append(item)
    return plan


def _run(contract: OpenAPIContract, planner: Callable[[GrafanaClient], Plan]
         ) -> tuple[Plan, FakeGrafana]:
    fake = FakeGrafana(contract, token=SECRET_TOKEN, login=LOGIN)
    _grafana(fake)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        client = GrafanaClient(ConnectionSettings(url=URL, token=SECRET_TOKEN))
        try:
            plan = planner(client)
            reads = len(fake.calls)
            apply_plan(client, plan, message="m", jobs=1)
        finally:
            client.close()
    assert fake.violations == [], fake.violations
    fake.calls_while_planning = reads  # type: ignore[attr-defined]
    return plan, fake


def _writes(fake: FakeGrafana) -> list[str]:
    """Every write sent, bodies as sent (canonical JSON), in a stable order."""
    return sorted(f"{m} {p} {json.dumps(b, sort_keys=True)}" for m, p, b in fake.calls
                  if m != "GET")


@pytest.mark.parametrize("prune", [False, True], ids=["no-prune", "prune"])
@pytest.mark.parametrize("force", [False, True], ids=["no-force", "force"])
def test_same_plan_and_same_writes_as_reading_every_uid(contract, monkeypatch, force, prune):
    local = _local()
    ref_plan, ref = _run(contract, lambda c: reference_plan(c, local, force=force, prune=prune,
                                                            monkeypatch=monkeypatch))
    new_plan, new = _run(contract, lambda c: plan_push(c, local, [], force=force, prune=prune))

    assert new_plan.folders == ref_plan.folders
    assert new_plan.datasources == ref_plan.datasources == []
    assert [d.uid for d in new_plan.dashboards] == [d.uid for d in ref_plan.dashboards]
    for ours, theirs in zip(new_plan.dashboards, ref_plan.dashboards, strict=True):
        assert ours == theirs, ours.uid  # action, reason, diff, version read, forced, folder
    # the scenarios really cover every decision
    actions = {d.uid: d.action for d in new_plan.dashboards}
    assert actions["same"] == actions["noisy"] == actions["typed"] == "unchanged"
    assert actions["new"] == actions["new2"] == "create"
    assert actions["changed"] == actions["moved"] == actions["mine"] == "update"
    assert actions["edited"] == actions["bobs"] == actions["unowned"] == (
        "update" if force else "conflict")
    assert actions["provdiff"] == "conflict" and actions["provsame"] == "unchanged"
    if prune:
        assert actions["stale"] == "delete" and actions["staleprov"] == "conflict"
        assert actions["staleedit"] == actions["copyofsame"] == ("delete" if force else "conflict")
        assert "theirs" not in actions

    assert _writes(new) == _writes(ref)  # same writes, byte-identical bodies
    assert {u: strip_ids(e) for u, e in new.dashboards.items()} == \
        {u: strip_ids(e) for u, e in ref.dashboards.items()}

    # fewer reads: absent uids are not read, everything that exists is read once
    for uid in ("new", "new2"):
        assert ref.count("GET", f"/api/dashboards/uid/{uid}") == 1
        assert new.count("GET", f"/api/dashboards/uid/{uid}") == 0
    for uid in ("same", "edited", "unowned", "moved"):
        assert new.count("GET", f"/api/dashboards/uid/{uid}") == 1
    assert new.calls_while_planning == ref.calls_while_planning - 2 + 1  # +1 presence search


def strip_ids(entry: dict[str, Any]) -> dict[str, Any]:
    dash = dict(entry["dashboard"], id=None)
    return {"dashboard": dash, "meta": entry["meta"]}


def test_unlisted_uid_that_exists_is_refused_not_overwritten(contract):
    """A uid the search does not list (no permission to see it, a lagging index) is planned as a
    creation: the save carries no version and overwrite false, so Grafana refuses it (412) and
    the dashboard already there is left as it was."""
    local = [d for d in _local() if d.uid == "new"]
    fake = FakeGrafana(contract, token=SECRET_TOKEN, login=LOGIN)
    theirs = make_dashboard("new", "Someone else's", tags=["team-a"])
    fake.add_dashboard(theirs)
    fake.add_folder("ml-monitoring", "ML monitoring")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        original = fake._search
        fake._search = lambda q: [h for h in original(q) if h["uid"] != "new"]  # hidden
        client = GrafanaClient(ConnectionSettings(url=URL, token=SECRET_TOKEN))
        try:
            plan = plan_push(client, local, [])
            assert [d.action for d in plan.dashboards] == ["create"]
            outcomes = apply_plan(client, plan, message="m")
        finally:
            client.close()
    assert fake.violations == []
    failed = [o for o in outcomes if o.kind == "dashboard"]
    assert len(failed) == 1 and failed[0].failed and "HTTP 412" in failed[0].detail
    post = next(b for m, p, b in fake.calls if m == "POST" and p == "/api/dashboards/db")
    assert post["overwrite"] is False and "version" not in post["dashboard"]
    assert fake.dashboards["new"]["dashboard"]["title"] == "Someone else's"


def test_failed_presence_search_reads_every_uid(contract):
    """Without --prune the uid search is only a shortcut: when it fails, each uid is read."""
    local = _local()
    fake = FakeGrafana(contract, token=SECRET_TOKEN, login=LOGIN)
    _grafana(fake)
    fake.fail("GET", "/api/search", 500, {"message": "search index down"}, times=10)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        client = GrafanaClient(ConnectionSettings(url=URL, token=SECRET_TOKEN), backoff_factor=0)
        try:
            plan = plan_push(client, local, [])
        finally:
            client.close()
    assert fake.violations == []
    assert fake.count("GET", "/api/search") == 4  # one call, three retries
    for dash in local:
        assert fake.count("GET", f"/api/dashboards/uid/{dash.uid}") == 1
    actions = {d.uid: d.action for d in plan.dashboards}
    assert actions["new"] == "create" and actions["same"] == "unchanged"
    assert actions["edited"] == "conflict"


def test_presence_search_sends_uids_as_repeated_keys_in_chunks(contract, monkeypatch):
    monkeypatch.setattr(sync, "SEARCH_UIDS_PER_REQUEST", 5)
    local = _local()  # 14 uids: searches of 5, 5 and 4
    fake = FakeGrafana(contract, token=SECRET_TOKEN, login=LOGIN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        client = GrafanaClient(ConnectionSettings(url=URL, token=SECRET_TOKEN))
        try:
            plan_push(client, local, [])
        finally:
            client.close()
    assert fake.violations == []  # repeated keys: the contract checker refuses commas
    from urllib.parse import parse_qs, urlsplit

    searched = [parse_qs(urlsplit(u).query)["dashboardUIDs"] for u in fake.urls
                if "/api/search?" in u]
    assert sorted(len(s) for s in searched) == [4, 5, 5]
    assert sorted(u for s in searched for u in s) == sorted(d.uid for d in local)
    assert fake.count("GET", "/api/dashboards/uid/same") == 0  # empty Grafana: nothing read

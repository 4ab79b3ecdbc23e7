"""Plan decisions, ownership marker and content comparison (pure functions, no HTTP)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.commands.push import default_message
from grafana_sync.provisioning import Folder
from grafana_sync.sync import (
    CONFLICT,
    CREATE,
    HASH_TAG_PREFIX,
    OWNER_TAG,
    UNCHANGED,
    UPDATE,
    LocalDashboard,
    body_to_push,
    content_equal,
    content_hash,
    panel_diff_text,
    plan_dashboard,
    push_marker,
    strip_push_marker,
)


def dash(title: str = "Overview", unit: str = "s", tags: list[str] | None = None) -> dict[str, Any]:
    return {"uid": "ovw", "title": title, "schemaVersion": 39,
            "tags": ["ml-monitoring", OWNER_TAG] if tags is None else tags,
            "templating": {"list": []}, "annotations": {"list": []},
            "panels": [{"id": 1, "type": "stat", "title": "Requests",
                        "gridPos": {"x": 0, "y": 0, "w": 12, "h": 6},
                        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                        "targets": [{"refId": "A", "expr": "sum(up)"}]}]}


ML = Folder("ml", "ML")


def local(d: dict[str, Any], folder: Folder | None = ML) -> LocalDashboard:
    return LocalDashboard(uid=d["uid"], title=d["title"], path=Path("x.json"), folder=folder,
                          dashboard=d)


def in_grafana(pushed: dict[str, Any], *, folder_uid: str = "ml", updated_by: str = "sa-ci",
               version: int = 3, provisioned: bool = False) -> dict[str, Any]:
    """What GET /api/dashboards/uid answers after a save of `pushed`."""
    stored = copy.deepcopy(pushed)
    stored.update(id=42, version=version)
    return {"dashboard": stored, "meta": {"folderUid": folder_uid, "updatedBy": updated_by,
                                          "version": version, "provisioned": provisioned,
                                          "updated": "2026-01-01T00:00:00Z"}}


# -- marker and hashing ------------------------------------------------------------------------
def test_body_to_push_marks_ownership_and_hash_and_drops_bookkeeping():
    d = dash(tags=["ml-monitoring"])
    d.update(id=7, version=9)
    body = body_to_push(d)
    assert "id" not in body and "version" not in body
    assert body["tags"][:2] == ["ml-monitoring", OWNER_TAG]
    assert push_marker(body) == content_hash(body) and len(push_marker(body)) == 16
    assert body_to_push(body) == body  # idempotent
    assert d["tags"] == ["ml-monitoring"] and d["id"] == 7  # input untouched


def test_hash_ignores_bookkeeping_but_not_content():
    base = body_to_push(dash())
    noisy = copy.deepcopy(base)
    noisy.update(id=5, version=12, iteration=1700000000)
    noisy["tags"] = [t for t in noisy["tags"] if not t.startswith(HASH_TAG_PREFIX)]
    assert content_hash(noisy) == content_hash(base)
    changed = copy.deepcopy(base)
    changed["panels"][0]["targets"][0]["expr"] = "sum(up{job='x'})"
    assert content_hash(changed) != content_hash(base)
    assert not content_equal(changed, base) and content_equal(noisy, base)


def test_strip_push_marker_keeps_other_tags():
    body = body_to_push(dash())
    assert strip_push_marker(body)["tags"] == ["ml-monitoring", OWNER_TAG]
    assert push_marker(strip_push_marker(body)) is None


# -- plan decisions ----------------------------------------------------------------------------
def test_absent_is_created():
    assert plan_dashboard(local(dash()), None, identity="sa-ci", force=False).action == CREATE


def test_equal_content_in_same_folder_is_unchanged_even_if_versions_differ():
    remote = in_grafana(body_to_push(dash()), version=17, updated_by="bob")
    assert plan_dashboard(local(dash()), remote, identity="sa-ci", force=False).action \
        == UNCHANGED


def test_local_change_over_untouched_push_is_an_update_with_the_read_version():
    remote = in_grafana(body_to_push(dash()), version=4)
    plan = plan_dashboard(local(dash(unit="ms")), remote, identity="sa-ci", force=False)
    assert (plan.action, plan.remote_version, plan.forced) == (UPDATE, 4, False)


def test_folder_move_alone_is_an_update():
    remote = in_grafana(body_to_push(dash()), folder_uid="")
    plan = plan_dashboard(local(dash()), remote, identity="sa-ci", force=False)
    assert plan.action == UPDATE and "move from folder 'General'" in plan.reason


def test_edit_in_grafana_is_a_conflict_with_the_panel_diff():
    pushed = body_to_push(dash())
    remote = in_grafana(pushed, updated_by="alice")
    remote["dashboard"]["panels"][0]["title"] = "Requests (edited)"
    plan = plan_dashboard(local(dash()), remote, identity="sa-ci", force=False)
    assert plan.action == CONFLICT
    assert "changed in Grafana since the last push" in plan.reason and "'alice'" in plan.reason
    assert "Requests (edited)" in plan.diff and "title" in plan.diff


def test_edit_in_grafana_is_overwritten_with_force():
    remote = in_grafana(body_to_push(dash()), updated_by="alice")
    remote["dashboard"]["panels"][0]["title"] = "Requests (edited)"
    plan = plan_dashboard(local(dash()), remote, identity="sa-ci", force=True)
    assert (plan.action, plan.forced) == (UPDATE, True)


def test_edit_by_the_tool_elsewhere_with_matching_hash_is_not_a_conflict():
    """Another pipeline of grafana-sync (other login) pushed: its hash still matches."""
    remote = in_grafana(body_to_push(dash(unit="ms")), updated_by="sa-other-pipeline")
    assert plan_dashboard(local(dash()), remote, identity="sa-ci", force=False).action == UPDATE


@pytest.mark.parametrize(("updated_by", "identity", "expected"), [
    ("sa-ci", "sa-ci", UPDATE),      # no hash, but we saved it last
    ("bob", "sa-ci", CONFLICT),      # no hash, saved by someone else
    ("sa-ci", None, CONFLICT),       # no hash, and we do not know who we are: be safe
])
def test_without_hash_updated_by_decides(updated_by, identity, expected):
    remote = in_grafana(strip_push_marker(body_to_push(dash())), updated_by=updated_by)
    plan = plan_dashboard(local(dash(unit="ms")), remote, identity=identity, force=False)
    assert plan.action == expected


def test_unowned_uid_is_a_conflict_unless_forced():
    remote = in_grafana(dash(tags=["team-a"]), updated_by="sa-ci")
    plan = plan_dashboard(local(dash()), remote, identity="sa-ci", force=False)
    assert plan.action == CONFLICT and "without the managed-by-grafana-sync tag" in plan.reason
    forced = plan_dashboard(local(dash()), remote, identity="sa-ci", force=True)
    assert (forced.action, forced.forced) == (UPDATE, True)


def test_provisioned_dashboard_is_a_conflict_even_with_force():
    remote = in_grafana(body_to_push(dash()), provisioned=True)
    plan = plan_dashboard(local(dash(unit="ms")), remote, identity="sa-ci", force=True)
    assert plan.action == CONFLICT and "provisioned" in plan.reason


def test_panel_diff_names_the_changed_field():
    text = panel_diff_text("ovw", body_to_push(dash()), dash(unit="ms"))
    assert "'Requests'" in text and "fieldConfig.defaults.unit" in text
    assert re.search(r"""["']s["'] → ["']ms["']""", text)


def test_default_message_outside_git(tmp_path):
    assert default_message(tmp_path) == "grafana-sync push"

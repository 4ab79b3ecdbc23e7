"""Prune deletes only what it can prove it pushed; push validates its input before any request.

Issue #12 items 1, 4 and 5, driven through the real CLI against the OpenAPI-checked fake Grafana:
a dashboard edited in the UI after the last push, a "Save as" copy carrying the same tags, a
dashboard someone tagged by hand: none is deleted by `push --prune` without `--force`, each is a
conflict shown with its diff.
"""

from __future__ import annotations

import json

from tests import grafana_fake
from tests.contract import test_push_cli
from tests.contract.test_push_cli import (
    make_dashboard,
    push_then_undefine,
    run,
    write_dashboard,
)
from tests.grafana_fake import FakeGrafana

contract = grafana_fake.contract  # fixtures
grafana = grafana_fake.grafana
project = test_push_cli.project


def deletes(fake: FakeGrafana) -> list[str]:
    return [p.rsplit("/", 1)[-1] for m, p, _ in fake.calls if m == "DELETE"]


def test_prune_keeps_a_dashboard_edited_in_the_ui_after_the_last_push(grafana, project, capsys):
    push_then_undefine(capsys, project, [make_dashboard("old", "Old")])
    grafana.ui_edit("old", lambda d: d["panels"][1].update(title="Alice's fix"), user="alice")
    code, out, err = run(capsys, "--prune")
    assert code == 1, out + err
    assert deletes(grafana) == []
    assert "old" in grafana.dashboards
    assert "dashboard   conflict   old 'Old'" in out
    assert "changed in Grafana since the last push" in out and "'alice'" in out
    assert "Alice's fix" in out  # the diff names what would be lost
    assert "not pushed because of conflicts: old" in err
    # --force is the only way to delete it
    code, out, err = run(capsys, "--prune", "--force")
    assert code == 0, out + err
    assert deletes(grafana) == ["old"] and "old" not in grafana.dashboards


def test_prune_keeps_a_save_as_copy_with_the_same_tags(grafana, project, capsys):
    push_then_undefine(capsys, project, [make_dashboard("old", "Old")])
    grafana.save_as("ovw", "ovw-copy", title="Overview Copy", user="bob")
    grafana.save_as("old", "old-copy", user="bob")  # same title and content, other uid
    tags = grafana.dashboards["ovw-copy"]["dashboard"]["tags"]
    assert any(t.startswith("grafana-sync-hash:") for t in tags)  # the copy carries the marker
    code, out, _ = run(capsys, "--prune")
    assert code == 1
    assert deletes(grafana) == ["old"]  # the original was proven ours; the copies were not
    assert {"ovw-copy", "old-copy"} <= set(grafana.dashboards)
    for uid in ("ovw-copy", "old-copy"):
        line = next(line for line in out.splitlines() if f"conflict   {uid} " in line)
        assert "Save as" in line and "created by 'bob'" in line
    assert "dashboard 'Overview Copy' (ovw-copy) removed" in out  # its diff


def test_prune_keeps_a_dashboard_tagged_by_hand(grafana, project, capsys):
    grafana.add_dashboard(make_dashboard("tagged", "Tagged by hand"), updated_by="carol")
    code, out, _ = run(capsys, "--dry-run", "--prune")
    assert code == 1 and grafana.writes() == []
    assert "conflict   tagged 'Tagged by hand': no push marker" in out
    code, out, _ = run(capsys, "--prune")
    assert code == 1 and "tagged" in grafana.dashboards and deletes(grafana) == []


def test_prune_marker_copied_onto_another_dashboard_proves_nothing(grafana, project, capsys):
    """A marker is bound to the uid it was pushed under: pasting it elsewhere proves nothing."""
    push_then_undefine(capsys, project, [make_dashboard("old", "Old")])
    pushed = grafana.dashboards["old"]["dashboard"]
    forged = {**make_dashboard("other", "Old"), "tags": list(pushed["tags"])}
    forged["panels"] = json.loads(json.dumps(pushed["panels"]))
    grafana.add_dashboard(forged, updated_by="sa-1-ci-push")
    code, out, _ = run(capsys, "--prune")
    assert code == 1
    assert deletes(grafana) == ["old"] and "other" in grafana.dashboards


def test_dry_run_prune_lists_deletes_and_conflicts_and_changes_nothing(grafana, project, capsys):
    push_then_undefine(capsys, project, [make_dashboard("gone", "Gone"),
                                         make_dashboard("edited", "Edited")])
    grafana.ui_edit("edited", lambda d: d.update(title="Edited in UI"))
    before = len(grafana.calls)
    code, out, _ = run(capsys, "--dry-run", "--prune")
    assert code == 1
    assert all(m == "GET" for m, _, _ in grafana.calls[before:])
    assert "dashboard   delete     gone 'Gone'" in out
    assert "dashboard   conflict   edited 'Edited in UI'" in out
    assert "1 to delete" in out


# -- push validates its input before the first request (items 4 and 5) --------------------------
def test_push_refuses_a_uid_with_a_trailing_newline_before_any_request(grafana, project, capsys):
    write_dashboard(project, "bad.json", make_dashboard("abc\n", "Bad uid"))
    code, out, err = run(capsys)
    assert code == 2
    assert grafana.calls == []  # not even /api/health
    assert err.count("\n") == 1 and "bad.json" in err and "'abc\\n'" in err


def test_push_refuses_non_finite_numbers_before_any_request(grafana, project, capsys):
    path = project / "provisioning" / "dashboards" / "cost.json"
    path.write_text(path.read_text().replace('"unit": "s"', '"unit": "s", "min": NaN', 1))
    code, out, err = run(capsys)
    assert code == 2
    assert grafana.calls == []
    assert err.count("\n") == 1 and "cost.json" in err and "panels[0].fieldConfig.defaults.min" in err


def test_push_refuses_an_invalid_provider_folder_uid(grafana, project, capsys):
    providers = project / "provisioning" / "dashboards" / "ml.yaml"
    providers.write_text(providers.read_text().replace("folderUid: ml-monitoring",
                                                       'folderUid: "ml\\n"'))
    code, _, err = run(capsys)
    assert code == 2 and grafana.calls == []
    assert "ml.yaml" in err and "folderUid" in err

"""Push planning normalises each side once (perf, issue #18): same bodies, same decisions.

The reference below is the previous implementation, written out: `body_to_push` must give
byte-identical JSON, and `plan_dashboard` the same action as comparing with
`content_equal(grafana, body_to_push(local))`, on every compiled dashboard of this repository
and on Grafana-side variants: unchanged, noisy, edited in the UI (marker kept), no marker."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.model import normalise_for_compare
from grafana_sync.sync import (
    CONFLICT,
    HASH_LENGTH,
    HASH_TAG_PREFIX,
    OWNER_TAG,
    UNCHANGED,
    UPDATE,
    LocalDashboard,
    body_to_push,
    content_equal,
    plan_dashboard,
    strip_push_marker,
)

REPO = Path(__file__).resolve().parents[2]
COMPILED = sorted(p for p in (REPO / "provisioning" / "dashboards").rglob("*.json"))


def reference_body(local: dict[str, Any]) -> dict[str, Any]:
    """body_to_push as it was before (normalise + hash the marked-less body separately)."""
    dash = strip_push_marker(local)
    for key in ("id", "version"):
        dash.pop(key, None)
    tags = [t for t in dash.get("tags") or [] if isinstance(t, str)]
    if OWNER_TAG not in tags:
        tags.append(OWNER_TAG)
    dash["tags"] = tags
    content = normalise_for_compare(strip_push_marker(dash))
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    dash["tags"] = [*tags, HASH_TAG_PREFIX + digest]
    return dash


def compiled() -> list[dict[str, Any]]:
    """Every compiled dashboard, and each once more as a hand-written file could be: without
    the ownership tag, with Grafana's bookkeeping (id, version) and a stale push marker."""
    out = [json.loads(p.read_text(encoding="utf-8")) for p in COMPILED]
    out = [d for d in out if isinstance(d, dict) and d.get("uid")]
    bare = [dict(d, id=5, version=9, tags=[t for t in d.get("tags") or [] if t != OWNER_TAG]
                 + [HASH_TAG_PREFIX + "0" * HASH_LENGTH]) for d in out]
    return out + bare


def remote(body: dict[str, Any], updated_by: str = "sa-ci") -> dict[str, Any]:
    stored = copy.deepcopy(body)
    stored.update(id=42, version=3)
    return {"dashboard": stored, "meta": {"folderUid": "", "updatedBy": updated_by,
                                          "version": 3}}


def test_there_are_compiled_dashboards() -> None:
    assert len(compiled()) >= 5


@pytest.mark.parametrize("dash", compiled(), ids=lambda d: d["uid"] + ("-bare" if "id" in d else ""))
def test_body_to_push_is_byte_identical_to_the_reference(dash: dict[str, Any]) -> None:
    before = json.dumps(dash, sort_keys=True)
    ours, theirs = body_to_push(dash), reference_body(dash)
    assert json.dumps(ours) == json.dumps(theirs)  # same keys, same order, same values
    assert json.dumps(dash, sort_keys=True) == before  # the local dashboard is left intact


@pytest.mark.parametrize("dash", compiled(), ids=lambda d: d["uid"] + ("-bare" if "id" in d else ""))
def test_plan_matches_the_reference_comparison(dash: dict[str, Any]) -> None:
    local = LocalDashboard(uid=dash["uid"], title=dash["title"], path=Path("x.json"),
                           folder=None, dashboard=dash)
    body = reference_body(dash)

    same = remote(body)
    noisy = remote(body)
    noisy["dashboard"]["tags"] = list(reversed(noisy["dashboard"]["tags"]))
    noisy["dashboard"]["gnetId"] = None
    edited = remote(body, updated_by="alice")  # UI edit: content changed, marker kept
    edited["dashboard"]["title"] = dash["title"] + " (edited)"
    unmarked = remote(strip_push_marker(body), updated_by="alice")
    unmarked["dashboard"]["description"] = "changed by hand"

    expected = {id(same): UNCHANGED, id(noisy): UNCHANGED, id(edited): CONFLICT,
                id(unmarked): CONFLICT}
    for case in (same, noisy, edited, unmarked):
        reference_same = content_equal(case["dashboard"], body)
        plan = plan_dashboard(local, case, identity="sa-ci", force=False)
        assert (plan.action == UNCHANGED) == reference_same
        assert plan.action == expected[id(case)], plan.reason

    changed_local = dict(dash, title=dash["title"] + " v2")
    plan = plan_dashboard(LocalDashboard(uid=dash["uid"], title=changed_local["title"],
                                         path=Path("x.json"), folder=None,
                                         dashboard=changed_local),
                          same, identity="sa-ci", force=False)
    assert plan.action == UPDATE and plan.reason == "content changed"

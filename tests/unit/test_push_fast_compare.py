"""The fast path of push's comparison (issue #18) never changes a decision.

`equal_apart_from_noise_keys(a, b)` is only a sufficient condition for `content_equal(a, b)`;
`same_content_as_pushed(grafana, local)` must answer exactly `content_equal(grafana,
body_to_push(local))`, the comparison push made before, whether the fast path applies or not.
Checked on every compiled dashboard of this repository and on Grafana-side variants: as saved,
with bookkeeping changed, with values Python's `==` conflates (1 / 1.0 / True), with noise
the normaliser ignores, and with real edits at every depth.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grafana_sync.model import (
    DASHBOARD_NOISE_KEYS,
    content_equal,
    equal_apart_from_noise_keys,
)
from grafana_sync.sync import body_to_push, same_content_as_pushed
from grafana_sync.sync import content_equal as push_content_equal

REPO = Path(__file__).resolve().parents[2]
COMPILED = sorted((REPO / "provisioning" / "dashboards").rglob("*.json"))


def _dashboards() -> list[dict[str, Any]]:
    out = [json.loads(p.read_text(encoding="utf-8")) for p in COMPILED]
    return [d for d in out if isinstance(d, dict) and d.get("uid") and d.get("panels")]


def _first_target(d: dict[str, Any]) -> dict[str, Any]:
    return next(t for p in d["panels"] for t in p.get("targets") or [])


VARIANTS: dict[str, tuple[Callable[[dict[str, Any]], None], bool]] = {
    # name: (change applied to Grafana's copy, is it still equal content?)
    "as saved": (lambda d: None, True),
    "bookkeeping": (lambda d: d.update(id=99, version=17, iteration=5, schemaVersion=41), True),
    "editable as an int": (lambda d: d.update(editable=int(d.get("editable", True))), True),
    "graphTooltip as a float": (lambda d: d.update(graphTooltip=float(d.get("graphTooltip", 0))),
                                True),
    "tags reordered": (lambda d: d.update(tags=list(reversed(d["tags"]))), True),
    "plugin version stamped": (lambda d: d["panels"][0].update(pluginVersion="12.0.0"), True),
    "null gnetId": (lambda d: d.update(gnetId=None), True),
    "description removed": (lambda d: d.update(description="") if d.get("description")
                            else d.update(description="new"), False),
    "title edited": (lambda d: d.update(title=d["title"] + " (edited)"), False),
    "panel retitled": (lambda d: d["panels"][-1].update(title="Renamed"), False),
    "query edited": (lambda d: _first_target(d).update(expr="sum(up)"), False),
    "panel removed": (lambda d: d["panels"].pop(), False),
    "tag added": (lambda d: d["tags"].append("extra"), False),
    "uid changed": (lambda d: d.update(uid=d["uid"] + "-copy"), False),
    "refresh 1 for true": (lambda d: d.update(refresh=True), False),
}


def test_there_are_dashboards_to_check() -> None:
    assert len(_dashboards()) >= 5


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_same_content_as_pushed_matches_the_reference(variant: str) -> None:
    change, expect_equal = VARIANTS[variant]
    for local in _dashboards():
        grafana = copy.deepcopy(body_to_push(local))
        grafana.update(id=42, version=3)
        change(grafana)
        before = json.dumps(local, sort_keys=True)
        answer = same_content_as_pushed(grafana, local)
        # the comparison push made before the fast path existed
        assert answer == push_content_equal(grafana, body_to_push(local)), local["uid"]
        assert answer is expect_equal, local["uid"]
        assert json.dumps(local, sort_keys=True) == before  # nothing modified


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fast_path_is_only_ever_a_sufficient_condition(variant: str) -> None:
    change, _ = VARIANTS[variant]
    for local in _dashboards():
        grafana = copy.deepcopy(local)
        change(grafana)
        if equal_apart_from_noise_keys(grafana, local):
            assert content_equal(grafana, local), local["uid"]


def test_fast_path_ignores_exactly_the_noise_keys() -> None:
    local = _dashboards()[0]
    noisy = dict(local, **{k: "anything" for k in DASHBOARD_NOISE_KEYS})
    assert equal_apart_from_noise_keys(noisy, local)
    assert not equal_apart_from_noise_keys(dict(local, title="other"), local)
    assert not equal_apart_from_noise_keys(dict(local, gnetId=None), local)  # normaliser: equal
    assert content_equal(dict(local, gnetId=None), local)

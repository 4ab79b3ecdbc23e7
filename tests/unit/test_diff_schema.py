"""`diff --format json` validates against its documented schema, docs/diff-output.schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from grafana_sync.diff import diff_dashboards
from grafana_sync.diff_render import render_json
from tests.unit.test_diff_core import CASES, _diff
from tests.unit.test_diff_fixtures import base_dashboard

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "diff-output.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("name", list(CASES))
def test_each_change_kind_validates(validator, name: str) -> None:
    validator.validate(json.loads(render_json(_diff(CASES[name][0]))))


def test_added_removed_and_identical_validate(validator) -> None:
    both = diff_dashboards({"gone": base_dashboard("gone"), "same": base_dashboard("same")},
                           {"fresh": base_dashboard("fresh"), "same": base_dashboard("same")})
    validator.validate(json.loads(render_json(both)))
    validator.validate(json.loads(render_json(diff_dashboards({}, {}))))


def test_everything_at_once_validates(validator) -> None:
    new = base_dashboard()
    for name in ("panel moved to another row", "panel removed", "panel added", "unit", "tags",
                 "new query", "refId"):
        CASES[name][0](new)
    doc = json.loads(render_json(diff_dashboards({"infra": base_dashboard()}, {"infra": new})))
    validator.validate(doc)
    kinds = {e["change"] for e in doc["dashboards"][0]["panels"]}
    assert kinds == {"added", "removed", "moved", "changed"}


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("summary"),
    lambda d: d["dashboards"][0].update(status="modified"),
    lambda d: d["dashboards"][0]["panels"][0].update(change="renamed"),
    lambda d: d["dashboards"][0]["panels"][0]["fields"][0].pop("old"),
    lambda d: d["dashboards"][0]["panels"][0].update(new=None),
    lambda d: d.update(extra=1),
])
def test_schema_rejects_malformed_documents(validator, breakage) -> None:
    doc = json.loads(render_json(_diff(CASES["unit"][0])))
    validator.validate(doc)
    breakage(doc)
    assert not validator.is_valid(doc)

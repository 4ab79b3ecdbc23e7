"""panel-units-rule's unit list against Grafana's own unit schema (shared contracts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grafana_sync.lint.units import UNITS, is_valid_unit


@pytest.mark.contract
def test_every_grafana_unit_is_accepted(contracts_dir: Path) -> None:
    schema = json.loads((contracts_dir / "dashboard-jsonschema" / "units.jsonschema.json")
                        .read_text(encoding="utf-8"))
    grafana_units = {d["const"] for d in schema["definitions"].values() if "const" in d}
    assert grafana_units - UNITS == set()


@pytest.mark.parametrize(("unit", "valid"), [
    ("s", True), ("percentunit", True), ("reqps", True), ("currencyUSD", True),
    ("suffix: rows", True), ("si:g", True), ("seconds", False), ("suffix:", False), ("", False),
])
def test_is_valid_unit(unit: str, valid: bool) -> None:
    assert is_valid_unit(unit) is valid

"""Validate dashboard JSON against the Grafana 11.4 JSON Schemas in ../shared/grafana-contracts.

The dashboard schema validates the whole document; each panel's `options` and
`fieldConfig.defaults.custom` are validated against `<type>.jsonschema.json` and each target
against `prometheus.jsonschema.json`. The only relaxation is the one the contracts README
documents: a threshold step's `value` may be absent or null (Grafana's base step).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_SUBDIR = "dashboard-jsonschema-grafana-11.4"


@lru_cache(maxsize=4)
def _load(contracts_dir: str, name: str) -> dict[str, Any]:
    return json.loads((Path(contracts_dir) / SCHEMA_SUBDIR / f"{name}.jsonschema.json").read_text())


def _relax_threshold(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow {"color": "green", "value": null} / no value for the base threshold step."""
    schema = copy.deepcopy(schema)
    threshold = schema.get("definitions", {}).get("Threshold")
    if threshold:
        threshold["required"] = [r for r in threshold.get("required", []) if r != "value"]
        value = threshold["properties"]["value"]
        threshold["properties"]["value"] = {"anyOf": [value, {"type": "null"}]}
    return schema


def _definition_validator(contracts_dir: str, name: str, definition: str) -> jsonschema.Validator:
    schema = _load(contracts_dir, name)
    wrapped = {**schema, "$ref": f"#/definitions/{definition}"}
    cls = jsonschema.validators.validator_for(wrapped)
    return cls(wrapped)


def panel_schema_names(contracts_dir: Path) -> set[str]:
    return {p.name.split(".")[0] for p in (contracts_dir / SCHEMA_SUBDIR).glob("*.jsonschema.json")}


def _iter_panels(panels: list[dict[str, Any]]):
    for panel in panels:
        yield panel
        yield from _iter_panels(panel.get("panels", []) if panel.get("type") == "row" else [])


def validate_dashboard(dashboard: dict[str, Any], contracts_dir: Path) -> list[str]:
    """Every schema violation as 'where: message'; an empty list means valid."""
    cdir = str(contracts_dir)
    errors: list[str] = []
    schema = _relax_threshold(_load(cdir, "dashboard"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    for err in validator.iter_errors(dashboard):
        errors.append(f"dashboard/{'/'.join(map(str, err.absolute_path))}: {err.message[:300]}")
    known = panel_schema_names(contracts_dir)
    query = _definition_validator(cdir, "prometheus", "dataquery")
    for panel in _iter_panels(dashboard.get("panels", [])):
        where = f"panel {panel.get('title')!r} ({panel.get('type')})"
        ptype = panel.get("type")
        if ptype in known and ptype not in {"dashboard", "common", "prometheus", "units"}:
            if "options" in panel:
                v = _definition_validator(cdir, ptype, "Options")
                errors += [f"{where} options/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                           for e in v.iter_errors(panel["options"])]
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
            if custom is not None and "FieldConfig" in _load(cdir, ptype).get("definitions", {}):
                v = _definition_validator(cdir, ptype, "FieldConfig")
                errors += [f"{where} custom/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                           for e in v.iter_errors(custom)]
        for target in panel.get("targets", []):
            errors += [f"{where} target {target.get('refId')}: {e.message[:300]}"
                       for e in query.iter_errors(target)]
    return errors

"""Validate dashboard JSON against Grafana's JSON Schemas in ../shared/grafana-contracts.

Two schema sets: Grafana 11.4 (`dashboard-jsonschema-grafana-11.4/`, schemaVersion 39) and
Grafana 12.3 (`dashboard-jsonschema/`: dashboard 12.3, schemaVersion 42; panels 11.6).

The dashboard schema validates the whole document; each panel's `options` and
`fieldConfig.defaults.custom` are validated against `<type>.jsonschema.json` and each target
against `prometheus.jsonschema.json`. Relaxations: the one the contracts README documents (a
threshold step's `value` may be absent or null: Grafana's base step), and a query variable's
`definition` string in the 11.4 schema (Grafana 11 saves it; the 12.3 schema has it).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from grafana_sync.model import iter_panels

SCHEMA_SUBDIRS = {"11.4": "dashboard-jsonschema-grafana-11.4", "12.3": "dashboard-jsonschema"}
SCHEMA_SUBDIR = SCHEMA_SUBDIRS["11.4"]
GRAFANA_VERSIONS = tuple(SCHEMA_SUBDIRS)


@lru_cache(maxsize=64)
def _load(contracts_dir: str, name: str, version: str = "11.4") -> dict[str, Any]:
    path = Path(contracts_dir) / SCHEMA_SUBDIRS[version] / f"{name}.jsonschema.json"
    return json.loads(path.read_text())


def _relax_threshold(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow {"color": "green", "value": null} / no value for the base threshold step.

    And, for the 11.4 schema only, a variable's `definition` (a string): Grafana 11.4's variable
    editor saves it on query variables (Grafana's own v1beta1 docs example has it) and build
    keeps what Grafana keeps; the 12.3 schema lists it, the 11.4 one omitted it. And a field
    override matcher's `options` of any type (a string for byName / byRegexp), as Grafana's CUE.
    """
    schema = copy.deepcopy(schema)
    variable = schema.get("definitions", {}).get("VariableModel")
    if variable and "definition" not in variable.get("properties", {}):
        variable["properties"]["definition"] = {"type": "string"}
    threshold = schema.get("definitions", {}).get("Threshold")
    if threshold:
        threshold["required"] = [r for r in threshold.get("required", []) if r != "value"]
        value = threshold["properties"]["value"]
        threshold["properties"]["value"] = {"anyOf": [value, {"type": "null"}]}
    # A query variable's `definition` (the query as the editor shows it): Grafana 11's variable
    # editor saves it on every query variable and the 12.3 schema lists it, but the 11.4
    # foundation-SDK schema omits it. Build keeps it (a dashboard brought in with `import` keeps
    # what Grafana saved), so allow exactly that key, a string, in 11.4's VariableModel.
    variable = schema.get("definitions", {}).get("VariableModel")
    if variable and "definition" not in variable.get("properties", {}):
        variable["properties"]["definition"] = {"type": "string"}
    # A field override's matcher options: Grafana's CUE declares `options?: _` (any value) and
    # the foundation SDK's own types say `options?: any`, but its JSON Schema generator emitted
    # `object`. Grafana saves the name matchers' options as a string (`{"id": "byRegexp",
    # "options": "p99 .*"}`), so allow any JSON value there, exactly as the CUE does.
    matcher = schema.get("definitions", {}).get("MatcherConfig")
    if matcher and "options" in matcher.get("properties", {}):
        matcher["properties"]["options"] = {"description": matcher["properties"]["options"].get(
            "description", "")}
    return schema


def _definition_validator(contracts_dir: str, name: str, definition: str,
                          version: str = "11.4") -> jsonschema.Validator:
    schema = _load(contracts_dir, name, version)
    wrapped = {**schema, "$ref": f"#/definitions/{definition}"}
    cls = jsonschema.validators.validator_for(wrapped)
    return cls(wrapped)


def panel_schema_names(contracts_dir: Path, version: str = "11.4") -> set[str]:
    folder = contracts_dir / SCHEMA_SUBDIRS[version]
    return {p.name.split(".")[0] for p in folder.glob("*.jsonschema.json")}


def validate_dashboard(dashboard: dict[str, Any], contracts_dir: Path,
                       version: str = "11.4") -> list[str]:
    """Every schema violation as 'where: message'; an empty list means valid."""
    cdir = str(contracts_dir)
    errors: list[str] = []
    schema = _relax_threshold(_load(cdir, "dashboard", version))
    validator = jsonschema.validators.validator_for(schema)(schema)
    for err in validator.iter_errors(dashboard):
        errors.append(f"dashboard/{'/'.join(map(str, err.absolute_path))}: {err.message[:300]}")
    known = panel_schema_names(contracts_dir, version)
    # the query definition is `dataquery` in the 11.4 schemas and `Dataquery` in 12.3's
    definitions = _load(cdir, "prometheus", version).get("definitions", {})
    query_def = "dataquery" if "dataquery" in definitions else "Dataquery"
    query = _definition_validator(cdir, "prometheus", query_def, version)
    for panel in iter_panels(dashboard):
        where = f"panel {panel.get('title')!r} ({panel.get('type')})"
        ptype = panel.get("type")
        if ptype in known and ptype not in {"dashboard", "common", "prometheus", "units"}:
            if "options" in panel:
                v = _definition_validator(cdir, ptype, "Options", version)
                errors += [f"{where} options/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                           for e in v.iter_errors(panel["options"])]
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
            if custom is not None and "FieldConfig" in _load(cdir, ptype, version).get(
                    "definitions", {}):
                v = _definition_validator(cdir, ptype, "FieldConfig", version)
                errors += [f"{where} custom/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                           for e in v.iter_errors(custom)]
        for target in panel.get("targets", []):
            ds = target.get("datasource") or panel.get("datasource") or {}
            if isinstance(ds, dict) and ds.get("type") not in (None, "prometheus"):
                continue  # prometheus.jsonschema.json describes Prometheus queries only
            errors += [f"{where} target {target.get('refId')}: {e.message[:300]}"
                       for e in query.iter_errors(target)]
    return errors

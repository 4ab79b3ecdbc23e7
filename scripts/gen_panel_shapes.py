"""Generate grafana_sync/data/panel_shapes.json from Grafana's published JSON Schemas.

The normaliser needs, for each panel type, the keys Grafana 11.4 knows in `options` and in
`fieldConfig.defaults.custom`, and the defaults Grafana fills in for required ones. Rather than
copy those by hand, this script derives them from the grafana-foundation-sdk schemas
(Apache-2.0) in ../shared/grafana-contracts/dashboard-jsonschema-grafana-11.4 and writes a
small table a reviewer can read. Run: python scripts/gen_panel_shapes.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT.parent / "shared" / "grafana-contracts" / "dashboard-jsonschema-grafana-11.4"
OUT = ROOT / "grafana_sync" / "data" / "panel_shapes.json"
SKIP = {"dashboard", "common", "prometheus", "units"}


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        merged = {k: v for k, v in node.items() if k != "$ref"}
        node = {**schema["definitions"][name], **merged}
    if "allOf" in node and len(node["allOf"]) == 1:
        node = {**resolve(schema, node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def shape(schema: dict[str, Any], node: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """{"keys": {name: sub-shape | None} | None (free-form), "defaults": {...}}"""
    node = resolve(schema, node)
    if node.get("type") != "object" or depth > 8:
        return {"keys": None, "defaults": None}
    props = node.get("properties", {})
    if not props or node.get("additionalProperties", True) not in (False,):
        return {"keys": None, "defaults": None}
    keys: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for name, sub in props.items():
        sub_r = resolve(schema, sub)
        sub_shape = shape(schema, sub_r, depth + 1)
        keys[name] = sub_shape["keys"]
        if name in node.get("required", []):
            if "default" in sub_r:
                defaults[name] = sub_r["default"]
            elif sub_shape["defaults"] is not None and sub_r.get("type") == "object":
                defaults[name] = sub_shape["defaults"]
    return {"keys": keys, "defaults": defaults}


def main() -> int:
    if not SCHEMAS.is_dir():
        print(f"error: {SCHEMAS} not found", file=sys.stderr)
        return 2
    out: dict[str, Any] = {"_source": "grafana-foundation-sdk jsonschema for Grafana 11.4 "
                           "(Apache-2.0), via scripts/gen_panel_shapes.py"}
    dash = json.loads((SCHEMAS / "dashboard.jsonschema.json").read_text())
    out["_fieldConfigDefaults"] = shape(dash, {"$ref": "#/definitions/FieldConfig"})["keys"]
    for path in sorted(SCHEMAS.glob("*.jsonschema.json")):
        ptype = path.name.split(".")[0]
        if ptype in SKIP:
            continue
        schema = json.loads(path.read_text())
        entry: dict[str, Any] = {}
        for definition, key in (("Options", "options"), ("FieldConfig", "custom")):
            if definition in schema["definitions"]:
                entry[key] = shape(schema, {"$ref": f"#/definitions/{definition}"})
        out[ptype] = entry
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Check HTTP traffic against Grafana's OpenAPI 2.0 (Swagger) client subset.

Shared test helper (push and diff tests use it). Typical use::

    contract = OpenAPIContract.load(contracts_dir)       # the `contracts_dir` fixture
    contract.validate_request("POST", "http://g/api/dashboards/db", body={"dashboard": {...}})
    contract.validate_response("POST", "http://g/api/dashboards/db", 200, {"status": ...})
    contract.validate_exchange(prepared_request, status, body)  # both, from a requests request

`url` may be a full URL or a path; it must contain the spec's basePath (`/api`), anything before
it is taken as the Grafana sub-path. Every check raises `ContractViolation` (an AssertionError)
naming the method, the path and the rule broken; nothing is silently accepted:

- request: the path and method exist in the spec; path parameters are non-empty; every query
  parameter is declared, has the declared type/enum, and only arrays repeat; the JSON body is
  present exactly when the operation takes one and validates against its schema; requests carry
  `Authorization` (Bearer or Basic) except `GET /api/health`.
- response: the status is one the operation declares; the body validates against its schema.

Relaxations, each one where ../shared/grafana-contracts/README.md documents the spec as wrong
(numbered as there), and nothing more:
  1. `POST /api/dashboards/db` 200 does not require `title`; 202 `{"status": "pending"}` is allowed.
  2. `GET /api/datasources/name/{name}` may answer 404 with an ErrorResponseBody.
  3. `/api/search` array parameters are repeated keys (`folderUIDs=a&folderUIDs=b`): a comma
     inside one value is reported as a violation (comma-separated lists are not what Grafana reads).
  4. Dashboard save errors (400/403/412) are declared by the spec already: no relaxation needed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema

SUBSET_FILE = "openapi/grafana-11.4.0-client-subset.swagger2.json"
NO_AUTH_OPERATIONS = {("GET", "/health")}


class ContractViolation(AssertionError):
    """A request or response that the OpenAPI subset (with its documented relaxations) rejects."""


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # path template without basePath, e.g. /dashboards/uid/{uid}
    spec: Mapping[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method} /api{self.template}"


class OpenAPIContract:
    """The Grafana client subset, ready to validate requests and responses."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.base_path = spec.get("basePath", "").rstrip("/")
        self._relax(spec)

    @classmethod
    def load(cls, contracts_dir: Path) -> OpenAPIContract:
        return cls(json.loads((Path(contracts_dir) / SUBSET_FILE).read_text(encoding="utf-8")))

    # -- relaxations (README "Known places where the 11.4 spec disagrees with the server") -----
    @staticmethod
    def _relax(spec: dict[str, Any]) -> None:
        responses = spec["responses"]
        # 1. postDashboardResponse: the server sends slug, not title.
        post_dash = copy.deepcopy(responses["postDashboardResponse"])
        post_dash["schema"]["required"] = [r for r in post_dash["schema"]["required"]
                                           if r != "title"]
        responses["postDashboardResponse"] = post_dash
        post_op = spec["paths"]["/dashboards/db"]["post"]["responses"]
        post_op["202"] = {"description": "README relaxation 1: pending",
                          "schema": {"type": "object", "required": ["status"],
                                     "properties": {"status": {"enum": ["pending"]}}}}
        # 2. datasource by name: 404 exists in practice.
        by_name = spec["paths"]["/datasources/name/{name}"]["get"]["responses"]
        by_name.setdefault("404", {"$ref": "#/responses/notFoundError"})

    # -- lookup --------------------------------------------------------------------------------
    def operation(self, method: str, url: str) -> tuple[Operation, dict[str, str], str]:
        """(operation, path params, raw query) for a URL; a violation if the spec lacks it."""
        parts = urlsplit(url)
        path = parts.path
        idx = path.find(self.base_path + "/")
        if idx < 0:
            raise ContractViolation(f"{method} {path}: not under basePath {self.base_path!r}")
        rel = path[idx + len(self.base_path):]
        segments = rel.strip("/").split("/")
        best: tuple[int, str, dict[str, str]] | None = None
        for template in self.spec["paths"]:
            tsegs = template.strip("/").split("/")
            if len(tsegs) != len(segments):
                continue
            params: dict[str, str] = {}
            literal = 0
            for t, s in zip(tsegs, segments, strict=True):
                if t.startswith("{") and t.endswith("}"):
                    params[t[1:-1]] = unquote(s)
                elif t == s:
                    literal += 1
                else:
                    break
            else:
                if best is None or literal > best[0]:
                    best = (literal, template, params)
        if best is None:
            raise ContractViolation(f"{method} /api{rel}: path not in the OpenAPI subset")
        _, template, params = best
        op = self.spec["paths"][template].get(method.lower())
        if op is None:
            raise ContractViolation(f"{method} /api{template}: method not in the OpenAPI subset")
        return Operation(method.upper(), template, op), params, parts.query

    def _schema(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        return {**schema, "definitions": self.spec["definitions"]}

    def _validate(self, where: str, schema: Mapping[str, Any], instance: Any) -> None:
        validator = jsonschema.Draft4Validator(self._schema(schema))
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            at = "/".join(str(p) for p in first.absolute_path) or "(root)"
            raise ContractViolation(f"{where}: at {at}: {first.message}")

    # -- requests ------------------------------------------------------------------------------
    def validate_request(self, method: str, url: str, body: Any = None, *,
                         headers: Mapping[str, str] | None = None,
                         has_body: bool | None = None) -> Operation:
        """Validate one request; `body` is the decoded JSON (None: no body)."""
        op, path_params, query = self.operation(method, url)
        declared = {p["name"]: p for p in op.spec.get("parameters", [])}
        for name, value in path_params.items():
            if name not in declared or declared[name].get("in") != "path":
                raise ContractViolation(f"{op.name}: undeclared path parameter {name!r}")
            if not value:
                raise ContractViolation(f"{op.name}: empty path parameter {name!r}")
        self._validate_query(op, declared, parse_qsl(query, keep_blank_values=True))
        body_param = next((p for p in declared.values() if p.get("in") == "body"), None)
        present = body is not None if has_body is None else has_body
        if body_param is None and present:
            raise ContractViolation(f"{op.name}: sends a body, the operation takes none")
        if body_param is not None:
            if not present:
                if body_param.get("required"):
                    raise ContractViolation(f"{op.name}: required JSON body missing")
            else:
                self._validate(f"{op.name} request body", body_param["schema"], body)
                ctype = (headers or {}).get("Content-Type", "application/json")
                if "application/json" not in ctype:
                    raise ContractViolation(f"{op.name}: body sent as {ctype!r}, not JSON")
        if headers is not None and (op.method, op.template) not in NO_AUTH_OPERATIONS:
            auth = headers.get("Authorization", "")
            if not (auth.startswith("Bearer ") or auth.startswith("Basic ")):
                raise ContractViolation(f"{op.name}: no Authorization (Bearer or Basic) header")
        return op

    def _validate_query(self, op: Operation, declared: Mapping[str, Mapping[str, Any]],
                        pairs: list[tuple[str, str]]) -> None:
        seen: dict[str, int] = {}
        for name, value in pairs:
            param = declared.get(name)
            if param is None or param.get("in") != "query":
                raise ContractViolation(f"{op.name}: undeclared query parameter {name!r}")
            seen[name] = seen.get(name, 0) + 1
            ptype = param.get("type")
            item = param.get("items", {}) if ptype == "array" else param
            if ptype != "array" and seen[name] > 1:
                raise ContractViolation(f"{op.name}: query parameter {name!r} repeated")
            if ptype == "array" and "," in value:
                raise ContractViolation(
                    f"{op.name}: {name}={value!r} is comma-separated; Grafana reads repeated "
                    "keys (contracts README, relaxation 3)")
            self._check_scalar(op, name, value, item)

    @staticmethod
    def _check_scalar(op: Operation, name: str, value: str, item: Mapping[str, Any]) -> None:
        itype = item.get("type", "string")
        if itype == "integer":
            try:
                int(value)
            except ValueError:
                raise ContractViolation(f"{op.name}: {name}={value!r} is not an integer") from None
        elif itype == "boolean" and value not in ("true", "false"):
            raise ContractViolation(f"{op.name}: {name}={value!r} is not true/false")
        if "enum" in item and value not in item["enum"]:
            raise ContractViolation(f"{op.name}: {name}={value!r} not one of {item['enum']}")

    # -- responses -----------------------------------------------------------------------------
    def validate_response(self, method: str, url: str, status: int, body: Any) -> Operation:
        """Validate one response (body = decoded JSON) for the operation `url` names."""
        op, _, _ = self.operation(method, url)
        declared = op.spec["responses"].get(str(status))
        if declared is None:
            raise ContractViolation(f"{op.name}: status {status} is not a declared response "
                                    f"(declared: {sorted(op.spec['responses'])})")
        if "$ref" in declared:
            declared = self.spec["responses"][declared["$ref"].rsplit("/", 1)[-1]]
        schema = declared.get("schema")
        if schema is not None:
            self._validate(f"{op.name} response {status}", schema, body)
        return op

    def validate_exchange(self, request: Any, status: int, body: Any) -> Operation:
        """Validate a `requests.PreparedRequest` and the JSON response body sent back for it."""
        raw = request.body
        decoded = None
        if raw:
            try:
                decoded = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
            except ValueError:
                raise ContractViolation(f"{request.method} {request.path_url}: body is not JSON"
                                        ) from None
        self.validate_request(request.method, request.url, decoded,
                              headers=dict(request.headers), has_body=bool(raw))
        return self.validate_response(request.method, request.url, status, body)

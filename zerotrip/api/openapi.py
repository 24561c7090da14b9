"""Build the OpenAPI 3.1 document from the declared operations, so it cannot drift from them."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel

from zerotrip.api.bodies import MAX_ID
from zerotrip.api.routing import Operation

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
_AUDIENCE_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "public": [],
    "signed": [],
    "signed_in": [{"staffBearer": []}, {"staffCookie": []}, {"applicantLink": []}],
    "staff": [{"staffBearer": []}, {"staffCookie": []}],
    "admin": [{"staffBearer": []}, {"staffCookie": []}],
    "applicant": [{"applicantLink": []}],
    "case": [{"staffBearer": []}, {"staffCookie": []}, {"applicantLink": []}],
}


def _schema(
    source: dict[str, Any] | type[BaseModel],
    components: dict[str, Any],
    mode: Literal["validation", "serialization"] = "validation",
) -> dict[str, Any]:
    """A body's schema as it is read, a response's as it is written; models become components
    (one name, one schema: two different models may not share a name)."""
    if isinstance(source, dict):
        return source
    schema = source.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    for name, sub in [*schema.pop("$defs", {}).items(), (source.__name__, schema)]:
        assert components.setdefault(name, sub) == sub, f"two schemas named {name}"
    return {"$ref": f"#/components/schemas/{source.__name__}"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("title", None)
        if "anyOf" in prop:  # Optional[X]: a query parameter is simply absent instead of null
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            if len(options) == 1:
                ref = options[0].get("$ref")
                if ref:
                    options[0] = schema["$defs"][ref.rsplit("/", 1)[1]]
                prop.update({k: v for k, v in options[0].items() if k != "title"})
            prop.pop("default", None)
        params.append({"name": name, "in": "query", "required": False, "schema": prop})
    return params


def implied_errors(op: Operation, path_params: list[str]) -> set[int]:
    """Statuses every operation of its kind can answer, whatever its own list says: reading
    the body, the query and path parameters, and refusing the caller."""
    found: set[int] = set()
    if op.body is not None:
        found |= {400, 408, 413, 415, 422}  # 408: a body that arrives too slowly
    if op.query is not None or path_params:
        found.add(422)
    if path_params:
        found.add(404)
    if op.audience != "public":
        found |= {401, 403}  # 403 also for a cookie session that left out its CSRF token
        found.add(429)  # too many wrong tokens from the caller's address
    if op.audience in {"case", "applicant"}:
        found |= {404, 410}  # another case looks absent; an expired or revoked link is gone
    return found


def build_openapi(operations: list[Operation], server_url: str = "") -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item = paths.setdefault(op.path, {})
        names = re.findall(r"{(\w+)}", op.path)
        path_params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": op.path_schemas.get(name)
                or (
                    {"type": "string"}
                    if name in {"action", "code", "token", "slug"}
                    else {"type": "integer", "minimum": 1, "maximum": MAX_ID}
                ),
            }
            for name in names
        ]
        success = {
            "description": "OK",
            "content": {
                op.response_content_type: {
                    "schema": _schema(op.response or {}, components, "serialization")
                }
            },
        }
        responses: dict[str, Any] = {str(status): success for status in (op.status, *op.also)}
        if op.accepted is not None:
            responses["202"] = {
                "description": "Accepted: the work runs as a job; poll the URL in Location",
                "content": {
                    "application/json": {
                        "schema": _schema(op.accepted, components, "serialization")
                    }
                },
            }
        for status in sorted(set(op.errors) | implied_errors(op, names) | {500}):
            responses[str(status)] = {
                "description": "Problem",
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
        entry: dict[str, Any] = {
            "operationId": op.handler.__name__,
            "summary": op.summary,
            "tags": [op.tag],
            "security": _AUDIENCE_SECURITY[op.audience],
            "x-audience": op.audience,
            **({"x-roles": list(op.roles)} if op.roles else {}),
            "parameters": path_params + (_query_parameters(op.query) if op.query else []),
            "responses": responses,
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.body_content_type != "application/json",
                "content": {op.body_content_type: {"schema": _schema(op.body, components)}},
            }
        entry.update(op.extra)
        item[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "zerotrip",
            "version": "0.1.0",
            "description": "Remote site inspection and document mailing for permit offices.",
        },
        "servers": [{"url": server_url or "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "staffBearer": {"type": "http", "scheme": "bearer", "description": "zts_ token"},
                "staffCookie": {"type": "apiKey", "in": "cookie", "name": "zt_session"},
                "applicantLink": {"type": "http", "scheme": "bearer", "description": "zta_ token"},
            },
        },
    }

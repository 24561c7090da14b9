"""The OpenAPI document: it lists exactly the routes the app serves, it is valid OpenAPI 3.1, and
the running app keeps its promises under schemathesis (no 500, documented statuses, content types
and response schemas), for staff and applicants alike."""

from __future__ import annotations

import re
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import APPLICATION, make_staff
from tests.harness.apps import LiveServer
from zerotrip.accounts.service import issue_applicant_link
from zerotrip.api.keys import CATALOGUE
from zerotrip.cases.store import Application, create_case
from zerotrip.kit.actor import Actor

DOCUMENTED_PREFIXES = ("/api/", "/problems/")


def _served_routes(app: Any) -> set[tuple[str, str]]:
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path") or ""
        if path.startswith(DOCUMENTED_PREFIXES) and route.method not in {"HEAD", "OPTIONS"}:
            served.add((route.method.lower(), re.sub(r"{(\w+):[^}]*}", r"{\1}", path)))
    return served


async def test_document_lists_exactly_the_served_routes(client):
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    served = _served_routes(client.app)
    assert served, "no API routes found"
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


async def test_document_is_valid_openapi_3_1(client):
    doc = await (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["operationId"] and op["summary"], f"{method} {path}"
            if op["x-audience"] != "public":
                assert {"401", "403"} <= set(op["responses"]), f"{method} {path}"


# --- schemathesis against the running app -------------------------------------------------------

FUZZED_PREFIXES = ("/api/cases", "/api/applications", "/api/link")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI failures reproduce
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


def _seed(live: LiveServer) -> dict[str, Any]:
    """Staff of every role and one real case with its applicant's link."""

    async def seed() -> dict[str, Any]:
        tokens = {
            role: (await make_staff(live.db, role)).token
            for role in ("clerk", "inspector", "admin")
        }
        async with live.db.transaction() as session:
            case = await create_case(
                session, live.app[CATALOGUE], Application(**APPLICATION), Actor("applicant")
            )
            issued = await issue_applicant_link(session, case.id, days=30)
        return {"staff": tokens, "case_id": case.id, "applicant": issued.token}

    return live.run(seed())


def test_case_endpoints_keep_their_documented_promises(live_app):
    world = _seed(live_app)
    http = requests.Session()
    doc = http.get(f"{live_app.url}/api/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    fuzzed = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    # Revoking links last, so the applicant's own link still works for the other operations.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    for operation in operations:
        if not operation.path.startswith(FUZZED_PREFIXES):
            continue
        audience = operation.definition.raw["x-audience"]
        callers = {
            "staff": ["clerk", "inspector", "admin"],
            "admin": ["admin"],
            "applicant": ["applicant"],
            "case": ["clerk", "inspector", "admin", "applicant"],
            "public": ["anonymous"],
        }[audience]
        fuzzed += 1

        @FUZZ_SETTINGS
        @hypothesis.given(
            case=operation.as_strategy(),
            caller=st.sampled_from(callers),
            real_case=st.booleans(),
        )
        def check(case: Any, caller: str, real_case: bool) -> None:
            if real_case and "case_id" in (case.path_parameters or {}):
                case.path_parameters["case_id"] = world["case_id"]
            token = world["applicant"] if caller == "applicant" else world["staff"].get(caller)
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = case.call(base_url=live_app.url, session=http, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}:\n{exc}")
    assert fuzzed >= 8
    assert not failures, "\n\n".join(failures)


def _untyped(schema: Any, where: str) -> list[str]:
    """Places in a schema that promise nothing: an object without properties or a typed value
    schema, an array without items."""
    found = []
    if isinstance(schema, dict):
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        extra = schema.get("additionalProperties")
        if "object" in kinds and "properties" not in schema and not isinstance(extra, dict):
            found.append(where)
        if "array" in kinds and "items" not in schema and "prefixItems" not in schema:
            found.append(where)
        for key, value in schema.items():
            found += _untyped(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for n, value in enumerate(schema):
            found += _untyped(value, f"{where}/{n}")
    return found


async def test_every_json_answer_is_typed(client):
    """No JSON success answer, and no model in the components, is a bare ``{"type": "object"}``
    (or an array of anything): each says what it holds."""
    doc = await (await client.get("/api/openapi.json")).json()
    problems = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is None or not status.startswith("2"):
                    continue
                problems += _untyped(schema, f"{method} {path} {status}")
    for name, schema in doc["components"]["schemas"].items():
        problems += _untyped(schema, name)
    assert not problems, "\n".join(problems)

"""The route declaration is what runs: a handler gets the body, query and caller its route
declares (parsed and checked once, before it runs), and what it answers is what the OpenAPI
document says it answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from tests.factories import applicant_headers, apply, make_staff, walk
from zerotrip.api.keys import OPERATIONS
from zerotrip.api.routing import RouteTable
from zerotrip.problems import NotFound


class Body(BaseModel):
    text: str


def test_a_handler_must_take_the_body_its_route_declares():
    table = RouteTable("test")

    async def ignores_body(request: web.Request) -> web.Response:
        return web.Response()

    async def wants_body(request: web.Request, *, body: Body) -> web.Response:
        return web.Response()

    with pytest.raises(AssertionError, match="body"):
        table.post("/x", summary="x", audience="public", body=Body)(ignores_body)
    with pytest.raises(AssertionError, match="body"):
        table.post("/y", summary="y", audience="public")(wants_body)
    with pytest.raises(AssertionError, match="query"):
        table.get("/z", summary="z", audience="public", query=Body)(ignores_body)
    assert table.operations == []


async def test_the_caller_is_refused_before_the_body_is_read(client, db):
    """A wrong caller learns nothing from the body's validation: another case's applicant gets
    404 and a staff member without the route's role 403, whatever they send."""
    clerk = await make_staff(db, "clerk")
    case_a, _ = await apply(client)
    _, token_b = await apply(client, applicant_name="王五")
    not_json = b"{not json"
    as_json = {"Content-Type": "application/json"}

    resp = await client.post(
        f"/api/cases/{case_a['id']}/actions/withdraw",
        headers={**applicant_headers(token_b), **as_json},
        data=not_json,
    )
    assert resp.status == 404
    checkpoint = case_a["checkpoints"][0]["id"]
    resp = await client.post(
        f"/api/cases/{case_a['id']}/checkpoints/{checkpoint}/verdict",
        headers={**clerk.headers, **as_json},
        data=not_json,
    )
    assert resp.status == 403
    resp = await client.post(  # the right caller with the same body: the body's own problem
        f"/api/cases/{case_a['id']}/checkpoints/{checkpoint}/verdict",
        headers={**(await make_staff(db, "inspector")).headers, **as_json},
        data=not_json,
    )
    assert resp.status == 400
    assert resp.content_type == "application/problem+json"


async def test_no_route_opens_another_case_to_an_applicant(client):
    """Every route with a case in its path that an applicant may call at all, walked with the
    link of another case: each looks absent (404), whatever its audience or method."""
    case_a, _ = await apply(client)
    _, token_b = await apply(client, applicant_name="王五")
    values = {"case_id": case_a["id"], "action": "withdraw"}
    walked = []
    for op in client.app[OPERATIONS]:
        if "{case_id}" not in op.path or op.audience not in ("case", "applicant"):
            continue
        path = re.sub(r"{(\w+)}", lambda m: str(values.get(m.group(1), 1)), op.path)
        resp = await client.request(op.method, path, headers=applicant_headers(token_b), json={})
        assert resp.status == 404, f"{op.method} {op.path}: {resp.status}"
        walked.append(op.path)
    assert len(walked) >= 10


async def test_the_applicant_sees_no_staff_fields_and_staff_see_them_all(client, db):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(client)
    staff_only = {"applicant_phone", "audit_seq", "inspection_result", "premises_lat"}
    mine = await (
        await client.get(f"/api/cases/{case['id']}", headers=applicant_headers(token))
    ).json()
    theirs = await (await client.get(f"/api/cases/{case['id']}", headers=clerk.headers)).json()
    assert staff_only.isdisjoint(mine)
    assert staff_only <= set(theirs)
    assert mine["audit_head"] is None and len(theirs["audit_head"]) == 64
    # The applicant's own to-do list is the one field staff do not get with the case.
    assert set(mine) - {"next_steps"} < set(theirs) and "next_steps" in mine


def _validator(doc: dict[str, Any], method: str, path: str, status: int) -> Draft202012Validator:
    response = doc["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


STAFF_READS = [
    "/api/health",
    "/api/matters",
    "/api/matters/{code}",
    "/api/me",
    "/api/users",
    "/api/cases",
    "/api/cases/{case_id}",
    "/api/cases/{case_id}/audit",
    "/api/cases/{case_id}/links",
    "/api/cases/{case_id}/mailing",
    "/api/cases/{case_id}/review",
    "/api/cases/{case_id}/documents",
    "/api/cases/{case_id}/evidence",
    "/api/cases/{case_id}/ratings",
    "/api/cases/{case_id}/notifications",
    "/api/mailing/orders",
    "/api/tasks",
    "/api/rectifications",
    "/api/dashboard",
    "/api/identity/access",
    "/api/verify/{code}",
    "/problems/{slug}",
]
APPLICANT_READS = [
    "/api/link",
    "/api/cases/{case_id}",
    "/api/cases/{case_id}/mailing",
    "/api/cases/{case_id}/documents",
    "/api/cases/{case_id}/evidence",
    "/api/cases/{case_id}/ratings",
]


async def test_answers_match_their_documented_schemas(client, db):
    """Real answers from a case that went as far as its certificate, for staff and for its
    applicant, each checked against the response schema the document gives for it."""
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    admin = await make_staff(db, "admin")
    case, token = await walk(client, clerk, inspector, until="certificate_issued")
    documents = await (
        await client.get(f"/api/cases/{case['id']}/documents", headers=clerk.headers)
    ).json()
    assert documents["certificates"], "the walk should have issued a certificate"
    values = {
        "case_id": case["id"],
        "code": "food-business",
        "slug": NotFound.slug,
    }
    doc = await (await client.get("/api/openapi.json")).json()
    checked = 0
    for headers, paths in (
        (admin.headers, STAFF_READS),
        (applicant_headers(token), APPLICANT_READS),
    ):
        for path in paths:
            url = path.format(**values)
            if path == "/api/verify/{code}":
                url = documents["certificates"][0]["verify_url"].split("/verify/")[-1]
                url = f"/api/verify/{url}"
            resp = await client.get(url, headers=headers)
            assert resp.status == 200, f"{url}: {resp.status} {await resp.text()}"
            errors = list(_validator(doc, "get", path, 200).iter_errors(await resp.json()))
            assert not errors, f"{url}: {errors[0].message} at {list(errors[0].path)}"
            checked += 1
    assert checked == len(STAFF_READS) + len(APPLICANT_READS)

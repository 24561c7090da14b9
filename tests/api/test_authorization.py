"""Who gets what: every declared route walked by every kind of caller, the lifecycle's role
table, applicant links that expired, were revoked or open another case, and cookie sessions.

The route walk is generic over ``app[OPERATIONS]``: a route any domain adds later is covered by
the audience (and roles) it declares, without touching this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.factories import PASSWORD, Staff, act, applicant_headers, apply, make_staff
from zerotrip.api.keys import OPERATIONS
from zerotrip.api.routing import Operation

ROLES = ("anonymous", "applicant_a", "applicant_b", "clerk", "inspector", "admin")
STAFF_ROLES = ("clerk", "inspector", "admin")
THROUGH = None  # the caller passes authorization: anything but 401/403 (and never a 500)


@dataclass
class World:
    """Two cases (A and B) with their applicants' links, and one account per staff role."""

    client: TestClient
    case_a: int
    case_b: int
    token_a: str
    token_b: str
    spare_link_a: int  # a second link on case A, safe to revoke during the walk
    staff: dict[str, Staff]

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        if role == "applicant_a":
            return applicant_headers(self.token_a)
        if role == "applicant_b":
            return applicant_headers(self.token_b)
        return self.staff[role].headers


async def make_world(client: TestClient, db: Any) -> World:
    staff = {role: await make_staff(db, role) for role in STAFF_ROLES}
    case_a, token_a = await apply(client)
    case_b, token_b = await apply(client, applicant_name="王五")
    resp = await client.post(
        f"/api/cases/{case_a['id']}/links", json={}, headers=staff["clerk"].headers
    )
    assert resp.status == 201
    links = await client.get(f"/api/cases/{case_a['id']}/links", headers=staff["clerk"].headers)
    spare = max(link["id"] for link in (await links.json())["items"])
    return World(client, case_a["id"], case_b["id"], token_a, token_b, spare, staff)


def expected_status(op: Operation, role: str) -> int | None:
    """What the declared audience promises ``role`` on case A's version of the route."""
    if op.audience == "public":
        return THROUGH
    if op.audience == "signed":
        return 401  # no staff or applicant credential stands in for the caller's signature
    if role == "anonymous":
        return 401
    if op.audience == "signed_in":
        return THROUGH
    applicant = role.startswith("applicant")
    if op.audience == "applicant":
        return THROUGH if applicant else 403
    if op.audience == "case":
        if role == "applicant_b":
            return 404  # another case looks absent
        if applicant:
            return THROUGH
    elif applicant:
        return 403
    if op.audience == "admin" and role != "admin":
        return 403
    if op.roles and role not in op.roles:
        return 403
    return THROUGH


def concrete_path(op: Operation, world: World) -> str:
    values = {
        "case_id": world.case_a,
        "link_id": world.spare_link_a,
        "action": "no-such-action",  # authorization comes before the action is looked up
        "code": "food-business",
        "slug": "not-found",
        "token": world.token_a,
        "token_id": 2**31 - 1,  # nobody's: revoking one's own token would end the walk
    }
    return re.sub(r"{(\w+)(?::[^}]*)?}", lambda m: str(values.get(m[1], 1)), op.path)


async def call(world: World, op: Operation, role: str) -> tuple[int, str, str]:
    kwargs: dict[str, Any] = {"headers": world.headers(role)}
    if op.method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    path = concrete_path(op, world)
    # Only the status line and headers: a streaming route (events, video) must not hold the walk.
    async with world.client.request(op.method, path, **kwargs) as resp:
        return resp.status, resp.content_type, f"{op.method} {path} as {role}"


@pytest.mark.parametrize("role", ROLES)
async def test_every_route_admits_exactly_its_audience(client, db, role):
    world = await make_world(client, db)
    operations: list[Operation] = client.app[OPERATIONS]
    assert len(operations) >= 15
    walked = 0
    for op in operations:
        if op.method == "DELETE" and op.path == "/api/session":
            continue  # ending the caller's own session; covered by test_logout_revokes_the_session
        status, content_type, what = await call(world, op, role)
        want = expected_status(op, role)
        assert status < 500, f"{what}: {status}"
        if want is THROUGH:
            assert status not in (401, 403), f"{what}: refused with {status}"
        else:
            assert status == want, f"{what}: {status}, expected {want}"
            assert content_type == "application/problem+json", what
        walked += 1
    assert walked == len(operations) - 1


# Which role may take which step (the applicant on their own case). A role not listed gets 403
# whatever the state; a listed one is refused only by the state (409 on a withdrawn case).
ACTION_ROLES: dict[str, set[str]] = {
    "prereview": {"clerk", "admin"},
    "resubmit": {"applicant_a", "clerk", "admin"},
    "receive_materials": {"clerk", "admin"},
    "start_inspection": {"inspector", "admin"},
    "record_inspection": {"inspector", "admin"},
    "resume_inspection": {"applicant_a", "inspector", "admin"},
    "approve": {"clerk", "admin"},
    "reject": {"clerk", "admin"},
    "issue_certificate": {"clerk", "admin"},
    "mark_delivered": {"clerk", "admin"},
    "close": {"clerk", "admin"},
    "withdraw": {"applicant_a", "clerk", "admin"},
}
VALID_PARAMS: dict[str, dict[str, Any]] = {
    "prereview": {"outcome": "accept"},
    "receive_materials": {"codes": ["application-form"]},
    "record_inspection": {"result": "pass"},
    "reject": {"reasons": ["incomplete"]},
}


async def test_lifecycle_steps_are_taken_only_by_their_roles(client, db):
    world = await make_world(client, db)
    await act(client, world.case_a, "withdraw", applicant_headers(world.token_a))
    before = await (
        await client.get(f"/api/cases/{world.case_a}", headers=world.headers("admin"))
    ).json()

    for action, allowed in ACTION_ROLES.items():
        for role in ROLES:
            resp = await client.post(
                f"/api/cases/{world.case_a}/actions/{action}",
                json=VALID_PARAMS.get(action, {}),
                headers=world.headers(role),
            )
            body = await resp.json()
            if role == "anonymous":
                want = 401
            elif role == "applicant_b":
                want = 404
            else:
                want = 409 if role in allowed else 403
            assert resp.status == want, f"{action} as {role}: {resp.status} {body}"
            if want == 409:
                assert body["state"] == "withdrawn" and body["allowed"] == []

    after = await (
        await client.get(f"/api/cases/{world.case_a}", headers=world.headers("admin"))
    ).json()
    assert after["audit_seq"] == before["audit_seq"]  # no refused step left a trace


async def test_each_role_is_offered_only_its_own_steps(client, db):
    world = await make_world(client, db)
    offered = {}
    for role in ("applicant_a", *STAFF_ROLES):
        resp = await client.get(f"/api/cases/{world.case_a}", headers=world.headers(role))
        offered[role] = {a["name"] for a in (await resp.json())["allowed_actions"]}
    assert offered == {
        "applicant_a": {"withdraw"},
        "clerk": {"prereview", "withdraw"},
        "inspector": set(),
        "admin": {"prereview", "withdraw"},
    }


async def test_applicant_link_opens_only_its_case_while_live(client, db, clock):
    world = await make_world(client, db)
    clerk = world.staff["clerk"].headers
    a, b = world.case_a, world.case_b

    resp = await client.get(f"/api/cases/{b}", headers=applicant_headers(world.token_a))
    assert resp.status == 404  # another case's token: that case looks absent
    resp = await client.get(f"/api/cases/{a}/audit", headers=applicant_headers(world.token_a))
    assert resp.status == 403  # the office's trail is staff-only
    for bogus in ("zta_not-a-real-token", "nonsense", "zts_not-a-real-token"):
        resp = await client.get(f"/api/cases/{a}", headers=applicant_headers(bogus))
        assert resp.status == 401, bogus

    # A short-lived link expires; the case's main link keeps working until its own time.
    resp = await client.post(f"/api/cases/{a}/links", json={"days": 1}, headers=clerk)
    short = (await resp.json())["applicant_token"]
    assert (await client.get(f"/api/cases/{a}", headers=applicant_headers(short))).status == 200
    clock.advance(timedelta(days=2))
    resp = await client.get(f"/api/cases/{a}", headers=applicant_headers(short))
    assert resp.status == 410
    assert "过期" in (await resp.json())["detail"]
    assert (await client.get("/api/link", headers=applicant_headers(short))).status == 410
    resp = await client.get(f"/api/cases/{a}", headers=applicant_headers(world.token_a))
    assert resp.status == 200

    # Revoking the main link closes it at once.
    links = (await (await client.get(f"/api/cases/{a}/links", headers=clerk)).json())["items"]
    resp = await client.delete(f"/api/cases/{a}/links/{links[0]['id']}", headers=clerk)
    assert resp.status == 200
    resp = await client.get(f"/api/cases/{a}", headers=applicant_headers(world.token_a))
    assert resp.status == 410
    assert "作废" in (await resp.json())["detail"]
    resp = await client.post(
        f"/api/cases/{a}/actions/withdraw", json={}, headers=applicant_headers(world.token_a)
    )
    assert resp.status == 410
    resp = await client.get(f"/api/cases/{a}/audit", headers=clerk)
    kinds = [e["kind"] for e in (await resp.json())["events"]]
    assert kinds.count("link.revoked") == 1 and "case.withdraw" not in kinds


async def _log_in(client: TestClient, username: str) -> str:
    resp = await client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    assert "zt_session" in resp.cookies
    assert resp.cookies["zt_session"]["httponly"]
    return (await resp.json())["csrf_token"]


async def test_cookie_session_needs_the_csrf_header_to_change_anything(client, db):
    await make_staff(db, "clerk")
    csrf = await _log_in(client, "clerk")
    application = {
        "matter_code": "food-business",
        "applicant_name": "周七",
        "premises_address": "x",
    }

    assert (await client.get("/api/me")).status == 200  # reading needs no CSRF token
    resp = await client.post("/api/cases", json=application)
    assert resp.status == 403
    assert "X-CSRF-Token" in (await resp.json())["detail"]
    resp = await client.post("/api/cases", json=application, headers={"X-CSRF-Token": "wrong"})
    assert resp.status == 403
    listed = await (await client.get("/api/cases")).json()
    assert listed["items"] == []  # the refused requests created nothing

    resp = await client.post("/api/cases", json=application, headers={"X-CSRF-Token": csrf})
    assert resp.status == 201
    case = (await resp.json())["case"]
    assert case["submitted_via"] == "clerk"
    # Case routes (staff or applicant) hold cookie sessions to the same rule.
    resp = await client.post(f"/api/cases/{case['id']}/actions/withdraw", json={})
    assert resp.status == 403
    resp = await client.post(
        f"/api/cases/{case['id']}/actions/withdraw", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status == 200
    # Public routes treat a cookie without the header as no session: logging in again works.
    resp = await client.post("/api/session", json={"username": "clerk", "password": PASSWORD})
    assert resp.status == 200


async def test_logout_revokes_the_session(client, db):
    await make_staff(db, "clerk")
    csrf = await _log_in(client, "clerk")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["zt_session"].value
    assert (await client.get("/api/me")).status == 200

    resp = await client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    client.session.cookie_jar.clear()
    # The old cookie, replayed, no longer opens anything.
    resp = await client.get("/api/me", cookies={"zt_session": cookie})
    assert resp.status == 401
    resp = await client.get("/api/cases", cookies={"zt_session": cookie})
    assert resp.status == 401


async def test_api_tokens_are_bearer_only_and_a_logout_with_one_revokes_it(client, db):
    clerk = await make_staff(db, "clerk")
    # A bearer token is not a cookie session: as a cookie it opens nothing.
    resp = await client.get("/api/me", cookies={"zt_session": clerk.token})
    assert resp.status == 401
    resp = await client.delete("/api/session", headers=clerk.headers)
    assert resp.status == 200
    assert (await client.get("/api/me", headers=clerk.headers)).status == 401

"""Bad input gets a clear 4xx ``application/problem+json`` and changes nothing.

Every test takes a snapshot of the whole database before the bad requests and compares it after:
a refused request must not leave a row, a status or an audit event behind.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from tests.factories import APPLICATION, act, applicant_headers, apply, make_staff

PROBLEM = "application/problem+json"


# Bookkeeping that refused requests are meant to leave: wrong tokens count towards a lockout.
THROTTLE_TABLES = {"throttle_counters", "security_events"}


async def snapshot(db: Any) -> dict[str, Any]:
    """Every table's row count, and each case's state, chain head and material statuses."""
    async with db.session() as session:
        counts = {
            t.name: (await session.execute(sa.select(sa.func.count()).select_from(t))).scalar_one()
            for t in SQLModel.metadata.sorted_tables
            if t.name not in THROTTLE_TABLES
        }
        cases = (
            await session.execute(
                sa.text("SELECT id, state, audit_seq, audit_head, deadline FROM cases")
            )
        ).all()
        materials = (
            await session.execute(
                sa.text("SELECT case_id, code, status, due_date FROM case_materials ORDER BY id")
            )
        ).all()
        links = (await session.execute(sa.text("SELECT id, revoked_at FROM applicant_links"))).all()
    return {
        "counts": counts,
        "cases": sorted(map(tuple, cases)),
        "materials": [tuple(m) for m in materials],
        "links": sorted(map(tuple, links)),
    }


async def expect_problem(resp: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    text = await resp.text()
    assert resp.status == status, f"{resp.method} {resp.url.path}: {resp.status} {text}"
    assert resp.content_type == PROBLEM, text
    body = await resp.json(content_type=PROBLEM)
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in text
    if slug:
        assert body["type"].endswith(f"/problems/{slug}"), body
    return body


@pytest.fixture
async def world(client, db):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(client)
    other, other_token = await apply(client, applicant_name="王五")
    return {
        "clerk": clerk,
        "case": case["id"],
        "token": token,
        "other": other["id"],
        "other_token": other_token,
    }


BAD_APPLICATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown field", {**APPLICATION, "is_admin": True}, "is_admin"),
    (
        "missing field",
        {k: v for k, v in APPLICATION.items() if k != "applicant_name"},
        "applicant_name",
    ),
    ("name not a string", {**APPLICATION, "applicant_name": 123}, "applicant_name"),
    ("name empty", {**APPLICATION, "applicant_name": "   "}, "applicant_name"),
    ("latitude not a number", {**APPLICATION, "premises_lat": "north"}, "premises_lat"),
    ("latitude out of range", {**APPLICATION, "premises_lat": 91}, "premises_lat"),
    ("email malformed", {**APPLICATION, "applicant_email": "not-an-email"}, "applicant_email"),
    ("phone with letters", {**APPLICATION, "applicant_phone": "call me"}, "applicant_phone"),
    ("name too long", {**APPLICATION, "applicant_name": "x" * 201}, "applicant_name"),
    ("matter unknown", {**APPLICATION, "matter_code": "moon-landing"}, "matter_code"),
    ("matter a list", {**APPLICATION, "matter_code": ["food-business"]}, "matter_code"),
    ("NUL in text", {**APPLICATION, "applicant_name": "李\u0000娜"}, "applicant_name"),
]


@pytest.mark.parametrize(
    ("label", "body", "field"), BAD_APPLICATIONS, ids=[b[0] for b in BAD_APPLICATIONS]
)
async def test_invalid_applications_are_refused_field_by_field(
    client, db, world, label, body, field
):
    before = await snapshot(db)
    for path, headers in (("/api/applications", {}), ("/api/cases", world["clerk"].headers)):
        problem = await expect_problem(
            await client.post(path, json=body, headers=headers), 422, "invalid-input"
        )
        fields = [e["field"] for e in problem.get("errors", [])] or [problem["detail"]]
        assert any(field in f for f in fields), problem
    assert await snapshot(db) == before


RAW_BODIES: list[tuple[str, bytes, str, int, str]] = [
    ("malformed JSON", b'{"matter_code": ', "application/json", 400, "malformed-body"),
    ("not UTF-8", b'{"applicant_name": "\xff\xfe"}', "application/json", 400, "malformed-body"),
    ("NaN", b'{"premises_lat": NaN}', "application/json", 400, "malformed-body"),
    ("lone surrogate", b'{"applicant_name": "\\ud800"}', "application/json", 400, "malformed-body"),
    ("deeply nested", b"[" * 30_000 + b"]" * 30_000, "application/json", 400, "malformed-body"),
    ("a list", b"[1, 2]", "application/json", 422, "invalid-input"),
    ("a string", b'"hello"', "application/json", 422, "invalid-input"),
    ("null", b"null", "application/json", 422, "invalid-input"),
    ("plain text", b"matter_code=food-business", "text/plain", 415, "unsupported-media-type"),
    ("a form", b"matter_code=food-business", "application/x-www-form-urlencoded", 415, None),
]


@pytest.mark.parametrize(
    ("label", "raw", "content_type", "status", "slug"), RAW_BODIES, ids=[r[0] for r in RAW_BODIES]
)
async def test_unreadable_bodies_are_refused(
    client, db, world, label, raw, content_type, status, slug
):
    before = await snapshot(db)
    targets = [
        ("/api/applications", {}),
        (f"/api/cases/{world['case']}/actions/prereview", world["clerk"].headers),
        (f"/api/cases/{world['case']}/actions/withdraw", applicant_headers(world["token"])),
    ]
    for path, headers in targets:
        resp = await client.post(path, data=raw, headers={**headers, "Content-Type": content_type})
        await expect_problem(resp, status, slug)
    assert await snapshot(db) == before


async def test_oversize_bodies_get_413_whether_announced_or_streamed(client, db, world):
    before = await snapshot(db)
    big = {**APPLICATION, "organisation": "x" * (70 * 1024)}
    problem = await expect_problem(
        await client.post("/api/applications", json=big), 413, "too-large"
    )
    assert "65536" in problem["detail"]

    async def chunks():  # no Content-Length: the server must stop reading at the limit
        yield b'{"applicant_name": "'
        for _ in range(80):
            yield b"y" * 1024
        yield b'"}'

    resp = await client.post(
        f"/api/cases/{world['case']}/actions/withdraw",
        data=chunks(),
        headers={**applicant_headers(world["token"]), "Content-Type": "application/json"},
    )
    await expect_problem(resp, 413, "too-large")
    assert await snapshot(db) == before
    # The server is still fine afterwards.
    assert (await client.get("/api/health")).status == 200


async def test_unknown_and_malformed_ids(client, db, world):
    before = await snapshot(db)
    staff = world["clerk"].headers
    case = world["case"]
    for path in ("/api/cases/999999", "/api/cases/999999/audit", "/api/cases/999999/links"):
        await expect_problem(await client.get(path, headers=staff), 404, "not-found")
    resp = await client.post("/api/cases/999999/actions/withdraw", json={}, headers=staff)
    await expect_problem(resp, 404, "not-found")
    resp = await client.post("/api/cases/999999/links", json={}, headers=staff)
    await expect_problem(resp, 404, "not-found")
    await expect_problem(await client.delete(f"/api/cases/{case}/links/999999", headers=staff), 404)
    # A link of one case cannot be revoked through another.
    other_links = await (
        await client.get(f"/api/cases/{world['other']}/links", headers=staff)
    ).json()
    link_of_b = other_links["items"][0]["id"]
    await expect_problem(
        await client.delete(f"/api/cases/{case}/links/{link_of_b}", headers=staff), 404
    )
    for bad in ("abc", "-1", "0", "1.5", "0x10", "%20", "1e3", "٣", "2147483648", "9" * 40):
        await expect_problem(
            await client.get(f"/api/cases/{bad}", headers=staff), 422, "invalid-input"
        )
        resp = await client.post(f"/api/cases/{bad}/actions/withdraw", json={}, headers=staff)
        await expect_problem(resp, 422)
    await expect_problem(await client.get("/api/matters/moon-landing"), 404)
    await expect_problem(await client.get("/api/no-such-thing"), 404)
    await expect_problem(await client.get("/problems/no-such-problem"), 404)
    resp = await client.put("/api/cases", json={}, headers=staff)
    await expect_problem(resp, 405)
    assert "GET" in resp.headers["Allow"]
    assert await snapshot(db) == before


async def test_unknown_actions_and_bad_parameters_change_nothing(client, db, world, clock):
    clerk = world["clerk"].headers
    base = f"/api/cases/{world['case']}/actions"
    before = await snapshot(db)
    problem = await expect_problem(
        await client.post(f"{base}/teleport", json={}, headers=clerk), 422
    )
    assert "prereview" in problem["known"]
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    bad_params = [
        ("prereview", {}),  # outcome missing
        ("prereview", {"outcome": "maybe"}),
        ("prereview", {"outcome": "accept", "sneaky": 1}),
        ("prereview", {"outcome": "return"}),  # a return needs reasons
        ("prereview", {"outcome": "return", "reasons": "not a list"}),
        ("prereview", {"outcome": "accept", "outstanding": [{"code": "layout-plan"}]}),
        (
            "prereview",
            {
                "outcome": "accept",
                "outstanding": [{"code": "layout-plan", "due_date": "2026-13-45"}],
            },
        ),
        (
            "prereview",
            {
                "outcome": "accept",
                "outstanding": [{"code": "layout-plan", "due_date": "2000-01-01"}],
            },
        ),
        # The first item is fine, the second is not: nothing of the first may stick.
        (
            "prereview",
            {
                "outcome": "accept",
                "outstanding": [
                    {"code": "layout-plan", "due_date": tomorrow},
                    {"code": "no-such-material", "due_date": tomorrow},
                ],
            },
        ),
        ("withdraw", {"note": "x" * 2001}),
        ("withdraw", {"note": 5}),
    ]
    for action, params in bad_params:
        resp = await client.post(f"{base}/{action}", json=params, headers=clerk)
        await expect_problem(resp, 422, "invalid-input")
    assert await snapshot(db) == before

    # Accepted, then steps that need state or data the case does not have.
    await act(client, world["case"], "prereview", clerk, outcome="accept")
    before = await snapshot(db)
    resp = await client.post(
        f"{base}/receive_materials", json={"codes": ["application-form", "nope"]}, headers=clerk
    )
    await expect_problem(resp, 422)
    resp = await client.post(f"{base}/receive_materials", json={"codes": []}, headers=clerk)
    await expect_problem(resp, 422)
    await expect_problem(
        await client.post(f"{base}/prereview", json={"outcome": "accept"}, headers=clerk), 409
    )
    assert await snapshot(db) == before


async def test_other_cases_tokens_and_dead_links_change_nothing(client, db, world, clock):
    case, clerk = world["case"], world["clerk"].headers
    before = await snapshot(db)
    resp = await client.post(
        f"/api/cases/{case}/actions/withdraw",
        json={},
        headers=applicant_headers(world["other_token"]),
    )
    await expect_problem(resp, 404, "not-found")
    resp = await client.post(
        f"/api/cases/{case}/actions/withdraw", json={}, headers=applicant_headers("zta_forged")
    )
    await expect_problem(resp, 401, "unauthenticated")
    assert await snapshot(db) == before

    clock.advance(timedelta(days=31))  # past the link's 30 days
    before = await snapshot(db)
    resp = await client.post(
        f"/api/cases/{case}/actions/withdraw", json={}, headers=applicant_headers(world["token"])
    )
    await expect_problem(resp, 410, "gone")
    await expect_problem(
        await client.get("/api/link", headers=applicant_headers(world["token"])), 410
    )
    assert await snapshot(db) == before
    # Staff can still act on the case and issue a fresh link.
    resp = await client.post(f"/api/cases/{case}/links", json={"days": 0}, headers=clerk)
    await expect_problem(resp, 422)
    resp = await client.post(
        f"/api/cases/{case}/links", json={"revoke_others": "yes please"}, headers=clerk
    )
    await expect_problem(resp, 422)
    assert await snapshot(db) == before


BAD_QUERIES = [
    "limit=0",
    "limit=abc",
    "limit=100000",
    "offset=-1",
    "state=bogus",
    "due=later",
    "bogus=1",
    "q=" + "x" * 101,
    "q=%00",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_bad_list_queries(client, world, query):
    resp = await client.get(f"/api/cases?{query}", headers=world["clerk"].headers)
    await expect_problem(resp, 422, "invalid-input")


async def test_bad_account_requests(client, db, world):
    before = await snapshot(db)
    await expect_problem(
        await client.post("/api/session", json={"username": "clerk", "password": "wrong"}), 401
    )
    await expect_problem(await client.post("/api/session", json={"username": "clerk"}), 422)
    await expect_problem(
        await client.post("/api/session", json={"username": "", "password": "x"}), 422
    )
    clerk = world["clerk"].headers
    resp = await client.post(
        "/api/me/password",
        json={"current_password": "correct horse battery", "new_password": "short"},
        headers=clerk,
    )
    await expect_problem(resp, 422)
    resp = await client.post(
        "/api/me/password",
        json={"current_password": "wrong", "new_password": "long enough now"},
        headers=clerk,
    )
    await expect_problem(resp, 401)
    await expect_problem(
        await client.post("/api/tokens", json={"label": "x", "hours": 0}, headers=clerk), 422
    )
    await expect_problem(await client.post("/api/users", json={}, headers=clerk), 403)
    assert await snapshot(db) == before
    # The password did not change.
    resp = await client.post(
        "/api/session", json={"username": "clerk", "password": "correct horse battery"}
    )
    assert resp.status == 200

"""Department scoping holds on every staff route that reads or changes one case: a member of
another department gets the 404 of a case that does not exist (problem+json in their
language), the case is left as it was, and the rectifications list leaves the case out.

The routes are enumerated from the running app, so a new route that takes a case (or a record
of one) in its path is checked without being listed here, and a route whose path parameter is
not known to :mod:`zerotrip.api.case_scope` fails until it is declared there or below.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlmodel import select

from tests.admin.test_admin_api import _account, _department, _token
from tests.factories import Staff, applicant_headers, make_staff, walk
from zerotrip.api.case_scope import CASE_PARAMETERS
from zerotrip.api.keys import OPERATIONS
from zerotrip.db import Database, session_now
from zerotrip.live.models import LiveSession
from zerotrip.media.models import Evidence
from zerotrip.review.models import Certificate
from zerotrip.worklist.models import StaffTask

# Staff path parameters that name no case's record (accounts, departments, the catalogue...).
NOT_A_CASE = frozenset({"user_id", "dept_id", "day", "code", "token_id", "chart", "slug"})
# Parameters that name a part of a record only beside the parameter that scopes it (a case's
# checkpoint, hand-in, link or material; a live session's invitation).
BESIDE_CASE = frozenset(
    {"checkpoint_id", "hand_in_id", "code", "link_id", "action", "invitation_id"}
)
STAFF_AUDIENCES = ("staff", "admin", "case", "signed_in")
PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")


def _staff_operations(client: TestClient) -> list[Any]:
    return [op for op in client.app[OPERATIONS] if op.audience in STAFF_AUDIENCES]


def test_every_staff_path_parameter_is_scoped_or_declared_unrelated(client: TestClient) -> None:
    unknown = {
        (op.method, op.path, name)
        for op in _staff_operations(client)
        for name in PARAM.findall(op.path)
        if name not in CASE_PARAMETERS and name not in NOT_A_CASE | BESIDE_CASE
    }
    assert not unknown, f"say in zerotrip/api/case_scope.py which case these name: {unknown}"
    loose = {
        (op.method, op.path)
        for op in _staff_operations(client)
        if set(PARAM.findall(op.path)) & BESIDE_CASE
        and not set(PARAM.findall(op.path)) & set(CASE_PARAMETERS)
        and not op.path.startswith("/api/admin/") and not op.path.startswith("/api/matters/")
    }  # fmt: skip
    assert not loose, f"these name a case's record without its case: {loose}"


async def _records(db: Database, case_id: int) -> dict[str, str]:
    """One record of every kind a staff path can name, on ``case_id``."""
    async with db.transaction() as session:
        now = session_now(session)
        evidence = Evidence(
            case_id=case_id, kind="photo", source="capture", sha256="0" * 64,
            blob_key="evidence/none", media_type="image/jpeg", size=1, received_at=now,
            actor_kind="applicant",
        )  # fmt: skip
        live = LiveSession(
            case_id=case_id, slot_start=now, slot_end=now + timedelta(minutes=30), booked_at=now
        )
        session.add(evidence)
        session.add(live)
        await session.flush()
        found = {"evidence_id": str(evidence.id), "session_id": str(live.id)}
    async with db.session() as session:
        cert = (await session.exec(select(Certificate).where(Certificate.case_id == case_id))).one()
        task = (await session.exec(select(StaffTask).where(StaffTask.case_id == case_id))).first()
    found["certificate_code"] = cert.code
    assert task is not None
    found["task_id"] = str(task.id)
    return found


async def _problem_zh(resp: Any, ids: dict[str, str]) -> dict[str, Any]:
    assert resp.status == 404, (resp.method, resp.url, resp.status, await resp.text())
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    words = body["title"] + body["detail"]
    for raw in ids.values():
        words = words.replace(raw, "")
    assert not re.search(r"[A-Za-z]{3,}", words), body
    return body


async def test_another_departments_case_is_absent_on_every_staff_route(client, db) -> None:
    admin = await make_staff(db, "admin", "chief")
    market = await _department(client, admin, "market", "市场监管局")
    health = await _department(client, admin, "health", "卫生健康委")
    for code, dept in (("food-business", market), ("swimming-venue", health)):
        resp = await client.put(
            f"/api/admin/matters/{code}", json={"department_id": dept}, headers=admin.headers
        )
        assert resp.status == 200, await resp.text()
    clerk = await make_staff(db, "clerk", "desk")
    inspector = await make_staff(db, "inspector", "field")
    food = await walk(client, clerk, inspector, until="delivered")
    resp = await client.post(
        f"/api/cases/{food.id}/ratings",
        json={"step": "delivery", "level": "very_dissatisfied", "comment": "太慢"},
        headers=applicant_headers(food.token),
    )
    assert resp.status == 201, await resp.text()
    rating_id = (await resp.json())["id"]
    resp = await client.post(f"/api/cases/{food.id}/bundle", headers=admin.headers)
    assert resp.status == 202, await resp.text()
    job_id = (await resp.json())["id"]
    mailing = await (
        await client.get(f"/api/cases/{food.id}/mailing", headers=admin.headers)
    ).json()
    ids = await _records(db, food.id)
    ids.update(case_id=str(food.id), rating_id=str(rating_id), job_id=str(job_id))
    ids["order_id"] = str(mailing["orders"][0]["id"])
    assert set(ids) == set(CASE_PARAMETERS)

    outsiders: dict[str, Staff] = {}
    for role in ("clerk", "inspector"):
        await _account(client, admin, f"health-{role}", role, [health])
        token = await _token(client, f"health-{role}")
        outsiders[role] = Staff(f"health-{role}", role, token)
    trail = await (await client.get(f"/api/cases/{food.id}/audit", headers=admin.headers)).json()

    checked = []
    for op in _staff_operations(client):
        names = PARAM.findall(op.path)
        if not set(names) & set(CASE_PARAMETERS) or op.audience == "admin":
            continue
        path = PARAM.sub(lambda m: ids.get(m.group(1), "1"), op.path)
        role = next((r for r in op.roles if r != "admin"), "clerk")
        headers = {**outsiders[role].headers, "Accept-Language": "zh-CN"}
        resp = await client.request(op.method, path, json={}, headers=headers)
        await _problem_zh(resp, ids)
        checked.append((op.method, op.path))
    assert len(checked) >= 30, checked

    # The live socket's route is public (its credential may come in the first message): the
    # inspector of another department is refused there too, before joining.
    ws = await client.session.ws_connect(
        client.make_url(f"/api/live/sessions/{ids['session_id']}/ws"),
        headers=outsiders["inspector"].headers,
    )
    refused = await ws.receive_json(timeout=30)
    assert (refused["type"], refused["status"]) == ("error", 404), refused
    await ws.close()

    after = await (await client.get(f"/api/cases/{food.id}/audit", headers=admin.headers)).json()
    assert after == trail  # nothing was read into or changed on the case
    # The answer is the one a case that does not exist gets: its existence does not leak.
    headers = {**outsiders["clerk"].headers, "Accept-Language": "zh-CN"}
    hidden = await (await client.get(f"/api/cases/{food.id}", headers=headers)).json()
    missing = await (await client.get("/api/cases/999999", headers=headers)).json()
    assert hidden["detail"] == missing["detail"].replace("999999", str(food.id))
    headers["Accept-Language"] = "en"
    resp = await client.get(f"/api/cases/{food.id}/audit", headers=headers)
    assert resp.status == 404 and (await resp.json())["detail"] == f"No case {food.id}."

    # The rectification opened by the rating is the market's, not the health clerk's.
    def listed(page: dict[str, Any]) -> set[int]:
        return {item["id"] for item in page["items"]}

    resp = await client.get("/api/rectifications", headers=outsiders["clerk"].headers)
    assert rating_id not in listed(await resp.json())
    resp = await client.get("/api/rectifications", headers=admin.headers)
    assert rating_id in listed(await resp.json())
    # A member of the market sees and opens it.
    await _account(client, admin, "market-clerk", "clerk", [market])
    insider = {"Authorization": f"Bearer {await _token(client, 'market-clerk')}"}
    assert rating_id in listed(
        await (await client.get("/api/rectifications", headers=insider)).json()
    )
    assert (await client.get(f"/api/cases/{food.id}", headers=insider)).status == 200

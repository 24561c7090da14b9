"""Setting an office up through the administration API: accounts, departments and what each
member sees, the office profile couriers get, the working calendar deadlines count with, and
matter versions that running cases do not follow."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from aiohttp.test_utils import TestClient

from tests.factories import PASSWORD, Staff, act, advance, apply, make_staff
from zerotrip.admin.office import office_address
from zerotrip.api.keys import CALENDAR, SETTINGS
from zerotrip.mailing.models import CourierOrder
from zerotrip.worklist.service import open_task


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _department(client: TestClient, admin: Staff, code: str, name: str) -> int:
    resp = await client.post(
        "/api/admin/departments", json={"code": code, "name_zh": name}, headers=admin.headers
    )
    return (await _ok(resp, 201))["id"]


async def _account(
    client: TestClient, admin: Staff, username: str, role: str, depts: list[int]
) -> dict[str, Any]:
    body = {
        "username": username,
        "display_name": username.title(),
        "role": role,
        "password": PASSWORD,
        "departments": depts,
    }
    return await _ok(await client.post("/api/admin/staff", json=body, headers=admin.headers), 201)


async def _token(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in (changing the first password) and take an API token, as a new member would."""
    resp = await client.post("/api/session", json={"username": username, "password": password})
    signed = await _ok(resp)
    headers = {"X-CSRF-Token": signed["csrf_token"]}
    if signed["user"]["must_change_password"]:
        change = {"current_password": password, "new_password": PASSWORD + " changed"}
        await _ok(await client.post("/api/me/password", json=change, headers=headers))
    resp = await client.post("/api/tokens", json={"label": "test"}, headers=headers)
    return (await _ok(resp, 201))["token"]


async def _references(client: TestClient, token: str) -> set[str]:
    resp = await client.get("/api/cases", headers={"Authorization": f"Bearer {token}"})
    return {c["reference"] for c in (await _ok(resp))["items"]}


async def test_cases_and_tasks_scope_to_the_viewers_departments(client, db):
    admin = await make_staff(db, "admin", "chief")
    market = await _department(client, admin, "market", "市场监管局")
    health = await _department(client, admin, "health", "卫生健康委")
    for code, dept in (("food-business", market), ("swimming-venue", health)):
        resp = await client.put(
            f"/api/admin/matters/{code}", json={"department_id": dept}, headers=admin.headers
        )
        assert (await _ok(resp))["department_id"] == dept
    food, _ = await apply(client, matter_code="food-business")
    pool, _ = await apply(client, matter_code="swimming-venue")
    shop, _ = await apply(client, matter_code="pharmacy-retail")  # owned by no department
    await _account(client, admin, "zhang", "clerk", [market])
    await _account(client, admin, "liu", "clerk", [health])
    await _account(client, admin, "both", "clerk", [market, health])
    await _account(client, admin, "newcomer", "clerk", [])
    refs = {c["reference"] for c in (food, pool, shop)}
    assert await _references(client, await _token(client, "zhang")) == {
        food["reference"],
        shop["reference"],
    }
    assert await _references(client, await _token(client, "liu")) == {
        pool["reference"],
        shop["reference"],
    }
    assert await _references(client, await _token(client, "both")) == refs
    assert await _references(client, await _token(client, "newcomer")) == refs
    assert await _references(client, admin.token) == refs


async def test_a_new_account_must_change_its_first_password_and_can_be_disabled(client, db):
    admin = await make_staff(db, "admin", "chief")
    created = await _account(client, admin, "wang", "inspector", [])
    assert created["must_change_password"] is True
    signed = await _ok(
        await client.post("/api/session", json={"username": "wang", "password": PASSWORD})
    )
    resp = await client.get(
        "/api/cases", headers={"X-CSRF-Token": signed["csrf_token"]}
    )  # the session cookie works only for changing the password
    assert resp.status == 403
    token = await _token(client, "wang")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/cases", headers=bearer)).status == 200
    resp = await client.put(
        f"/api/admin/staff/{created['id']}", json={"active": False}, headers=admin.headers
    )
    assert (await _ok(resp))["active"] is False
    assert (await client.get("/api/cases", headers=bearer)).status == 401
    resp = await client.post("/api/session", json={"username": "wang", "password": PASSWORD})
    assert resp.status == 401


async def test_a_password_reset_ends_sessions_and_forces_a_change(client, db):
    admin = await make_staff(db, "admin", "chief")
    created = await _account(client, admin, "zhao", "clerk", [])
    token = await _token(client, "zhao")
    resp = await client.post(
        f"/api/admin/staff/{created['id']}/password-reset", headers=admin.headers
    )
    reset = await _ok(resp)
    assert reset["account"]["must_change_password"] is True
    assert (
        await client.get("/api/cases", headers={"Authorization": f"Bearer {token}"})
    ).status == 401
    old = {"username": "zhao", "password": PASSWORD + " changed"}
    assert (await client.post("/api/session", json=old)).status == 401
    assert await _token(client, "zhao", reset["password"])


async def test_the_last_administrator_cannot_be_disabled_or_demoted(client, db):
    admin = await make_staff(db, "admin", "chief")
    me = next(
        u
        for u in (await _ok(await client.get("/api/admin/staff", headers=admin.headers)))["items"]
        if u["username"] == "chief"
    )
    for change in ({"active": False}, {"role": "clerk"}):
        resp = await client.put(f"/api/admin/staff/{me['id']}", json=change, headers=admin.headers)
        assert resp.status == 409
        assert resp.content_type == "application/problem+json"
    second = await _account(client, admin, "deputy", "admin", [])
    resp = await client.put(
        f"/api/admin/staff/{me['id']}", json={"role": "clerk"}, headers=admin.headers
    )
    assert (await _ok(resp))["role"] == "clerk"
    assert second["role"] == "admin"


async def test_the_office_profile_is_what_couriers_get(client, db):
    admin = await make_staff(db, "admin", "chief")
    settings = client.app[SETTINGS]
    before = await _ok(await client.get("/api/admin/office", headers=admin.headers))
    assert before["name"] == settings.office_name  # the settings are the defaults
    profile = {
        "name": "西湖区政务服务中心",
        "street": "文三路 100 号",
        "city": "杭州市",
        "state": "浙江省",
        "zip": "310012",
        "country": "CN",
        "phone": "0571-8888 0000",
    }
    await _ok(await client.put("/api/admin/office", json=profile, headers=admin.headers))
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    case, _ = await apply(client)
    await advance(client, case["id"], clerk, inspector, until="accepted")
    async with db.session() as session:
        assert (await office_address(session, settings))["name"] == profile["name"]
        orders = (await session.execute(sa.select(CourierOrder))).scalars().all()
    assert orders and orders[0].recipient["street1"] == "文三路 100 号"
    bad = {**profile, "zip": "杭州"}
    resp = await client.put("/api/admin/office", json=bad, headers=admin.headers)
    assert resp.status == 422
    assert (await _ok(await client.get("/api/admin/office", headers=admin.headers))) == profile


async def test_the_calendar_is_prefilled_editable_and_counted_with(client, db):
    admin = await make_staff(db, "admin", "chief")
    resp = await client.post(
        "/api/admin/calendar/prefill", json={"year": 2026}, headers=admin.headers
    )
    assert (await _ok(resp))["added"] > 20
    again = await client.post(
        "/api/admin/calendar/prefill", json={"year": 2026}, headers=admin.headers
    )
    assert (await _ok(again))["added"] == 0  # saved days are kept, never doubled
    view = await _ok(await client.get("/api/admin/calendar?year=2026", headers=admin.headers))
    days = {d["day"]: d for d in view["days"]}
    assert days["2026-10-01"]["kind"] == "holiday" and days["2026-10-01"]["name"] == "国庆节"
    assert days["2026-10-10"]["kind"] == "workday"  # a Saturday worked (调休)
    calendar = client.app[CALENDAR]
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert calendar.is_working_day(date(2026, 10, 10))
    resp = await client.put(
        "/api/admin/calendar/2026-12-01",
        json={"kind": "holiday", "name": "本地假日"},
        headers=admin.headers,
    )
    await _ok(resp)
    assert not calendar.is_working_day(date(2026, 12, 1))
    await _ok(await client.delete("/api/admin/calendar/2026-12-01", headers=admin.headers))
    assert calendar.is_working_day(date(2026, 12, 1))
    resp = await client.post(
        "/api/admin/calendar/prefill", json={"year": 2099}, headers=admin.headers
    )
    assert resp.status == 422
    assert "手工录入" in (await resp.json())["detail"]
    resp = await client.put(
        "/api/admin/calendar/2026-02-30", json={"kind": "holiday"}, headers=admin.headers
    )
    assert resp.status == 422


async def test_a_new_matter_version_leaves_running_cases_as_they_were(client, db, clock):
    admin = await make_staff(db, "admin", "chief")
    clerk = await make_staff(db, "clerk")
    old_case, _ = await apply(client)
    matter = next(
        m
        for m in (await _ok(await client.get("/api/admin/matters", headers=admin.headers)))["items"]
        if m["code"] == "food-business"
    )
    edited = {
        "time_limit_working_days": 3,
        "materials": matter["materials"][:3],
        "checklist": matter["checklist"][:2],
        "note": "简化材料",
    }
    resp = await client.post(
        "/api/admin/matters/food-business/versions", json=edited, headers=admin.headers
    )
    saved = await _ok(resp, 201)
    assert (saved["version"], saved["time_limit_working_days"]) == (1, 3)
    offered = {m["code"]: m for m in (await _ok(await client.get("/api/matters")))["items"]}
    assert offered["food-business"]["time_limit_working_days"] == 3  # the current version
    assert len(offered["food-business"]["materials"]) == 3
    one = await _ok(await client.get("/api/matters/food-business"))
    assert one["time_limit_working_days"] == 3
    new_case, _ = await apply(client)
    for case_id, limit, materials in ((old_case["id"], 10, 7), (new_case["id"], 3, 3)):
        view = await act(client, case_id, "prereview", clerk.headers, outcome="accept")
        assert len(view["materials"]) == materials
        today = clock.today()
        deadline = date.fromisoformat(view["deadline"])
        assert client.app[CALENDAR].working_days_between(today, deadline) == limit
    resp = await client.put(
        "/api/admin/matters/food-business", json={"enabled": False}, headers=admin.headers
    )
    assert (await _ok(resp))["enabled"] is False
    resp = await client.post(
        "/api/applications", json={**_application(), "matter_code": "food-business"}
    )
    assert resp.status == 422
    # A withdrawn matter is not offered; staff lists still name it for its running cases.
    listed = (await _ok(await client.get("/api/matters")))["items"]
    assert "food-business" not in {m["code"] for m in listed} and listed
    resp = await client.get("/api/matters/food-business", headers={"Accept-Language": "zh-CN"})
    assert resp.status == 404 and "food-business" in (await resp.json())["detail"]
    every = (await _ok(await client.get("/api/matters?withdrawn=true")))["items"]
    assert {m["code"]: m["offered"] for m in every}["food-business"] is False
    events = await _ok(await client.get("/api/admin/events", headers=admin.headers))
    kinds = [e["kind"] for e in events["items"]]
    assert "matter.versioned" in kinds and "matter.configured" in kinds


def _application() -> dict[str, Any]:
    from tests.factories import APPLICATION

    return dict(APPLICATION)


async def test_staff_who_are_not_administrators_cannot_administer(client, db):
    clerk = await make_staff(db, "clerk")
    for method, path in (
        ("GET", "/api/admin/staff"),
        ("PUT", "/api/admin/office"),
        ("POST", "/api/admin/calendar/prefill"),
        ("POST", "/api/admin/departments"),
    ):
        resp = await client.request(method, path, json={}, headers=clerk.headers)
        assert resp.status == 403, (method, path)
    assert (await client.get("/api/departments", headers=clerk.headers)).status == 200


async def test_tasks_scope_to_the_viewers_departments(client, db):
    admin = await make_staff(db, "admin", "chief")
    market = await _department(client, admin, "market", "市场监管局")
    health = await _department(client, admin, "health", "卫生健康委")
    for code, dept in (("food-business", market), ("swimming-venue", health)):
        await client.put(
            f"/api/admin/matters/{code}", json={"department_id": dept}, headers=admin.headers
        )
    food, _ = await apply(client, matter_code="food-business")
    pool, _ = await apply(client, matter_code="swimming-venue")
    async with db.transaction() as session:
        for case_id, title in ((food["id"], "食品"), (pool["id"], "泳池"), (None, "无办件")):
            await open_task(session, kind="test", title=title, case_id=case_id)
    await _account(client, admin, "zhang", "clerk", [market])
    bearer = {"Authorization": f"Bearer {await _token(client, 'zhang')}"}
    seen = {
        t["title"] for t in (await _ok(await client.get("/api/tasks", headers=bearer)))["items"]
    }
    assert seen == {"食品", "无办件"}
    every = await _ok(await client.get("/api/tasks", headers=admin.headers))
    assert {t["title"] for t in every["items"]} == {"食品", "泳池", "无办件"}

"""Ratings (好差评): who may rate what and when, and the rectification a complaint opens."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import applicant_headers, make_staff, walk


async def _staff(db):
    return await make_staff(db, "clerk"), await make_staff(db, "inspector")


async def test_satisfied_rating_after_delivery_opens_nothing(client, db):
    clerk, inspector = await _staff(db)
    case, token = await walk(client, clerk, inspector)
    cid = case["id"]
    resp = await client.get(f"/api/cases/{cid}/ratings", headers=applicant_headers(token))
    listing = await resp.json()
    assert listing["rateable"] == ["prereview", "inspection", "certificate", "delivery"]

    resp = await client.post(
        f"/api/cases/{cid}/ratings",
        json={"step": "delivery", "level": "very_satisfied", "comment": "很快，不用跑腿"},
        headers=applicant_headers(token),
    )
    assert resp.status == 201, await resp.text()
    rating = await resp.json()
    assert rating["score"] == 5 and "rectification" not in rating

    resp = await client.get(f"/api/cases/{cid}/ratings", headers=applicant_headers(token))
    assert "delivery" not in (await resp.json())["rateable"]
    audit = await (await client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)).json()
    rated = [e for e in audit["events"] if e["kind"] == "rating.submitted"]
    assert [e["payload"]["level"] for e in rated] == ["very_satisfied"]
    assert audit["verification"]["ok"] is True


async def test_refused_twice_before_the_step_and_for_another_case(client, db):
    clerk, inspector = await _staff(db)
    early, early_token = await walk(client, clerk, inspector, until="inspecting")
    done, done_token = await walk(client, clerk, inspector)

    before = await client.post(
        f"/api/cases/{early['id']}/ratings",
        json={"step": "delivery", "level": "satisfied"},
        headers=applicant_headers(early_token),
    )
    assert before.status == 409
    assert before.content_type == "application/problem+json"
    assert "尚未进行" in (await before.json())["detail"]

    others = await client.post(
        f"/api/cases/{done['id']}/ratings",
        json={"step": "delivery", "level": "very_dissatisfied"},
        headers=applicant_headers(early_token),
    )
    assert others.status == 404
    assert others.content_type == "application/problem+json"

    by_staff = await client.post(
        f"/api/cases/{done['id']}/ratings",
        json={"step": "delivery", "level": "satisfied"},
        headers=clerk.headers,
    )
    assert by_staff.status == 403

    first = await client.post(
        f"/api/cases/{done['id']}/ratings",
        json={"step": "delivery", "level": "satisfied"},
        headers=applicant_headers(done_token),
    )
    assert first.status == 201
    twice = await client.post(
        f"/api/cases/{done['id']}/ratings",
        json={"step": "delivery", "level": "very_satisfied"},
        headers=applicant_headers(done_token),
    )
    assert twice.status == 409
    assert "已经评价过" in (await twice.json())["detail"]

    bad_level = await client.post(
        f"/api/cases/{done['id']}/ratings",
        json={"step": "certificate", "level": "meh"},
        headers=applicant_headers(done_token),
    )
    assert bad_level.status == 422


async def test_dissatisfied_rating_opens_a_task_that_becomes_overdue(client, db, clock):
    clerk, inspector = await _staff(db)
    case, token = await walk(client, clerk, inspector)
    cid = case["id"]
    resp = await client.post(
        f"/api/cases/{cid}/ratings",
        json={"step": "delivery", "level": "dissatisfied", "comment": "快递员态度差"},
        headers=applicant_headers(token),
    )
    assert resp.status == 201
    rating_id = (await resp.json())["id"]

    tasks = await (await client.get("/api/rectifications", headers=clerk.headers)).json()
    assert tasks["total"] == 1
    task = tasks["items"][0]
    assert task["id"] == rating_id
    assert task["rectification"]["state"] == "open"
    assert task["rectification"]["overdue"] is False
    assert task["rectification"]["owner_id"] is not None  # the clerk who delivered
    due = task["rectification"]["due_date"]
    assert due > clock.today().isoformat()

    staff_tasks = await (
        await client.get("/api/tasks?kind=rating.rectification", headers=clerk.headers)
    ).json()
    assert [t["id"] for t in staff_tasks["items"]] == [task["rectification"]["task_id"]]
    assert staff_tasks["items"][0]["owner_id"] == task["rectification"]["owner_id"]

    clock.advance(timedelta(days=10))
    tasks = await (await client.get("/api/rectifications", headers=clerk.headers)).json()
    assert tasks["items"][0]["rectification"]["overdue"] is True

    resp = await client.post(
        f"/api/ratings/{rating_id}/reply", json={"text": "已约谈快递公司"}, headers=clerk.headers
    )
    assert (await resp.json())["rectification"]["state"] == "open"
    resp = await client.post(
        f"/api/ratings/{rating_id}/call",
        json={"outcome": "reached", "note": "申请人表示认可"},
        headers=clerk.headers,
    )
    body = await resp.json()
    assert body["rectification"]["state"] == "done"
    assert body["rectification"]["overdue"] is False
    again = await client.post(
        f"/api/ratings/{rating_id}/reply", json={"text": "again"}, headers=clerk.headers
    )
    assert again.status == 409

    open_now = await (await client.get("/api/rectifications", headers=clerk.headers)).json()
    assert open_now["total"] == 0
    staff_tasks = await (
        await client.get("/api/tasks?kind=rating.rectification", headers=clerk.headers)
    ).json()
    assert staff_tasks["items"] == []  # the staff task closed with the rectification
    mine = await (
        await client.get(f"/api/cases/{cid}/ratings", headers=applicant_headers(token))
    ).json()
    assert mine["items"][0]["reply"] == "已约谈快递公司"
    assert "rectification" not in mine["items"][0]


async def test_overdue_rectifications_are_listed_first(client, db, clock):
    clerk, inspector = await _staff(db)
    old, old_token = await walk(client, clerk, inspector)
    await client.post(
        f"/api/cases/{old['id']}/ratings",
        json={"step": "delivery", "level": "very_dissatisfied"},
        headers=applicant_headers(old_token),
    )
    clock.advance(timedelta(days=12))
    new, new_token = await walk(client, clerk, inspector)
    await client.post(
        f"/api/cases/{new['id']}/ratings",
        json={"step": "prereview", "level": "dissatisfied"},
        headers=applicant_headers(new_token),
    )
    items = (await (await client.get("/api/rectifications", headers=clerk.headers)).json())["items"]
    assert [i["case_id"] for i in items] == [old["id"], new["id"]]
    assert [i["rectification"]["overdue"] for i in items] == [True, False]

"""Outstanding (容缺) materials handed in through the API: upload (stored by hash, audited) or
mail, the clerk's decision, approval unblocked only by an accepted hand-in, the overdue flag."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from tests.factories import act, applicant_headers, apply, judge_all, make_staff
from zerotrip.media.keys import original_key

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 2000
CODE = "staff-health-certs"


async def _accepted(client, db, clock, days=10):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(client)
    due = (clock.today() + timedelta(days=days)).isoformat()
    await act(
        client, case["id"], "prereview", clerk.headers,
        outcome="accept", outstanding=[{"code": CODE, "due_date": due}],
    )  # fmt: skip
    return case["id"], applicant_headers(token), clerk


async def _upload(client, cid, headers, body=PDF, code=CODE, name="健康证.pdf"):
    from urllib.parse import quote

    return await client.post(
        f"/api/cases/{cid}/materials/{code}/hand-in",
        data=body,
        headers={**headers, "Content-Type": "application/octet-stream", "X-Filename": quote(name)},
    )


async def test_upload_is_stored_by_hash_audited_and_accepted_by_the_clerk(
    client, db, clock, settings
):
    cid, applicant, clerk = await _accepted(client, db, clock)
    view = await (await client.get(f"/api/cases/{cid}", headers=applicant)).json()
    assert next(s["kind"] for s in view["next_steps"]["steps"]) == "supply_material"

    resp = await _upload(client, cid, applicant)
    assert resp.status == 201, await resp.text()
    handed = await resp.json()
    assert handed["state"] == "submitted" and handed["media_type"] == "application/pdf"
    assert handed["filename"] == "健康证.pdf" and handed["name_zh"] == "从业人员健康证明"
    sha = hashlib.sha256(PDF).hexdigest()
    stored = settings.media_dir / original_key(sha)
    assert stored.read_bytes() == PDF

    # No longer asked for while the clerk looks at it.
    view = await (await client.get(f"/api/cases/{cid}", headers=applicant)).json()
    assert "supply_material" not in [s["kind"] for s in view["next_steps"]["steps"]]

    doc = await client.get(
        f"/api/cases/{cid}/hand-ins/{handed['id']}/document", headers=clerk.headers
    )
    assert doc.status == 200 and await doc.read() == PDF

    resp = await client.post(
        f"/api/cases/{cid}/hand-ins/{handed['id']}/decision",
        json={"accept": True},
        headers=clerk.headers,
    )
    assert resp.status == 200 and (await resp.json())["state"] == "accepted"
    view = await (await client.get(f"/api/cases/{cid}", headers=clerk.headers)).json()
    status = {m["code"]: m for m in view["materials"]}[CODE]
    assert status["status"] == "received" and status["received_at"]

    audit = await (await client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)).json()
    kinds = [e["kind"] for e in audit["events"]]
    assert "material.handed_in" in kinds and "material.hand_in_accepted" in kinds
    handed_event = next(e for e in audit["events"] if e["kind"] == "material.handed_in")
    assert handed_event["payload"]["sha256"] == sha
    assert audit["verification"]["ok"]
    # deciding twice is refused
    again = await client.post(
        f"/api/cases/{cid}/hand-ins/{handed['id']}/decision", json={"accept": False, "reason": "x"},
        headers=clerk.headers,
    )  # fmt: skip
    assert again.status == 409


async def test_rejection_needs_a_reason_and_asks_again(client, db, clock):
    cid, applicant, clerk = await _accepted(client, db, clock)
    handed = await (await _upload(client, cid, applicant)).json()
    url = f"/api/cases/{cid}/hand-ins/{handed['id']}/decision"
    resp = await client.post(url, json={"accept": False, "reason": " "}, headers=clerk.headers)
    assert resp.status == 422
    assert "原因" in (await resp.json())["detail"]
    resp = await client.post(
        url, json={"accept": False, "reason": "照片模糊，请重新扫描"}, headers=clerk.headers
    )
    assert resp.status == 200
    items = (await (await client.get(f"/api/cases/{cid}/hand-ins", headers=applicant)).json())[
        "items"
    ]
    assert items[-1]["state"] == "rejected" and items[-1]["reason"] == "照片模糊，请重新扫描"
    view = await (await client.get(f"/api/cases/{cid}", headers=applicant)).json()
    assert view["next_steps"]["steps"][0]["kind"] == "supply_material"
    assert {m["code"]: m["status"] for m in view["materials"]}[CODE] == "outstanding"


async def test_approval_waits_for_the_accepted_hand_in_and_names_materials_in_chinese(
    client, db, clock
):
    cid, applicant, clerk = await _accepted(client, db, clock)
    inspector = await make_staff(db, "inspector")
    await act(client, cid, "start_inspection", inspector.headers)
    await judge_all(client, cid, inspector.headers)
    await act(client, cid, "record_inspection", inspector.headers, result="pass")
    paper = ["application-form", "layout-plan"]
    await act(client, cid, "receive_materials", clerk.headers, codes=paper, channel="courier")
    resp = await client.post(f"/api/cases/{cid}/actions/approve", json={}, headers=clerk.headers)
    problem = await resp.json()
    assert resp.status == 409 and problem["pending_materials"] == [CODE]
    assert "从业人员健康证明" in problem["detail"] and CODE not in problem["detail"]
    assert problem["title"] == "办件当前状态下不能进行此操作"

    mailed = await client.post(f"/api/cases/{cid}/materials/{CODE}/mail-in", headers=applicant)
    assert mailed.status == 201 and (await mailed.json())["state"] == "mail"
    hid = (await mailed.json())["id"]
    await client.post(
        f"/api/cases/{cid}/hand-ins/{hid}/decision", json={"accept": True}, headers=clerk.headers
    )
    assert (await act(client, cid, "approve", clerk.headers))["state"] == "approved"


async def test_refusals_store_nothing(client, db, clock, settings):
    cid, applicant, _clerk = await _accepted(client, db, clock)
    zip_bytes = b"PK\x03\x04" + b"\0" * 100
    resp = await _upload(client, cid, applicant, body=zip_bytes)
    assert resp.status == 415 and "PDF" in (await resp.json())["detail"]
    resp = await _upload(client, cid, applicant, code="business-licence")  # received already
    assert resp.status == 409 and "无需补交" in (await resp.json())["detail"]
    resp = await _upload(client, cid, applicant, code="no-such-thing")
    assert resp.status == 404
    originals = settings.media_dir / "originals"
    assert not originals.exists() or not any(p.is_file() for p in originals.rglob("*"))
    # the clerk's decision is staff-only
    resp = await client.post(
        f"/api/cases/{cid}/hand-ins/1/decision", json={"accept": True}, headers=applicant
    )
    assert resp.status in (401, 403)


async def test_staff_list_flags_an_overdue_outstanding_material(client, db, clock):
    cid, _, clerk = await _accepted(client, db, clock, days=3)
    listing = await (await client.get("/api/cases", headers=clerk.headers)).json()
    assert {c["id"]: c["materials_overdue"] for c in listing["items"]}[cid] is False
    clock.advance(timedelta(days=5))
    listing = await (await client.get("/api/cases", headers=clerk.headers)).json()
    assert {c["id"]: c["materials_overdue"] for c in listing["items"]}[cid] is True


async def _notes(client, cid, clerk):
    resp = await client.get(f"/api/cases/{cid}/notifications", headers=clerk.headers)
    return (await resp.json())["items"]


async def test_due_date_reminder_is_queued_and_withdrawn_on_acceptance(client, db, clock):
    cid, applicant, clerk = await _accepted(client, db, clock)
    reminders = [n for n in await _notes(client, cid, clerk) if n["topic"] == "material.reminder"]
    assert len(reminders) == 1
    assert "从业人员健康证明" in reminders[0]["text"] and CODE not in reminders[0]["text"]
    handed = await (await _upload(client, cid, applicant)).json()
    url = f"/api/cases/{cid}/hand-ins/{handed['id']}/decision"
    await client.post(url, json={"accept": False, "reason": "照片模糊"}, headers=clerk.headers)
    notes = await _notes(client, cid, clerk)
    rejected = [n for n in notes if n["topic"] == "material.rejected"]
    assert len(rejected) == 1 and "照片模糊" in rejected[0]["text"]
    assert next(n for n in notes if n["topic"] == "material.reminder")["status"] != "withdrawn"

    handed = await (await _upload(client, cid, applicant, body=PDF + b"v2")).json()
    url = f"/api/cases/{cid}/hand-ins/{handed['id']}/decision"
    await client.post(url, json={"accept": True}, headers=clerk.headers)
    notes = await _notes(client, cid, clerk)
    assert next(n for n in notes if n["topic"] == "material.reminder")["status"] == "withdrawn"


def test_reminder_is_at_nine_in_the_office_two_days_before_or_the_day_before():
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from zerotrip.kit.clock import Clock
    from zerotrip.notify.triggers import NotificationTriggers

    bj = ZoneInfo("Asia/Shanghai")
    triggers = NotificationTriggers("record", clock=Clock("Asia/Shanghai"), reminder_hours=24)
    due = date(2026, 12, 11)
    at = triggers.reminder_time(due, datetime(2026, 12, 1, tzinfo=bj))
    assert at == datetime(2026, 12, 9, 9, 0, tzinfo=bj)
    at = triggers.reminder_time(due, datetime(2026, 12, 9, 10, 0, tzinfo=bj))
    assert at == datetime(2026, 12, 10, 9, 0, tzinfo=bj)
    assert triggers.reminder_time(due, datetime(2026, 12, 10, 10, 0, tzinfo=bj)) is None


async def test_mailing_is_offered_only_while_a_pickup_is_coming(client, db, clock):
    """ "Mail it with the courier" needs a courier: once the pickup is called off (the originals
    came to the counter), choosing to mail is a clear 409 and records nothing, while a mailed
    promise made before keeps the pickup from being called off."""
    cid, applicant, clerk = await _accepted(client, db, clock)
    mailed = await client.post(f"/api/cases/{cid}/materials/{CODE}/mail-in", headers=applicant)
    assert mailed.status == 201
    paper = ["application-form", "layout-plan"]
    await act(client, cid, "receive_materials", clerk.headers, codes=paper)
    orders = (await (await client.get(f"/api/cases/{cid}/mailing", headers=applicant)).json())[
        "orders"
    ]
    assert [o["status"] for o in orders] == ["awaiting_choice"]  # it still carries the promise

    second, token2 = await apply(client)
    other, applicant2 = second["id"], applicant_headers(token2)
    due = (clock.today() + timedelta(days=10)).isoformat()
    await act(
        client, other, "prereview", clerk.headers,
        outcome="accept", outstanding=[{"code": CODE, "due_date": due}],
    )  # fmt: skip
    await act(client, other, "receive_materials", clerk.headers, codes=paper)
    refused = await client.post(f"/api/cases/{other}/materials/{CODE}/mail-in", headers=applicant2)
    problem = await refused.json()
    assert refused.status == 409 and problem["code"] == "no-pickup"
    assert "请上传文件" in problem["detail"]
    listed = await (await client.get(f"/api/cases/{other}/hand-ins", headers=applicant2)).json()
    assert listed["items"] == []

"""The case lifecycle through the API: every step, its preconditions, and its refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import act, applicant_headers, apply, judge_all, make_staff, walk
from zerotrip.cases.models import CaseState


async def test_case_walks_from_submission_to_closed(client, db, clock):
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case, token = await apply(client)
    cid = case["id"]
    assert case["state"] == "submitted"
    due = (clock.today() + timedelta(days=14)).isoformat()

    view = await act(
        client,
        cid,
        "prereview",
        clerk.headers,
        outcome="accept",
        outstanding=[{"code": "staff-health-certs", "due_date": due}],
    )
    assert view["state"] == "accepted"
    assert view["deadline"] is not None
    statuses = {m["code"]: m["status"] for m in view["materials"]}
    assert statuses["staff-health-certs"] == "outstanding"
    assert statuses["application-form"] == "expected"  # paper original still to arrive
    assert statuses["business-licence"] == "received"

    await act(client, cid, "start_inspection", inspector.headers)
    await judge_all(client, cid, inspector.headers, "pass")
    view = await act(client, cid, "record_inspection", inspector.headers, result="pass")
    assert view["state"] == "inspected"

    # Approval waits for the outstanding material and the paper originals.
    resp = await client.post(f"/api/cases/{cid}/actions/approve", json={}, headers=clerk.headers)
    assert resp.status == 409
    problem = await resp.json()
    assert resp.content_type == "application/problem+json"
    assert set(problem["pending_materials"]) == {
        "application-form",
        "layout-plan",
        "staff-health-certs",
    }

    await act(
        client,
        cid,
        "receive_materials",
        clerk.headers,
        codes=["application-form", "layout-plan", "staff-health-certs"],
        channel="courier",
    )
    assert (await act(client, cid, "approve", clerk.headers))["state"] == "approved"
    assert (await act(client, cid, "issue_certificate", clerk.headers))[
        "state"
    ] == "certificate_issued"
    assert (await act(client, cid, "mark_delivered", clerk.headers))["state"] == "delivered"
    assert (await act(client, cid, "close", clerk.headers))["state"] == "closed"

    resp = await client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)
    audit = await resp.json()
    kinds = [e["kind"] for e in audit["events"]]
    assert kinds[:2] == ["case.submitted", "link.issued"]
    # The outbox worker may still book the delivery order after the close (its own event).
    assert [k for k in kinds if not k.startswith("mailing.")][-1] == "case.close"
    assert audit["verification"]["ok"] is True
    assert [e["seq"] for e in audit["events"]] == list(range(1, len(kinds) + 1))

    resp = await client.get(f"/api/cases/{cid}", headers=applicant_headers(token))
    assert (await resp.json())["state"] == "closed"


async def test_illegal_transition_names_state_and_allowed_moves(client, db):
    inspector = await make_staff(db, "inspector")
    clerk = await make_staff(db, "clerk")
    case, _ = await apply(client)
    resp = await client.post(
        f"/api/cases/{case['id']}/actions/approve", json={}, headers=clerk.headers
    )
    assert resp.status == 409
    body = await resp.json()
    assert body["state"] == "submitted"
    assert "prereview" in body["allowed"]
    assert body["type"].endswith("/problems/illegal-transition")
    # A role that may never take the step is forbidden, whatever the state.
    resp = await client.post(
        f"/api/cases/{case['id']}/actions/prereview",
        json={"outcome": "accept"},
        headers=inspector.headers,
    )
    assert resp.status == 403


async def test_critical_material_cannot_be_outstanding(client, db, clock):
    clerk = await make_staff(db, "clerk")
    case, _ = await apply(client)
    due = (clock.today() + timedelta(days=5)).isoformat()
    resp = await client.post(
        f"/api/cases/{case['id']}/actions/prereview",
        json={"outcome": "accept", "outstanding": [{"code": "business-licence", "due_date": due}]},
        headers=clerk.headers,
    )
    assert resp.status == 422
    problem = await resp.json()
    # zh-CN by default, naming the material by its display name
    assert "关键材料" in problem["detail"] and "营业执照" in problem["detail"]
    assert problem["title"] == "填写的内容不符合要求"
    resp = await client.post(
        f"/api/cases/{case['id']}/actions/prereview",
        json={"outcome": "accept", "outstanding": [{"code": "business-licence", "due_date": due}]},
        headers={**clerk.headers, "Accept-Language": "en-GB,en;q=0.9"},
    )
    assert "critical" in (await resp.json())["detail"]
    resp = await client.get(f"/api/cases/{case['id']}", headers=clerk.headers)
    assert (await resp.json())["state"] == "submitted"  # nothing half-written


async def test_return_and_resubmit_by_applicant(client, db):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(client)
    cid = case["id"]
    view = await act(
        client, cid, "prereview", clerk.headers, outcome="return", reasons=["平面图不清晰"]
    )
    assert view["state"] == "returned" and view["return_reasons"] == ["平面图不清晰"]
    view = await act(client, cid, "resubmit", applicant_headers(token), note="已补正")
    assert view["state"] == "submitted"


async def test_rectification_pauses_the_clock(client, db, clock):
    """Paused and resumed just after midnight office time (the UTC date is still the day
    before): the pause counts the office's working days, not UTC's."""
    local = clock.now().astimezone(clock.zone)
    after_midnight = (local + timedelta(days=1)).replace(hour=0, minute=30, second=0)
    clock.advance(after_midnight - local)
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case, token = await apply(client)
    cid = case["id"]
    view = await act(client, cid, "prereview", clerk.headers, outcome="accept")
    deadline = date.fromisoformat(view["deadline"])
    await act(client, cid, "start_inspection", inspector.headers)
    await judge_all(client, cid, inspector.headers, "rectify")
    view = await act(client, cid, "record_inspection", inspector.headers, result="rectify")
    assert view["state"] == "rectifying" and view["clock"] == "paused"
    clock.advance(timedelta(days=7))  # a calendar week: five working days
    view = await act(client, cid, "resume_inspection", applicant_headers(token))
    assert view["state"] == "inspecting"
    assert date.fromisoformat(view["deadline"]) == deadline + timedelta(days=7)


async def test_overdue_and_due_soon_lists(client, db, clock):
    clerk = await make_staff(db, "clerk")
    a, _ = await apply(client)
    b, _ = await apply(client, applicant_name="赵六")
    await act(client, a["id"], "prereview", clerk.headers, outcome="accept")
    clock.advance(timedelta(days=8))
    view = await act(client, b["id"], "prereview", clerk.headers, outcome="accept")
    # On b's deadline day: b is due (today), a (accepted 8 days earlier) is past its own.
    clock.advance(date.fromisoformat(view["deadline"]) - clock.today())
    resp = await client.get("/api/cases?due=overdue", headers=clerk.headers)
    overdue = await resp.json()
    assert [c["id"] for c in overdue["items"]] == [a["id"]]
    assert overdue["items"][0]["clock"] == "overdue"
    resp = await client.get("/api/cases?due=soon", headers=clerk.headers)
    soon = await resp.json()
    assert [c["id"] for c in soon["items"]] == [b["id"]]


async def _case_steps(client, case_id, staff) -> list[tuple[str, str | None]]:
    resp = await client.get(f"/api/cases/{case_id}/audit", headers=staff.headers)
    audit = await resp.json()
    assert audit["verification"]["ok"] is True
    events = sorted(audit["events"], key=lambda e: e["seq"])
    return [
        (e["kind"].removeprefix("case."), e["payload"].get("to"))
        for e in events
        if e["kind"].startswith("case.") and e["kind"] != "case.submitted"
    ]


@pytest.mark.parametrize("state", [s.value for s in CaseState])
async def test_every_state_is_reached_by_real_steps(client, db, state):
    """The shared walker reaches every state, and only by steps the lifecycle recorded."""
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    case = await walk(client, clerk, inspector, until=state)
    assert case.view["state"] == state
    again = await client.get(f"/api/cases/{case.id}", headers=case.applicant_headers)
    assert again.status == 200 and (await again.json())["state"] == state
    steps = await _case_steps(client, case.id, clerk)
    moves = [to for _, to in steps if to is not None]
    assert moves[-1:] == ([state] if state != "submitted" else [])
    assert len(moves) == len(set(moves)), moves  # the ordinary route never goes round a loop


async def test_walker_rectifies_and_fails_on_request(client, db):
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    twice = await walk(client, clerk, inspector, until="inspected", rectify_rounds=2)
    moves = [to for _, to in await _case_steps(client, twice.id, clerk) if to is not None]
    assert moves == [
        "accepted",
        "inspecting",
        *["rectifying", "inspecting"] * 2,
        "inspected",
    ]
    failed = await walk(client, clerk, inspector, until="rejected", result="fail")
    moves = [to for _, to in await _case_steps(client, failed.id, clerk) if to is not None]
    assert moves == ["accepted", "inspecting", "inspected", "rejected"]
    assert failed.view["inspection_result"] == "fail"

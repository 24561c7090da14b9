"""A case from pre-review to delivered certificate on the local courier, through the API, and
the applicant's choices (window, hand-in, self-collection)."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import act, advance, applicant_headers, apply, make_staff
from tests.harness.outbox import drain
from tests.mailing.by_courier import mailing_of, walk_to_delivered


async def test_case_goes_from_prereview_to_delivered_certificate(mail_client, db, clock):
    cid, token, clerk = await walk_to_delivered(mail_client, db, clock)
    view = await (await mail_client.get(f"/api/cases/{cid}", headers=clerk.headers)).json()
    assert view["state"] == "delivered"

    mine = await mailing_of(mail_client, cid, applicant_headers(token))
    assert [(o["kind"], o["status"]) for o in mine["orders"]] == [
        ("pickup", "delivered"),
        ("delivery", "delivered"),
    ]
    assert all(o["label_url"] is None and o["dispatch"] is None for o in mine["orders"])
    times = [h["occurred_at"] for h in mine["orders"][1]["history"]]
    assert times == sorted(times)

    audit = await (await mail_client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)).json()
    kinds = [e["kind"] for e in audit["events"]]
    assert audit["verification"]["ok"] is True
    assert kinds.count("mailing.order_created") == 2 and kinds.count("mailing.booked") == 2
    assert kinds.count("mailing.status") == 7
    system_steps = [e for e in audit["events"] if e["actor"]["kind"] == "system"]
    assert {e["kind"] for e in system_steps} >= {"case.receive_materials", "case.mark_delivered"}


async def test_hand_in_cancels_the_pickup_and_nothing_is_booked(mail_client, db, clock):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(mail_client)
    await act(mail_client, case["id"], "prereview", clerk.headers, outcome="accept")
    [order] = (await mailing_of(mail_client, case["id"], applicant_headers(token)))["orders"]
    resp = await mail_client.post(
        f"/api/cases/{case['id']}/mailing/orders/{order['id']}/choice",
        json={"hand_in": True},
        headers=applicant_headers(token),
    )
    assert (await resp.json())["status"] == "cancelled"
    clock.advance(timedelta(days=2))
    await drain(mail_client)
    [order] = (await mailing_of(mail_client, case["id"], clerk.headers))["orders"]
    assert order["status"] == "cancelled" and order["waybill"] is None
    again = await mail_client.post(
        f"/api/cases/{case['id']}/mailing/orders/{order['id']}/choice",
        json={"hand_in": True},
        headers=applicant_headers(token),
    )
    assert again.status == 409


async def test_originals_received_at_the_counter_call_off_the_waiting_pickup(
    mail_client, db, clock
):
    """An applicant who walks the papers in before choosing a window is not asked to book a
    courier for them: once every paper original is received, the waiting pickup is called off
    (by the clerk's step, on the trail), and nothing is booked when the choice time runs out.
    Receiving only some of them leaves the pickup waiting."""
    clerk = await make_staff(db, "clerk")
    case, token = await apply(mail_client)
    cid = case["id"]
    await act(mail_client, cid, "prereview", clerk.headers, outcome="accept")
    view = await (await mail_client.get(f"/api/cases/{cid}", headers=clerk.headers)).json()
    paper = [m["code"] for m in view["materials"] if m["paper_original"]]
    assert paper, "the sample matter asks for paper originals"
    if len(paper) > 1:
        await act(mail_client, cid, "receive_materials", clerk.headers, codes=paper[:1])
        [order] = (await mailing_of(mail_client, cid, clerk.headers))["orders"]
        assert order["status"] == "awaiting_choice"
    await act(mail_client, cid, "receive_materials", clerk.headers, codes=paper)
    [order] = (await mailing_of(mail_client, cid, applicant_headers(token)))["orders"]
    assert order["status"] == "cancelled" and order["note"] == "材料已在窗口签收，无需上门取件"
    clock.advance(timedelta(days=2))
    await drain(mail_client)
    [order] = (await mailing_of(mail_client, cid, clerk.headers))["orders"]
    assert order["status"] == "cancelled" and order["waybill"] is None
    audit = await (await mail_client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)).json()
    cancels = [e for e in audit["events"] if e["kind"] == "mailing.cancelled"]
    assert len(cancels) == 1 and cancels[0]["actor"]["kind"] == "staff"
    assert audit["verification"]["ok"] is True


async def test_no_choice_in_time_books_the_next_days_window(mail_client, db, clock):
    clerk = await make_staff(db, "clerk")
    case, _ = await apply(mail_client)
    await act(mail_client, case["id"], "prereview", clerk.headers, outcome="accept")
    assert await drain(mail_client) == 0  # the applicant still has time to choose
    clock.advance(timedelta(hours=25))
    assert await drain(mail_client) == 1
    [order] = (await mailing_of(mail_client, case["id"], clerk.headers))["orders"]
    assert order["status"] == "pickup_scheduled" and order["window_start"]


async def test_bad_choices_are_refused_clearly(mail_client, db, clock):
    clerk = await make_staff(db, "clerk")
    case, token = await apply(mail_client)
    me = applicant_headers(token)
    await act(mail_client, case["id"], "prereview", clerk.headers, outcome="accept")
    [order] = (await mailing_of(mail_client, case["id"], me))["orders"]
    url = f"/api/cases/{case['id']}/mailing/orders/{order['id']}/choice"
    start = clock.now() + timedelta(days=1)
    bad = [
        {},
        {"window_start": start.isoformat(), "window_end": start.isoformat()},
        {
            "window_start": (start - timedelta(days=3)).isoformat(),
            "window_end": (start - timedelta(days=3) + timedelta(hours=2)).isoformat(),
        },
        {"window_start": "yesterday", "window_end": "today"},
        {
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
            "address": {"country": "China", "zip": "!!"},
        },
        {"surprise": 1},
    ]
    for body in bad:
        resp = await mail_client.post(url, json=body, headers=me)
        assert resp.status == 422, (body, await resp.text())
        assert resp.content_type == "application/problem+json"
    resp = await mail_client.post(
        url, data=b"{nope", headers={**me, "Content-Type": "application/json"}
    )
    assert resp.status == 400
    other, other_token = await apply(mail_client)
    resp = await mail_client.post(
        f"/api/cases/{other['id']}/mailing/orders/{order['id']}/choice",
        json={"hand_in": True},
        headers=applicant_headers(other_token),
    )
    assert resp.status == 404  # another case's order does not exist for this applicant
    [order] = (await mailing_of(mail_client, case["id"], me))["orders"]
    assert order["status"] == "awaiting_choice"


async def test_self_collection_creates_no_delivery_order(mail_client, db, clock):
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case, token = await apply(mail_client)
    cid = case["id"]
    resp = await mail_client.put(
        f"/api/cases/{cid}/mailing/delivery-preference",
        json={"method": "self_collect"},
        headers=applicant_headers(token),
    )
    assert resp.status == 200
    await advance(mail_client, cid, clerk, inspector, until="certificate_issued")
    kinds = [o["kind"] for o in (await mailing_of(mail_client, cid, clerk.headers))["orders"]]
    assert kinds == ["pickup"]
    audit = await (await mail_client.get(f"/api/cases/{cid}/audit", headers=clerk.headers)).json()
    assert "mailing.self_collect" in [e["kind"] for e in audit["events"]]
    resp = await mail_client.put(
        f"/api/cases/{cid}/mailing/delivery-preference",
        json={"method": "courier"},
        headers=applicant_headers(token),
    )
    assert resp.status == 409


async def test_the_app_runs_its_own_outbox_worker(apps, clock, db):
    """With the worker on (the default), a chosen pickup is booked without anyone driving it."""
    import asyncio

    async with apps.client(outbox_poll_s=0.05) as client:
        clerk = await make_staff(db, "clerk")
        case, token = await apply(client)
        await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
        [order] = (await mailing_of(client, case["id"], clerk.headers))["orders"]
        start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
        await client.post(
            f"/api/cases/{case['id']}/mailing/orders/{order['id']}/choice",
            json={
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=2)).isoformat(),
            },
            headers=applicant_headers(token),
        )
        for _ in range(200):
            [order] = (await mailing_of(client, case["id"], clerk.headers))["orders"]
            if order["status"] != "queued":
                break
            await asyncio.sleep(0.05)
        assert order["status"] == "pickup_scheduled"

"""Courier news coming in: signed webhook callbacks, Shippo webhooks and polling — stored,
deduplicated, applied forward only; bad, unsigned, stale, replayed or unknown ones refused or
ignored with a record, never a 500."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlmodel import select

from tests.factories import act, applicant_headers, apply, make_staff
from tests.harness.outbox import drain
from tests.mailing.conftest import SECRET, TOKEN
from zerotrip.mailing.models import InboundMessage
from zerotrip.mailing.reconcile import poll_quiet_orders
from zerotrip.mailing.webhook.signing import signed_headers

WEBHOOK = "/api/mailing/callbacks/webhook"


async def booked_pickup(client, db, clock, courier):
    """A case whose pickup order was re-assigned to ``courier`` and booked there."""
    clerk = await make_staff(db, "clerk", f"clerk-{courier}")
    case, token = await apply(client)
    await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
    orders = await (
        await client.get(f"/api/cases/{case['id']}/mailing", headers=clerk.headers)
    ).json()
    oid = orders["orders"][0]["id"]
    resp = await client.post(
        f"/api/mailing/orders/{oid}/reassign", json={"courier": courier}, headers=clerk.headers
    )
    assert resp.status == 200, await resp.text()
    start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    resp = await client.post(
        f"/api/cases/{case['id']}/mailing/orders/{oid}/choice",
        json={
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
        },
        headers=applicant_headers(token),
    )
    assert resp.status == 200, await resp.text()
    assert await drain(client) >= 1
    order = (
        await (await client.get(f"/api/cases/{case['id']}/mailing", headers=clerk.headers)).json()
    )["orders"][0]
    assert order["status"] == "pickup_scheduled", order
    return case["id"], order, clerk


async def _order(client, cid, clerk):
    return (await (await client.get(f"/api/cases/{cid}/mailing", headers=clerk.headers)).json())[
        "orders"
    ][0]


async def test_signed_callbacks_apply_forward_and_refuse_the_rest(
    mail_client, db, clock, courier_standin
):
    cid, order, clerk = await booked_pickup(mail_client, db, clock, "webhook")
    ref = f"zt-o{order['id']}-a{order['attempt']}"
    url = str(mail_client.make_url(WEBHOOK))
    events = courier_standin.deliver(ref, ["picked_up", "in_transit"])
    status, body = await courier_standin.push(url, events)
    assert status == 200 and body["outcome"] == "applied 2", body
    assert (await _order(mail_client, cid, clerk))["status"] == "in_transit"

    # The exact same request again: a replay, refused.
    raw = json.dumps({"events": events}).encode()
    headers = signed_headers(SECRET, int(time.time()) + 1, raw)  # not the push's signature
    first = await mail_client.post(WEBHOOK, data=raw, headers=headers)
    assert (
        first.status == 200 and (await first.json())["duplicate"] is True
    )  # same events, new signature
    replay = await mail_client.post(WEBHOOK, data=raw, headers=headers)
    assert replay.status == 409 and replay.content_type == "application/problem+json"

    # An older scan arriving late is kept in the history but does not move the order back.
    late = [{**events[0], "event_id": "late-1", "occurred_at": "2026-11-22T07:00:00+00:00"}]
    status, body = await courier_standin.push(url, late)
    assert status == 200 and "regression" in body["outcome"]
    current = await _order(mail_client, cid, clerk)
    assert current["status"] == "in_transit"
    assert any(h["ignored_reason"] == "regression" for h in current["history"])

    # Unsigned, wrongly signed, stale, oversize, malformed, unknown.
    assert (
        await mail_client.post(WEBHOOK, data=raw, headers={"Content-Type": "application/json"})
    ).status == 401
    wrong = signed_headers("not-the-secret", int(time.time()), raw)
    assert (await mail_client.post(WEBHOOK, data=raw, headers=wrong)).status == 401
    stale = signed_headers(SECRET, int(time.time()) - 3600, raw)
    assert (await mail_client.post(WEBHOOK, data=raw, headers=stale)).status == 401
    big = b'{"events": [' + b" " * 70_000 + b"]}"
    resp = await mail_client.post(
        WEBHOOK, data=big, headers=signed_headers(SECRET, int(time.time()), big)
    )
    assert resp.status == 413
    for junk in (b"{not json", b'{"events": [{"event_id": "x", "status": "teleported"}]}', b"[]"):
        resp = await mail_client.post(
            WEBHOOK, data=junk, headers=signed_headers(SECRET, int(time.time()), junk)
        )
        assert resp.status == 422, junk
        assert resp.content_type == "application/problem+json"
    ghost = [
        {
            **events[0],
            "event_id": "ghost-1",
            "reference": "zt-o999999-a1",
            "waybill": "EA000000000CN",
        }
    ]
    status, body = await courier_standin.push(url, ghost)
    assert status == 200 and "unknown order" in body["outcome"]

    events = courier_standin.deliver(ref, ["delivered"], start="2026-11-22T12:00:00+00:00")
    status, body = await courier_standin.push(url, events)
    assert body["outcome"] == "applied 1"
    view = await (await mail_client.get(f"/api/cases/{cid}", headers=clerk.headers)).json()
    assert {m["code"]: m["status"] for m in view["materials"]}["layout-plan"] == "received"
    async with db.session() as session:
        stored = (await session.exec(select(InboundMessage))).all()
    assert all(m.processed_at is not None for m in stored)
    assert any("unknown order" in m.outcome for m in stored)


async def test_shippo_webhooks_need_the_token_and_are_deduplicated(
    mail_client, db, clock, shippo_standin
):
    cid, order, clerk = await booked_pickup(mail_client, db, clock, "shippo")
    assert len(shippo_standin.pickups) == 1
    track = shippo_standin.track(order["waybill"])
    body = json.dumps({"event": "track_updated", "test": True, "data": track}).encode()
    url = "/api/mailing/callbacks/shippo"
    hdr = {"Content-Type": "application/json"}
    assert (await mail_client.post(url, data=body, headers=hdr)).status == 401
    assert (await mail_client.post(f"{url}?token=guess", data=body, headers=hdr)).status == 401
    ok = await mail_client.post(f"{url}?token={TOKEN}", data=body, headers=hdr)
    assert ok.status == 200, await ok.text()
    assert "applied" in (await ok.json())["outcome"]
    again = await mail_client.post(f"{url}?token={TOKEN}", data=body, headers=hdr)
    assert (await again.json())["duplicate"] is True
    assert (await _order(mail_client, cid, clerk))["status"] == "delivered"
    for junk in (b"<xml/>", b'{"event": "track_updated"}', b'{"data": 5}'):
        resp = await mail_client.post(f"{url}?token={TOKEN}", data=junk, headers=hdr)
        assert resp.status == 400, junk
    big = b"{" + b" " * 70_000 + b"}"
    assert (await mail_client.post(f"{url}?token={TOKEN}", data=big, headers=hdr)).status == 413
    stranger = shippo_standin.track("SI0000000000XX")
    resp = await mail_client.post(
        f"{url}?token={TOKEN}",
        data=json.dumps({"event": "track_updated", "data": stranger}),
        headers=hdr,
    )
    assert resp.status == 200 and "unknown order" in (await resp.json())["outcome"]


async def test_polling_catches_up_with_missed_pushes(mail_client, db, clock, mailing):
    cid, _, clerk = await booked_pickup(mail_client, db, clock, "shippo")
    assert await poll_quiet_orders(mailing, quiet_for=timedelta(0)) >= 1
    current = await _order(mail_client, cid, clerk)
    assert current["status"] == "delivered"
    assert await poll_quiet_orders(mailing, quiet_for=timedelta(0)) == 0  # delivered: not polled

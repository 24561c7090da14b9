"""A case that travels by the local courier both ways: the paper originals picked up in the
window the applicant chose, the certificate delivered, every order driven through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from tests.factories import Staff, advance, make_staff, walk
from tests.harness.outbox import drain
from zerotrip.db import Database
from zerotrip.kit.clock import Clock


async def mailing_of(client: TestClient, cid: int, headers: dict[str, str]) -> dict[str, Any]:
    resp = await client.get(f"/api/cases/{cid}/mailing", headers=headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def advance_order(
    client: TestClient, order_id: int, status: str, headers: dict[str, str]
) -> dict[str, Any]:
    resp = await client.post(
        f"/api/mailing/orders/{order_id}/advance", json={"status": status}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def walk_to_delivered(
    client: TestClient, db: Database, clock: Clock
) -> tuple[int, str, Staff]:
    """Accept a case, book and run its pickup, take it through inspection to the certificate
    (no paper signed for by hand) and run its delivery; return (case id, token, clerk)."""
    clerk = await make_staff(db, "clerk")
    inspector = await make_staff(db, "inspector")
    case = await walk(client, clerk, inspector, until="accepted")
    cid, me = case.id, case.applicant_headers

    [pickup] = (await mailing_of(client, cid, me))["orders"]
    assert pickup["kind"] == "pickup" and pickup["status"] == "awaiting_choice"
    assert pickup["can_choose"] is True
    start = (clock.now() + timedelta(days=1)).replace(microsecond=0)
    resp = await client.post(
        f"/api/cases/{cid}/mailing/orders/{pickup['id']}/choice",
        json={
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=3)).isoformat(),
        },
        headers=me,
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["status"] == "queued"
    assert await drain(client) == 1
    [pickup] = (await mailing_of(client, cid, clerk.headers))["orders"]
    assert pickup["status"] == "pickup_scheduled"
    assert pickup["waybill"].startswith("LOCAL-")
    for status in ("picked_up", "in_transit", "delivered"):
        await advance_order(client, pickup["id"], status, clerk.headers)
    view = await (await client.get(f"/api/cases/{cid}", headers=clerk.headers)).json()
    assert {m["code"]: m["status"] for m in view["materials"]}["application-form"] == "received"

    await advance(client, cid, clerk, inspector, until="certificate_issued", receive_paper=False)
    orders = (await mailing_of(client, cid, clerk.headers))["orders"]
    delivery = orders[1]
    assert delivery["kind"] == "delivery" and delivery["status"] == "queued"
    assert await drain(client) == 1
    for status in ("picked_up", "in_transit", "out_for_delivery", "delivered"):
        await advance_order(client, delivery["id"], status, clerk.headers)
    return cid, case.token, clerk

"""The one way messages are triggered: reactions registered on the app's services, to lifecycle
steps and to the events other domains emit (here: a courier booked to collect the materials, a
parcel that arrived), each queued in the transaction of what happened."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from tests.factories import act, applicant_headers, apply, make_staff, walk
from tests.harness.outbox import drain
from zerotrip.notify.models import Notification


async def _notes(db, case_id: int) -> list[Notification]:
    async with db.session() as session:
        rows = await session.exec(select(Notification).where(Notification.case_id == case_id))
        return list(rows.all())


async def test_a_booked_pickup_tells_the_applicant_the_window_once_in_office_time(apps, db, clock):
    clerk = await make_staff(db, "clerk")
    async with apps.client(outbox_worker=False) as client:
        case, token = await apply(client)
        cid = case["id"]
        await act(client, cid, "prereview", clerk.headers, outcome="accept")
        orders = await (await client.get(f"/api/cases/{cid}/mailing", headers=clerk.headers)).json()
        [pickup] = orders["orders"]
        start = (clock.now() + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
        resp = await client.post(
            f"/api/cases/{cid}/mailing/orders/{pickup['id']}/choice",
            json={
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=3)).isoformat(),
            },
            headers=applicant_headers(token),
        )
        assert resp.status == 200, await resp.text()
        assert not [n for n in await _notes(db, cid) if n.topic == "courier.pickup"]
        assert await drain(client) == 1  # the local courier books the pickup: now it is told
        await drain(client)  # nothing left; a second pass must not tell again

    told = [n for n in await _notes(db, cid) if n.topic == "courier.pickup"]
    assert len(told) == 1
    local = start.astimezone(clock.zone)  # 01:00 UTC is 09:00 in the office
    assert f"{local:%Y-%m-%d %H:%M}–{local + timedelta(hours=3):%H:%M}" in told[0].body
    assert "UTC" not in told[0].body


async def test_a_step_the_courier_causes_notifies_like_one_a_clerk_takes(apps, db):
    """A delivered parcel makes the case step ``mark_delivered`` itself, as the system, from the
    mailing domain: the applicant is told exactly as when a clerk records the hand-over."""
    clerk, inspector = await make_staff(db, "clerk"), await make_staff(db, "inspector")
    async with apps.client(outbox_worker=False) as client:
        by_courier, _ = await walk(client, clerk, inspector, until="certificate_issued")
        by_clerk, _ = await walk(client, clerk, inspector, until="delivered")
        orders = await (
            await client.get(f"/api/cases/{by_courier['id']}/mailing", headers=clerk.headers)
        ).json()
        [delivery] = [o for o in orders["orders"] if o["kind"] == "delivery"]
        await drain(client)  # the local courier books it
        for status in ("picked_up", "in_transit", "out_for_delivery", "delivered"):
            resp = await client.post(
                f"/api/mailing/orders/{delivery['id']}/advance",
                json={"status": status},
                headers=clerk.headers,
            )
            assert resp.status == 200, await resp.text()
        view = await (
            await client.get(f"/api/cases/{by_courier['id']}", headers=clerk.headers)
        ).json()
    assert view["state"] == "delivered"
    told = {n.topic for n in await _notes(db, by_courier["id"])}
    assert "delivery.handed_over" in told
    assert told == {n.topic for n in await _notes(db, by_clerk["id"])}

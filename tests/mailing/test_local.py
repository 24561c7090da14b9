"""The local courier's simulator moves booked orders along at the configured speed."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

from sqlmodel import select

from tests.mailing.scenario import make_orders, worker_for
from zerotrip.mailing.local import simulate_once
from zerotrip.mailing.models import CourierOrder


async def test_simulator_delivers_at_speed(mailing):
    fast = dataclasses.replace(mailing.settings, local_courier_speed=60)  # one step a minute
    mailing.settings = fast
    [oid] = await make_orders(mailing, 1, "local")
    await worker_for(mailing, random.Random(1)).run_once()
    assert await simulate_once(mailing) == 0  # booked just now: not yet
    seen = []
    for _ in range(6):
        mailing.clock.advance(timedelta(minutes=1, seconds=1))
        await simulate_once(mailing)
        async with mailing.db.session() as session:
            seen.append((await session.get(CourierOrder, oid)).status)
    assert seen[:4] == ["picked_up", "in_transit", "out_for_delivery", "delivered"]
    assert seen[4:] == ["delivered", "delivered"]


async def test_simulator_is_off_by_default(mailing):
    await make_orders(mailing, 1, "local")
    await worker_for(mailing, random.Random(1)).run_once()
    mailing.clock.advance(timedelta(days=3))
    assert await simulate_once(mailing) == 0
    async with mailing.db.session() as session:
        assert [o.status for o in (await session.exec(select(CourierOrder))).all()] == ["booked"]

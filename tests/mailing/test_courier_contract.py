"""ONE contract every courier adapter passes: local, shippo (real SDK against the stand-in)
and webhook (against the stand-in courier system)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.mailing.order_requests import order_request as _request
from zerotrip.mailing.interfaces import (
    Address,
    Booking,
    CourierRefused,
    RemoteIds,
    TrackingUpdate,
)
from zerotrip.mailing.statuses import OrderKind, OrderStatus

COURIERS = ["local", "shippo", "webhook"]


def _remote_creations(name, ref, shippo_standin, courier_standin) -> int:
    if name == "shippo":
        return shippo_standin.purchases_by_reference[ref]
    if name == "webhook":
        return courier_standin.created[ref]
    return 1


@pytest.mark.parametrize("name", COURIERS)
async def test_booking_gives_a_waybill_and_rebooking_adopts_it(
    name, mailing, shippo_standin, courier_standin
):
    courier = mailing.couriers[name]
    ck = RemoteIds()
    first = await courier.book(_request("zt-o1-a1"), ck)
    assert isinstance(first, Booking) and first.waybill and first.remote_id
    assert first.status == OrderStatus.booked
    again = await courier.book(_request("zt-o1-a1"), ck)
    assert again.waybill == first.waybill
    assert _remote_creations(name, "zt-o1-a1", shippo_standin, courier_standin) == 1


@pytest.mark.parametrize("name", COURIERS)
async def test_a_pickup_with_a_window_is_scheduled(name, mailing):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    booking = await mailing.couriers[name].book(
        _request(
            "zt-o2-a1", OrderKind.pickup, window_start=start, window_end=start + timedelta(hours=4)
        ),
        RemoteIds(),
    )
    assert booking.status == OrderStatus.pickup_scheduled
    assert not booking.attention


@pytest.mark.parametrize("name", COURIERS)
async def test_an_address_without_a_street_is_refused_permanently(name, mailing):
    nowhere = Address("李娜", "", "Hangzhou", "ZJ", "310012", "CN")
    with pytest.raises(CourierRefused):
        await mailing.couriers[name].book(_request("zt-o3-a1", recipient=nowhere), RemoteIds())


@pytest.mark.parametrize("name", COURIERS)
async def test_cancel_is_idempotent_and_cancelling_nothing_is_fine(
    name, mailing, shippo_standin, courier_standin
):
    courier = mailing.couriers[name]
    await courier.cancel(_request("zt-o4-a1"), RemoteIds())  # never booked
    ck = RemoteIds()
    await courier.book(_request("zt-o5-a1"), ck)
    await courier.cancel(_request("zt-o5-a1"), ck)
    await courier.cancel(_request("zt-o5-a1"), ck)
    if name == "shippo":
        assert len(shippo_standin.refunds) == 1
    if name == "webhook":
        assert courier_standin.orders["zt-o5-a1"]["status"] == "cancelled"


@pytest.mark.parametrize("name", COURIERS)
async def test_track_returns_scans_with_courier_times(name, mailing, courier_standin):
    courier = mailing.couriers[name]
    ck = RemoteIds()
    booking = await courier.book(_request("zt-o6-a1"), ck)
    await ck.save(waybill=booking.waybill)
    if name == "webhook":
        courier_standin.deliver("zt-o6-a1", ["picked_up", "in_transit", "delivered"])
    updates = await courier.track(_request("zt-o6-a1"), ck)
    assert all(isinstance(u, TrackingUpdate) and u.occurred_at.tzinfo for u in updates)
    if name != "local":  # the local courier pushes every step; it has nothing to poll
        assert updates[-1].status == OrderStatus.delivered
        assert [u.occurred_at for u in updates] == sorted(u.occurred_at for u in updates)

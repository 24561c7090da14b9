"""The embedded default courier: no network, obviously local waybill numbers, and orders moved
along by office staff (their own messengers, the counter) or by a simulator for demos.

Booking is a pure function of the order reference, so booking twice yields the same waybill.
Status changes enter through the same path as any courier's pushes
(:func:`zerotrip.mailing.tracking.ingest`), so the local courier exercises the real pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlmodel import col, select

from zerotrip.mailing.context import Mailing
from zerotrip.mailing.interfaces import (
    Booking,
    CourierRefused,
    OrderRequest,
    RemoteIds,
    TrackingUpdate,
)
from zerotrip.mailing.models import CourierOrder
from zerotrip.mailing.orders import order_reference
from zerotrip.mailing.statuses import OrderKind, OrderStatus
from zerotrip.mailing.tracking import Applied, ingest, updates_to_json

log = logging.getLogger("zerotrip.mailing.local")
NAME = "local"

# The steps a local courier takes after booking, per kind of order.
PATHS: dict[str, list[OrderStatus]] = {
    OrderKind.pickup: [
        OrderStatus.pickup_scheduled,
        OrderStatus.picked_up,
        OrderStatus.in_transit,
        OrderStatus.delivered,
    ],
    OrderKind.delivery: [
        OrderStatus.picked_up,
        OrderStatus.in_transit,
        OrderStatus.out_for_delivery,
        OrderStatus.delivered,
    ],
}


def local_waybill(reference: str) -> str:
    """E.g. ``LOCAL-ZT-O12-A1``: no real carrier issues numbers like this."""
    return f"LOCAL-{reference.upper()}"


class LocalCourier:
    name = NAME
    idempotent = True

    async def book(self, request: OrderRequest, remote_ids: RemoteIds) -> Booking:
        if not request.recipient.street1.strip() or not request.sender.street1.strip():
            raise CourierRefused("An address has no street.")
        booking = _booking(request)
        await remote_ids.save(waybill=booking.waybill)
        return booking

    async def find(self, request: OrderRequest, remote_ids: RemoteIds) -> Booking | None:
        return _booking(request) if remote_ids.data.get("waybill") else None

    async def cancel(self, request: OrderRequest, remote_ids: RemoteIds) -> None:
        return None  # the office's own messengers: nothing to call off remotely

    async def track(self, request: OrderRequest, remote_ids: RemoteIds) -> list[TrackingUpdate]:
        return []  # every local step is pushed when it happens

    async def close(self) -> None:
        return None


def _booking(request: OrderRequest) -> Booking:
    waybill = local_waybill(request.reference)
    status = (
        OrderStatus.pickup_scheduled
        if request.kind == OrderKind.pickup and request.window_start
        else OrderStatus.booked
    )
    return Booking(remote_id=waybill, waybill=waybill, status=status)


def next_status(order: CourierOrder) -> OrderStatus | None:
    path = PATHS[order.kind]
    current = OrderStatus(order.status)
    if current in path:
        index = path.index(current) + 1
        return path[index] if index < len(path) else None
    return path[0] if current == OrderStatus.booked else None


async def advance(
    mailing: Mailing,
    order: CourierOrder,
    status: OrderStatus,
    *,
    at: datetime | None = None,
    description: str = "",
    source: str = NAME,
) -> Applied:
    """Record a local courier step (staff or simulator) through the inbound pipeline."""
    at = at or mailing.clock.now()
    event_id = f"local:{order.id}:{order.attempt}:{status.value}:{at.isoformat()}"
    update = TrackingUpdate(
        status=status,
        occurred_at=at,
        event_id=event_id,
        reference=order_reference(order),
        waybill=order.waybill or "",
        description=description,
    )
    return await ingest(mailing, source, event_id, updates_to_json([update]))


async def simulate_once(mailing: Mailing) -> int:
    """Move each open local order one step if it has waited long enough (speed-scaled)."""
    speed = mailing.settings.local_courier_speed
    if speed <= 0:
        return 0
    step = timedelta(hours=1) / speed
    now = mailing.clock.now()
    async with mailing.db.session() as session:
        rows = await session.exec(
            select(CourierOrder).where(
                CourierOrder.courier == NAME,
                col(CourierOrder.remote_id).is_not(None),
                col(CourierOrder.status).in_(
                    [s.value for path in PATHS.values() for s in path] + [OrderStatus.booked.value]
                ),
            )
        )
        orders = list(rows.all())
    moved = 0
    for order in orders:
        nxt = next_status(order)
        if nxt is None or now - (order.last_scan_at or order.updated_at) < step:
            continue
        await advance(mailing, order, nxt, description="simulated courier")
        moved += 1
    return moved


async def run_simulator(mailing: Mailing, stop: asyncio.Event) -> None:
    period = max(0.2, 3600 / max(mailing.settings.local_courier_speed, 1) / 4)
    while not stop.is_set():
        try:
            await simulate_once(mailing)
        except Exception:
            log.exception("local courier simulator pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period)

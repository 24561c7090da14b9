"""Catching up with what pushes missed: poll couriers for quiet open orders, and re-apply
stored inbound messages whose processing did not finish."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import timedelta

from sqlmodel import col, select

from zerotrip.cases.models import Case
from zerotrip.db import retry_on_conflict
from zerotrip.mailing.booking import SENT, UNKNOWN
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.dispatch import record_booking
from zerotrip.mailing.interfaces import CourierError, RemoteIds
from zerotrip.mailing.models import CourierOrder, InboundMessage
from zerotrip.mailing.orders import order_request
from zerotrip.mailing.statuses import OPEN, OrderStatus
from zerotrip.mailing.sweeper import sweep_stranded
from zerotrip.mailing.tracking import apply_inbound, ingest, updates_to_json

log = logging.getLogger("zerotrip.mailing.reconcile")


async def poll_quiet_orders(mailing: Mailing, *, quiet_for: timedelta | None = None) -> int:
    """Poll couriers about booked open orders quiet for ``quiet_for``; return scans applied."""
    quiet_for = (
        quiet_for
        if quiet_for is not None
        else timedelta(seconds=mailing.settings.reconcile_stale_s)
    )
    cutoff = mailing.clock.now() - quiet_for
    open_states = [s.value for s in OPEN if s != OrderStatus.awaiting_choice]
    async with mailing.db.session() as session:
        rows = await session.exec(
            select(CourierOrder, Case.reference)
            .join(Case, Case.id == CourierOrder.case_id)
            .where(
                col(CourierOrder.remote_id).is_not(None),
                col(CourierOrder.status).in_(open_states),
                col(CourierOrder.updated_at) <= cutoff,
            )
            .order_by(col(CourierOrder.updated_at))
            .limit(500)
        )
        due = list(rows.all())
    applied = 0
    for order, case_reference in due:
        courier = mailing.couriers.get(order.courier)
        if courier is None:
            continue
        try:
            updates = await courier.track(
                order_request(order, case_reference), RemoteIds(dict(order.remote))
            )
        except CourierError as exc:
            log.info("poll of order %s failed: %s", order.id, exc)
            continue
        if not updates:
            continue
        body = updates_to_json(updates)
        key = f"poll:{order.id}:{hashlib.sha256(body.encode()).hexdigest()[:32]}"
        result = await ingest(mailing, "poll", key, body)
        applied += result.applied
    return applied


async def find_unresolved_bookings(mailing: Mailing, *, limit: int = 200) -> int:
    """Ask the courier again about orders handed to a person with an unknown booking outcome.

    The courier may have held the order all along (its answer was lost, its callbacks carry
    ids we could not match). Finding it proves the booking, resumes tracking and closes the
    person's task with what the courier holds; return how many were found.
    """
    async with mailing.db.session() as session:
        rows = await session.exec(
            select(CourierOrder, Case.reference)
            .join(Case, Case.id == CourierOrder.case_id)
            .where(
                col(CourierOrder.remote_id).is_(None),
                col(CourierOrder.booking).in_([SENT, UNKNOWN]),
                CourierOrder.status == OrderStatus.attention,
                CourierOrder.intent == "book",
            )
            .order_by(col(CourierOrder.updated_at))
            .limit(limit)
        )
        due = list(rows.all())
    found = 0
    for order, case_reference in due:
        courier = mailing.couriers.get(order.courier)
        if courier is None:
            continue
        remote_ids = RemoteIds(dict(order.remote))
        try:
            booking = await courier.find(order_request(order, case_reference), remote_ids)
        except CourierError as exc:
            log.info("check of unresolved order %s failed: %s", order.id, exc)
            continue
        if booking is None:
            continue
        await retry_on_conflict(
            lambda o=order, b=booking, r=remote_ids: record_booking(
                mailing, o.id or 0, o.attempt, o.courier, b, r
            )
        )
        found += 1
    return found


async def sweep_inbound(mailing: Mailing, *, older_than: timedelta = timedelta(minutes=1)) -> int:
    cutoff = mailing.clock.now() - older_than
    async with mailing.db.session() as session:
        ids = list(
            (
                await session.exec(
                    select(InboundMessage.id).where(
                        col(InboundMessage.processed_at).is_(None),
                        col(InboundMessage.received_at) <= cutoff,
                    )
                )
            ).all()
        )
    for inbound_id in ids:
        await apply_inbound(mailing, inbound_id or 0)
    return len(ids)


async def reconcile_once(mailing: Mailing, *, quiet_for: timedelta | None = None) -> None:
    """One pass: stored messages first, then what the couriers hold, then what nobody moves."""
    await sweep_inbound(mailing)
    await find_unresolved_bookings(mailing)
    await poll_quiet_orders(mailing, quiet_for=quiet_for)
    await sweep_stranded(mailing)


async def run_reconciler(mailing: Mailing, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=mailing.settings.reconcile_interval_s)
        if stop.is_set():
            return
        try:
            await reconcile_once(mailing)
        except Exception:
            log.exception("mailing reconciliation pass failed")

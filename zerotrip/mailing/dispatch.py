"""Outbox handlers: booking orders with their courier, and calling off cancelled ones.

A handler may run twice for one message (a worker died after the courier answered), so it
starts from the order's own record: an order that is booked, cancelled or re-assigned is left
alone, and the courier call itself reconciles through the saved remote_ids.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.cases.store import lock_case
from zerotrip.db import retry_on_conflict
from zerotrip.kit.actor import SYSTEM_MAILING
from zerotrip.mailing import interfaces as courier_errors
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.events import PickupBooked
from zerotrip.mailing.interfaces import Booking, RemoteIds
from zerotrip.mailing.models import CourierOrder
from zerotrip.mailing.orders import (
    CANCEL,
    DISPATCH,
    add_history,
    enqueue_cancel,
    lock_order,
    order_request,
    set_status,
)
from zerotrip.mailing.statuses import OrderStatus
from zerotrip.outbox import errors as outbox_errors
from zerotrip.outbox.models import OutboxMessage
from zerotrip.outbox.worker import OutboxWorker
from zerotrip.worklist.service import open_task


def register(worker: OutboxWorker, mailing: Mailing) -> None:
    async def dispatch(msg: OutboxMessage) -> None:
        await dispatch_order(mailing, msg)

    async def cancel(msg: OutboxMessage) -> None:
        await cancel_remote(mailing, msg)

    async def dead(session: AsyncSession, msg: OutboxMessage, error: str) -> None:
        await dispatch_dead(session, msg, error)

    worker.register(DISPATCH, dispatch, on_dead=dead)
    worker.register(CANCEL, cancel)


async def _load(mailing: Mailing, order_id: int) -> tuple[CourierOrder | None, Case | None]:
    async with mailing.db.session() as session:
        order = await session.get(CourierOrder, order_id)
        case = await session.get(Case, order.case_id) if order else None
        return order, case


def _remote_ids(mailing: Mailing, order_id: int, attempt: int, data: dict[str, Any]) -> RemoteIds:
    async def save(values: dict[str, Any]) -> None:
        async def attempt_save() -> None:
            async with mailing.db.transaction() as session:
                order = await lock_order(session, order_id)
                if order.attempt == attempt:
                    order.remote = values
                    session.add(order)

        await retry_on_conflict(attempt_save)

    return RemoteIds(dict(data), save)


def _translate(exc: courier_errors.CourierError, settings: Any) -> Exception:
    if isinstance(exc, courier_errors.CourierRefused):
        return outbox_errors.Permanent(str(exc))
    if isinstance(exc, courier_errors.Configuration):
        return outbox_errors.RetryLater(
            f"configuration: {exc}", retry_after=settings.outbox_backoff_cap_s
        )
    if isinstance(exc, courier_errors.OutcomeUnknown):
        return outbox_errors.RetryLater(f"outcome unknown, will reconcile: {exc}")
    retry_after = exc.retry_after if isinstance(exc, courier_errors.CourierUnavailable) else None
    return outbox_errors.RetryLater(str(exc), retry_after=retry_after)


async def dispatch_order(mailing: Mailing, msg: OutboxMessage) -> None:
    order_id, attempt = int(msg.payload["order_id"]), int(msg.payload["attempt"])
    order, case = await _load(mailing, order_id)
    if order is None or case is None or order.attempt != attempt or order.remote_id:
        return  # gone, re-assigned, or already booked by an earlier run
    if order.status == OrderStatus.awaiting_choice:
        await _default_window(mailing, order_id)
        order, case = await _load(mailing, order_id)
        assert order is not None and case is not None
    if order.status not in (OrderStatus.queued, OrderStatus.attention):
        return  # cancelled (handed in) or otherwise settled
    courier = mailing.couriers.get(order.courier)
    if courier is None:
        raise outbox_errors.Permanent(f"no courier {order.courier!r} is configured")
    remote_ids = _remote_ids(mailing, order_id, attempt, order.remote)
    try:
        booking = await courier.book(order_request(order, case.reference), remote_ids)
    except courier_errors.CourierError as exc:
        raise _translate(exc, mailing.settings) from exc
    await retry_on_conflict(
        lambda: _record_booking(mailing, order_id, attempt, order.courier, booking, remote_ids)
    )


async def _default_window(mailing: Mailing, order_id: int) -> None:
    """The applicant did not choose in time: the next day, 09:00-17:00 office time."""
    async with mailing.db.transaction() as session:
        order = await lock_order(session, order_id)
        if order.status != OrderStatus.awaiting_choice:
            return
        local = (mailing.clock.now() + timedelta(days=1)).astimezone(mailing.clock.zone)
        start = local.replace(hour=9, minute=0, second=0, microsecond=0)
        order.window_start, order.window_end = start, start + timedelta(hours=8)
        set_status(order, OrderStatus.queued, "No window chosen; the next working hours.")
        session.add(order)
        add_history(
            session, order, OrderStatus.queued, source="system", dedupe_key="default-window"
        )


async def _record_booking(
    mailing: Mailing,
    order_id: int,
    attempt: int,
    courier_name: str,
    booking: Booking,
    remote_ids: RemoteIds,
) -> None:
    async with mailing.db.transaction() as session:
        peek = await session.get(CourierOrder, order_id)
        assert peek is not None
        case = await lock_case(session, peek.case_id)
        order = await lock_order(session, order_id)
        remote = {**remote_ids.data, "remote_id": booking.remote_id, "waybill": booking.waybill}
        if order.attempt != attempt:  # re-assigned while the courier was booking: call it off
            await enqueue_cancel(
                session, order, attempt=attempt, courier=courier_name, remote=remote
            )
            return
        order.remote = remote
        if order.status not in (OrderStatus.queued, OrderStatus.attention):
            # Cancelled while the courier was booking: keep the ids, call the booking off.
            order.remote_id, order.waybill = booking.remote_id, booking.waybill
            session.add(order)
            await enqueue_cancel(session, order)
            return
        order.remote_id = booking.remote_id
        order.waybill = booking.waybill
        order.label_url = booking.label_url
        order.tracking_url = booking.tracking_url
        status = OrderStatus.attention if booking.attention else booking.status
        before = set_status(order, booking.status)
        if booking.attention:
            set_status(order, OrderStatus.attention, booking.attention)
        session.add(order)
        add_history(
            session,
            order,
            booking.status,
            source=order.courier,
            dedupe_key="booked",
        )
        append_event(
            session,
            case,
            SYSTEM_MAILING,
            "mailing.booked",
            {
                "order": order.id,
                "kind": order.kind,
                "courier": order.courier,
                "from": before,
                "to": status.value,
                "waybill": booking.waybill,
                "remote_id": booking.remote_id,
            },
        )
        if order.kind == "pickup" and not booking.attention:  # tell the applicant when
            await mailing.reactions.emit(PickupBooked(session, case, order))
        if booking.attention:
            await open_task(
                session,
                kind="mailing.attention",
                case_id=case.id,
                title=f"Check courier order {order.id}",
                detail=booking.attention,
            )


async def dispatch_dead(session: AsyncSession, msg: OutboxMessage, error: str) -> None:
    """The outbox gave up on booking: the order needs a person (a staff task is opened too)."""
    order = await session.get(CourierOrder, int(msg.payload["order_id"]))
    if order is None or order.attempt != int(msg.payload["attempt"]):
        return
    case = await lock_case(session, order.case_id)
    order = await lock_order(session, order.id or 0)
    if order.status not in (OrderStatus.queued, OrderStatus.attention):
        return
    before = set_status(order, OrderStatus.attention, f"Not booked: {error}")
    session.add(order)
    add_history(
        session,
        order,
        OrderStatus.attention,
        source="system",
        dedupe_key=f"dead:{msg.id}:{msg.attempts}",
        description=error[:500],
    )
    append_event(
        session,
        case,
        SYSTEM_MAILING,
        "mailing.dispatch_failed",
        {"order": order.id, "from": before, "error": error[:500]},
    )


async def cancel_remote(mailing: Mailing, msg: OutboxMessage) -> None:
    order, case = await _load(mailing, int(msg.payload["order_id"]))
    if order is None or case is None:
        return
    attempt = int(msg.payload["attempt"])
    courier = mailing.couriers.get(str(msg.payload["courier"]))
    if courier is None:
        raise outbox_errors.Permanent(f"no courier {msg.payload['courier']!r} is configured")
    request = order_request(order, case.reference)
    if order.attempt == attempt:
        remote = dict(order.remote)
    else:
        remote = dict(msg.payload.get("remote") or {})
        request = replace(request, reference=f"zt-o{order.id}-a{attempt}")
    try:
        await courier.cancel(request, RemoteIds(remote))
    except courier_errors.CourierError as exc:
        raise _translate(exc, mailing.settings) from exc

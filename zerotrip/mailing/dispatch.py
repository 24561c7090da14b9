"""Outbox handlers: booking orders with their courier, reconciling calls whose outcome is
unknown, and calling off orders a person (or a case step) cancelled.

A handler may run twice for one message (a worker died after the courier answered), so it
starts from the order's own record: what we asked (``intent``), how our latest call ended
(``booking``: sent / unknown / confirmed) and the step its message belongs to. A message whose
step the order has moved past does nothing.

Booking twice is prevented per courier. Where booking the same reference twice yields one order
(the local and webhook couriers), an unknown outcome is simply asked again. Where it would buy a
second label (Shippo), the order is marked "sent" before the purchase; after a timeout, an
unreadable answer, a kill, or any status but success, nothing is bought until
:meth:`Courier.find` has found nothing again and again over ``mailing_settle_s`` (longer than
the slowest commit a courier is allowed). Each check is its own outbox message, so checks never
use up a message's attempts. If the courier still holds something unfinished after three
windows, the order goes to a person with a task saying exactly what the courier holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.cases.store import lock_case
from zerotrip.db import retry_on_conflict
from zerotrip.kit.actor import SYSTEM_MAILING
from zerotrip.mailing import interfaces as courier_errors
from zerotrip.mailing.booking import CONFIRMED, SENT, UNKNOWN, UNRESOLVED, confirm_booking
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.interfaces import Booking, Courier, RemoteIds
from zerotrip.mailing.models import CourierOrder
from zerotrip.mailing.orders import (
    CANCEL,
    DISPATCH,
    add_history,
    enqueue_cancel,
    enqueue_next_step,
    lock_order,
    order_request,
    set_status,
)
from zerotrip.mailing.plain_writes import record_plain, save_ids
from zerotrip.mailing.statuses import TERMINAL, OrderStatus
from zerotrip.outbox import errors as outbox_errors
from zerotrip.outbox.models import OutboxMessage
from zerotrip.outbox.worker import OutboxWorker
from zerotrip.worklist.service import open_task

GIVE_UP_WINDOWS = 3  # settle windows an unfinished courier record may take before a person looks


def register(worker: OutboxWorker, mailing: Mailing) -> None:
    async def dispatch(msg: OutboxMessage) -> None:
        await dispatch_order(mailing, msg)

    async def cancel(msg: OutboxMessage) -> None:
        await cancel_remote(mailing, msg)

    async def dead(session: AsyncSession, msg: OutboxMessage, error: str) -> None:
        await dispatch_dead(session, msg, error)

    worker.register(DISPATCH, dispatch, on_dead=dead)
    worker.register(CANCEL, cancel)


async def _load(mailing: Mailing, order_id: int) -> tuple[Any, str]:
    """The order's columns and its case's reference, in one compiled statement on the hot-read
    path (no ORM session or instance: every dispatch starts here and only reads the row)."""
    (rows,) = await mailing.db.reads.fetch((_LOAD, {"order_id": order_id}))
    return (rows[0], rows[0].case_reference) if rows else (None, "")


_ORDERS = CourierOrder.__table__  # type: ignore[attr-defined]
_CASES = Case.__table__  # type: ignore[attr-defined]
_LOAD = (
    sa.select(_ORDERS, _CASES.c.reference.label("case_reference"))
    .join(_CASES, _CASES.c.id == _ORDERS.c.case_id)
    .where(_ORDERS.c.id == sa.bindparam("order_id"))
)


def _remote_ids(mailing: Mailing, order_id: int, attempt: int, data: dict[str, Any]) -> RemoteIds:
    async def save(values: dict[str, Any], sending: bool) -> None:
        """Committed before the call it precedes (every purchase), grouped with other
        handlers' writes."""
        await mailing.writes.run(
            lambda conn: save_ids(
                conn, order_id, attempt, values, sending=sending, now=mailing.clock.now()
            )
        )

    return RemoteIds(dict(data), save)


def _translate(exc: courier_errors.CourierError, settings: Any) -> Exception:
    if isinstance(exc, courier_errors.CourierRefused):
        return outbox_errors.Permanent(str(exc))
    if isinstance(exc, courier_errors.Configuration):
        return outbox_errors.RetryLater(
            f"configuration: {exc}", retry_after=settings.outbox_backoff_cap_s
        )
    retry_after = exc.retry_after if isinstance(exc, courier_errors.CourierUnavailable) else None
    return outbox_errors.RetryLater(str(exc), retry_after=retry_after)


def _check_every(mailing: Mailing, courier: Courier) -> timedelta:
    if courier.idempotent:  # asking again is safe: soon
        return timedelta(seconds=mailing.settings.outbox_backoff_base_s * 4)
    return timedelta(seconds=mailing.settings.mailing_settle_s / 4)


async def dispatch_order(mailing: Mailing, msg: OutboxMessage) -> None:
    order_id, attempt = int(msg.payload["order_id"]), int(msg.payload["attempt"])
    step = int(msg.payload.get("step") or 0)
    order, case_reference = await _load(mailing, order_id)
    if order is None or order.attempt != attempt or order.steps != step:
        return  # gone, re-assigned, or a later step has taken over
    if order.intent != "book" or order.status in TERMINAL:
        return  # called off by a person: the cancel handler deals with the courier
    if order.booking == CONFIRMED and order.remote_id:
        return  # booked, by an earlier run or proven by a callback
    if order.status == OrderStatus.awaiting_choice:
        await _default_window(mailing, order_id)
        order, case_reference = await _load(mailing, order_id)
        assert order is not None
    courier = mailing.couriers.get(order.courier)
    if courier is None:
        raise outbox_errors.Permanent(f"no courier {order.courier!r} is configured")
    remote_ids = _remote_ids(mailing, order_id, attempt, order.remote)
    request = order_request(order, case_reference)
    try:
        if order.booking in (SENT, UNKNOWN) and not courier.idempotent:
            booking = await courier.find(request, remote_ids)
            if booking is None:
                if not await retry_on_conflict(
                    lambda: _nothing_found(mailing, courier, order_id, attempt, step)
                ):
                    return  # checked again later, in the next step's message
                booking = await courier.book(request, remote_ids)
        else:
            booking = await courier.book(request, remote_ids)
    except courier_errors.OutcomeUnknown as exc:
        error = str(exc)
        await retry_on_conflict(lambda: _outcome_unknown(mailing, courier, order, step, error))
        return
    except courier_errors.CourierError as exc:
        raise _translate(exc, mailing.settings) from exc
    case_id = order.case_id
    plain = await mailing.writes.run(  # "now" as the ORM path's session_now would give it
        lambda conn: record_plain(
            conn, order_id, attempt, case_id, booking, remote_ids.data, now=mailing.db.clock.now()
        )
    )
    if plain:
        return
    await retry_on_conflict(
        lambda: record_booking(
            mailing, order_id, attempt, order.courier, booking, remote_ids, case_id=case_id
        )
    )


async def _nothing_found(
    mailing: Mailing, courier: Courier, order_id: int, attempt: int, step: int
) -> bool:
    """The courier holds nothing for the order: may we buy now? (else the next check is due)"""
    async with mailing.db.transaction() as session:
        order = await lock_order(session, order_id)
        if order.attempt != attempt or order.steps != step or order.booking == CONFIRMED:
            return False
        now = mailing.clock.now()
        since = order.unknown_since or order.booking_sent_at or now
        order.unknown_since = since
        order.absent_checks += 1
        settled = now - since >= timedelta(seconds=mailing.settings.mailing_settle_s)
        if settled and order.absent_checks >= 2:
            add_history(
                session,
                order,
                order.status,
                source="system",
                dedupe_key=f"absent:{order.attempt}:{step}",
                description=f"nothing at the courier after {order.absent_checks} checks; "
                "booking again",
                applied=False,
                ignored_reason="reconciled",
            )
            order.booking, order.unknown_since, order.absent_checks = "", None, 0
            session.add(order)
            return True
        await enqueue_next_step(session, order, now + _check_every(mailing, courier))
        return False


async def _outcome_unknown(
    mailing: Mailing,
    courier: Courier,
    loaded: Any,
    step: int,
    error: str,
) -> None:
    """Remember the unknown outcome and check again later; after too long, ask a person."""
    async with mailing.db.transaction() as session:
        case = await lock_case(session, loaded.case_id)
        order = await lock_order(session, loaded.id or 0)
        if order.attempt != loaded.attempt or order.steps != step or order.booking == CONFIRMED:
            return
        now = mailing.clock.now()
        order.booking = UNKNOWN
        order.unknown_since = order.unknown_since or order.booking_sent_at or now
        order.absent_checks = 0
        note = f"Outcome unknown, reconciling: {error}"[:500]
        order.note = note
        limit = timedelta(seconds=mailing.settings.mailing_settle_s * GIVE_UP_WINDOWS)
        if now - order.unknown_since < limit:
            session.add(order)
            await enqueue_next_step(session, order, now + _check_every(mailing, courier))
            return
        detail = f"Unresolved after {int(limit.total_seconds())} s: {error}"
        before = set_status(order, OrderStatus.attention, detail)
        session.add(order)
        add_history(
            session,
            order,
            OrderStatus.attention,
            source="system",
            dedupe_key=f"unresolved:{order.attempt}:{order.steps}",
            description=detail,
        )
        append_event(session, case, SYSTEM_MAILING, UNRESOLVED, {"order": order.id, "from": before})
        await open_task(
            session,
            kind=UNRESOLVED,
            case_id=case.id,
            title=f"Courier order {order.id}: check with {order.courier}",
            detail=detail,
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


async def record_booking(
    mailing: Mailing,
    order_id: int,
    attempt: int,
    courier_name: str,
    booking: Booking,
    remote_ids: RemoteIds,
    *,
    case_id: int | None = None,
) -> None:
    """Adopt the courier's answer; ``case_id``: the order's case, when the caller knows it."""
    async with mailing.db.transaction() as session:
        if case_id is None:
            peek = await session.get(CourierOrder, order_id)
            assert peek is not None
            case_id = peek.case_id
        case = await lock_case(session, case_id)
        order = await lock_order(session, order_id)
        remote = {**remote_ids.data, "remote_id": booking.remote_id, "waybill": booking.waybill}
        if order.attempt != attempt:  # a person re-assigned it while the courier was booking
            await enqueue_cancel(
                session,
                order,
                attempt=attempt,
                courier=courier_name,
                remote=remote,
                suffix=":booked",
            )
            return
        order.remote = {**order.remote, **remote}
        await confirm_booking(session, mailing, case, order, booking, source=order.courier)


async def dispatch_dead(session: AsyncSession, msg: OutboxMessage, error: str) -> None:
    """The outbox gave up on a dispatch step: the order needs a person, told what is known."""
    order = await session.get(CourierOrder, int(msg.payload["order_id"]))
    if order is None or order.attempt != int(msg.payload["attempt"]):
        return
    case = await lock_case(session, order.case_id)
    order = await lock_order(session, order.id or 0)
    if order.intent != "book" or order.booking == CONFIRMED or order.status in TERMINAL:
        return
    reference = f"zt-o{order.id}-a{order.attempt}"
    held = order.remote.get("transaction_id")
    if held:
        detail = f"Not booked: {order.courier} holds transaction {held} for {reference}; {error}"
    elif order.booking in (SENT, UNKNOWN):
        detail = f"Not booked: outcome unknown, {order.courier} may hold {reference}; {error}"
    else:
        detail = f"Not booked: no label was bought for {reference}; {error}"
    before = set_status(order, OrderStatus.attention, detail)
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
    await open_task(
        session,
        kind="mailing.not_booked",
        case_id=case.id,
        title=f"Courier order {order.id} was not booked",
        detail=detail,
    )


async def cancel_remote(mailing: Mailing, msg: OutboxMessage) -> None:
    """Call off what a person cancelled; re-check while a purchase may still land."""
    order, case_reference = await _load(mailing, int(msg.payload["order_id"]))
    if order is None:
        return
    attempt = int(msg.payload["attempt"])
    courier = mailing.couriers.get(str(msg.payload["courier"]))
    if courier is None:
        raise outbox_errors.Permanent(f"no courier {msg.payload['courier']!r} is configured")
    request = order_request(order, case_reference)
    current = order.attempt == attempt
    if current:
        remote = dict(order.remote)
    else:
        remote = dict(msg.payload.get("remote") or {})
        request = replace(request, reference=f"zt-o{order.id}-a{attempt}")
    try:
        await courier.cancel(request, RemoteIds(remote))
    except courier_errors.CourierError as exc:
        raise _translate(exc, mailing.settings) from exc
    if not current:
        return
    await retry_on_conflict(lambda: _after_cancel(mailing, order.id or 0, msg))


async def _after_cancel(mailing: Mailing, order_id: int, msg: OutboxMessage) -> None:
    async with mailing.db.transaction() as session:
        order = await lock_order(session, order_id)
        order.cancelling = "confirmed"
        session.add(order)
        since = order.unknown_since or order.booking_sent_at
        if order.booking not in (SENT, UNKNOWN) or since is None:
            return
        now = mailing.clock.now()
        if now - since > timedelta(seconds=mailing.settings.mailing_settle_s):
            return  # checked after the window: a purchase can no longer land
        suffix = str(msg.payload.get("suffix") or "")
        checks = suffix.count(":r") + 1
        await enqueue_cancel(
            session,
            order,
            suffix=f"{suffix}:r{checks}",
            at=now + timedelta(seconds=mailing.settings.mailing_settle_s / 4),
        )

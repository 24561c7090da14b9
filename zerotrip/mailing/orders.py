"""Creating and changing courier orders inside the caller's transaction, each change with its
history line, its audit event and (where a courier must hear of it) an outbox message."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.db import object_now, session_now
from zerotrip.kit.actor import Actor
from zerotrip.kit.clock import as_utc
from zerotrip.mailing.addresses import validate_address
from zerotrip.mailing.interfaces import Address, OrderRequest, Parcel
from zerotrip.mailing.models import CourierOrder, OrderEvent
from zerotrip.mailing.statuses import CANCELLABLE, RANK, OrderKind, OrderStatus
from zerotrip.outbox.models import OutboxMessage, OutboxState
from zerotrip.outbox.service import enqueue, requeue
from zerotrip.problems import Conflict, InvalidInput, NotFound

DISPATCH = "mailing.dispatch"
CANCEL = "mailing.cancel"
_REFERENCE = re.compile(r"^zt-o(\d{1,18})-a(\d{1,6})$")


def order_reference(order: CourierOrder) -> str:
    """Ours, unique per order attempt; couriers treat it as the idempotency key."""
    return f"zt-o{order.id}-a{order.attempt}"


def parse_reference(reference: str) -> tuple[int, int] | None:
    m = _REFERENCE.match(reference or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def order_request(order: CourierOrder, case_reference: str) -> OrderRequest:
    return OrderRequest(
        reference=order_reference(order),
        kind=OrderKind(order.kind),
        sender=Address.from_dict(order.sender),
        recipient=Address.from_dict(order.recipient),
        parcel=Parcel(**order.parcel) if order.parcel else Parcel(),
        case_reference=case_reference,
        window_start=order.window_start,
        window_end=order.window_end,
    )


def add_history(
    session: AsyncSession,
    order: CourierOrder,
    status: OrderStatus | str,
    *,
    source: str,
    dedupe_key: str,
    occurred_at: datetime | None = None,
    description: str = "",
    applied: bool = True,
    ignored_reason: str = "",
    location: str = "",
) -> OrderEvent:
    now = session_now(session)
    event = OrderEvent(
        order_id=order.id or 0,
        status=str(status),
        occurred_at=occurred_at or now,
        received_at=now,
        source=source,
        description=description[:500],
        location=location[:200],
        dedupe_key=dedupe_key[:200],
        applied=applied,
        ignored_reason=ignored_reason,
    )
    session.add(event)
    return event


def set_status(order: CourierOrder, status: OrderStatus, note: str | None = None) -> str:
    before = order.status
    order.status = status
    if status != OrderStatus.attention:
        order.resume_rank = RANK[status]
    if note is not None:
        order.note = note[:2000]
    order.updated_at = object_now(order)
    return before


async def create_order(
    session: AsyncSession,
    case: Case,
    kind: OrderKind,
    *,
    courier: str,
    sender: dict[str, str],
    recipient: dict[str, str],
    actor: Actor,
    status: OrderStatus = OrderStatus.queued,
    dispatch_at: datetime | None = None,
) -> CourierOrder:
    """A new order plus its dispatch message, in the transaction that changed the case."""
    assert case.id is not None
    now = session_now(session)
    existing = await active_order(session, case.id, kind)
    if existing is not None:
        return existing  # a repeated trigger must not create a second order
    attempt = 1 + await _attempts(session, case.id, kind)
    order = CourierOrder(
        case_id=case.id,
        kind=kind,
        attempt=attempt,
        courier=courier,
        status=status,
        resume_rank=RANK[status],
        sender=sender,
        recipient=recipient,
        parcel=Parcel().__dict__,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    add_history(session, order, status, source="system", dedupe_key="created")
    append_event(
        session,
        case,
        actor,
        "mailing.order_created",
        {"order": order.id, "kind": kind.value, "courier": courier, "status": status.value},
    )
    await _enqueue_dispatch(session, order, dispatch_at or now)
    return order


async def _attempts(session: AsyncSession, case_id: int, kind: str) -> int:
    rows = await session.exec(
        select(CourierOrder.attempt).where(
            CourierOrder.case_id == case_id, CourierOrder.kind == kind
        )
    )
    return max(rows.all(), default=0)


def dispatch_key(order: CourierOrder) -> str:
    """Step 0 keeps the plain key; each later reconciliation step has its own message."""
    base = f"{DISPATCH}:{order.id}:{order.attempt}"
    return f"{base}:{order.steps}" if order.steps else base


async def _enqueue_dispatch(session: AsyncSession, order: CourierOrder, at: datetime) -> None:
    await enqueue(
        session,
        DISPATCH,
        {"order_id": order.id, "attempt": order.attempt, "step": order.steps},
        dedupe_key=dispatch_key(order),
        case_id=order.case_id,
        not_before=at,
    )


async def enqueue_next_step(session: AsyncSession, order: CourierOrder, at: datetime) -> None:
    """The order's next dispatch step (a fresh message: the old one's attempts stay its own)."""
    order.steps += 1
    session.add(order)
    await _enqueue_dispatch(session, order, at)


async def active_order(session: AsyncSession, case_id: int, kind: str) -> CourierOrder | None:
    rows = await session.exec(
        select(CourierOrder)
        .where(CourierOrder.case_id == case_id, CourierOrder.kind == kind)
        .order_by(col(CourierOrder.attempt).desc())
    )
    latest = rows.first()
    if latest is None or latest.status in (OrderStatus.cancelled, OrderStatus.failed):
        return None
    return latest


async def orders_of(session: AsyncSession, case_id: int) -> list[CourierOrder]:
    rows = await session.exec(
        select(CourierOrder).where(CourierOrder.case_id == case_id).order_by(col(CourierOrder.id))
    )
    return list(rows.all())


async def lock_order(session: AsyncSession, order_id: int) -> CourierOrder:
    row = (
        await session.exec(
            select(CourierOrder).where(CourierOrder.id == order_id).with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(f"No courier order {order_id}.")
    return row


async def dispatch_message(session: AsyncSession, order: CourierOrder) -> OutboxMessage | None:
    key = dispatch_key(order)
    return (
        await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
    ).first()


def _change(
    session: AsyncSession,
    case: Case,
    order: CourierOrder,
    actor: Actor,
    status: OrderStatus,
    kind: str,
    note: str,
    **extra: Any,
) -> None:
    before = set_status(order, status, note)
    session.add(order)
    add_history(
        session,
        order,
        status,
        source=actor.kind,
        dedupe_key=f"{kind}:{session_now(session).isoformat()}",
        description=note,
    )
    append_event(
        session,
        case,
        actor,
        f"mailing.{kind}",
        {"order": order.id, "from": before, "to": status.value, "note": note, **extra},
    )


async def choose_pickup(
    session: AsyncSession,
    case: Case,
    order: CourierOrder,
    actor: Actor,
    *,
    hand_in: bool,
    window_start: datetime | None,
    window_end: datetime | None,
    address: dict[str, Any] | None,
    now: datetime,
) -> CourierOrder:
    """The applicant picks a pickup window (dispatch at once) or hands the originals in."""
    if order.kind != OrderKind.pickup or order.status != OrderStatus.awaiting_choice:
        raise Conflict("This order no longer takes a choice.", status=order.status)
    if hand_in:
        order.intent, order.intent_by = "cancel", f"{actor.kind}:{actor.id}"[:64]
        _change(
            session,
            case,
            order,
            actor,
            OrderStatus.cancelled,
            "hand_in",
            "The applicant will hand the originals in at the office.",
        )
        return order
    if window_start is None or window_end is None:
        raise InvalidInput("Give a pickup window (start and end), or choose to hand in.")
    if window_end - window_start < timedelta(hours=1) or window_end - window_start > timedelta(
        hours=12
    ):
        raise InvalidInput("A pickup window is between 1 and 12 hours long.")
    if window_start < now or window_start > now + timedelta(days=14):
        raise InvalidInput("A pickup window starts within the next 14 days.")
    if address:
        order.sender = validate_address({**order.sender, **address})
    order.window_start, order.window_end = window_start, window_end
    _change(
        session,
        case,
        order,
        actor,
        OrderStatus.queued,
        "pickup_chosen",
        "",
        window_start=window_start.isoformat(),
        window_end=window_end.isoformat(),
    )
    await _dispatch_now(session, order, now)
    return order


async def _dispatch_now(session: AsyncSession, order: CourierOrder, now: datetime) -> None:
    msg = await dispatch_message(session, order)
    if msg is None:
        await _enqueue_dispatch(session, order, now)
    elif msg.state == OutboxState.pending:
        msg.next_attempt_at = now
        session.add(msg)
    elif msg.state == OutboxState.dead:
        await requeue(session, msg.id or 0, now=now)


async def cancel_order(
    session: AsyncSession, case: Case, order: CourierOrder, actor: Actor, reason: str
) -> CourierOrder:
    """A person (or a case step) calls the order off: the only way a cancel is ever sent."""
    if order.status not in CANCELLABLE:
        raise Conflict(f"An order that is {order.status} cannot be cancelled.", status=order.status)
    order.intent, order.intent_by = "cancel", f"{actor.kind}:{actor.id}"[:64]
    _change(session, case, order, actor, OrderStatus.cancelled, "cancelled", reason)
    if order.remote_id or order.remote or order.booking:
        await enqueue_cancel(session, order)
    return order


async def enqueue_cancel(
    session: AsyncSession,
    order: CourierOrder,
    *,
    attempt: int | None = None,
    courier: str | None = None,
    remote: dict[str, Any] | None = None,
    suffix: str = "",
    at: datetime | None = None,
) -> None:
    """Ask the courier to call off attempt ``attempt`` (default: the current one).

    The handler reads the order's latest remote_ids when the attempt is still current; the
    payload keeps the ids of an attempt the order has since moved on from. ``suffix`` makes a
    follow-up check its own message (a booking that landed after the first cancel).
    """
    await enqueue(
        session,
        CANCEL,
        {
            "order_id": order.id,
            "attempt": attempt or order.attempt,
            "courier": courier or order.courier,
            "remote": order.remote if remote is None else remote,
            "suffix": suffix,
        },
        dedupe_key=f"{CANCEL}:{order.id}:{attempt or order.attempt}{suffix}",
        case_id=order.case_id,
        not_before=at,
    )


async def retry_order(
    session: AsyncSession, case: Case, order: CourierOrder, actor: Actor, now: datetime
) -> CourierOrder:
    """Dispatch again now (after a dead letter); the remote_ids is kept: nothing bought twice."""
    if order.remote_id or order.status not in (OrderStatus.queued, OrderStatus.attention):
        raise Conflict(
            "Only an order that no courier has accepted yet can be retried.", status=order.status
        )
    _change(session, case, order, actor, OrderStatus.queued, "retried", "")
    await _dispatch_now(session, order, now)
    return order


async def reassign_order(
    session: AsyncSession,
    case: Case,
    order: CourierOrder,
    actor: Actor,
    courier: str,
    now: datetime,
) -> CourierOrder:
    """Hand an order no courier accepted to another courier: a new attempt, a new reference."""
    if order.remote_id or order.status not in (
        OrderStatus.queued,
        OrderStatus.attention,
        OrderStatus.awaiting_choice,
    ):
        raise Conflict(
            "Cancel the order first; a courier has already accepted it.", status=order.status
        )
    if order.remote or order.booking:
        await enqueue_cancel(session, order)  # an unknown outcome at the old courier
    dispatch_at = now
    if order.status == OrderStatus.awaiting_choice:
        # The applicant keeps the time left to choose a window; only the courier changes.
        pending = await dispatch_message(session, order)
        if pending is not None and as_utc(pending.next_attempt_at) > now:
            dispatch_at = as_utc(pending.next_attempt_at)
    before = order.courier
    order.courier = courier
    order.attempt = 1 + await _attempts(session, case.id or 0, order.kind)
    order.remote = {}
    order.booking, order.booking_sent_at, order.unknown_since = "", None, None
    order.absent_checks, order.steps, order.courier_status = 0, 0, ""
    status = OrderStatus(order.status)
    if status != OrderStatus.awaiting_choice:
        status = OrderStatus.queued
    _change(
        session,
        case,
        order,
        actor,
        status,
        "reassigned",
        "",
        courier_from=before,
        courier_to=courier,
    )
    await _enqueue_dispatch(session, order, dispatch_at)
    return order

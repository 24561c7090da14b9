"""Courier order records inside the caller's transaction: creating one (with its dispatch
message), its references, its history lines and status, finding and locking it, and the outbox
messages that tell a courier (dispatch steps and cancels). What a person asks of an order is in
:mod:`zerotrip.mailing.changes`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.db import object_now, session_now
from zerotrip.kit.actor import Actor
from zerotrip.mailing.interfaces import Address, OrderRequest, Parcel
from zerotrip.mailing.models import CourierOrder, OrderEvent
from zerotrip.mailing.statuses import RANK, OrderKind, OrderStatus
from zerotrip.outbox.models import OutboxMessage
from zerotrip.outbox.service import enqueue
from zerotrip.problems import NotFound

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
    attempt = 1 + await attempts_of(session, case.id, kind)
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
    await enqueue_dispatch(session, order, dispatch_at or now)
    return order


async def attempts_of(session: AsyncSession, case_id: int, kind: str) -> int:
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


async def enqueue_dispatch(session: AsyncSession, order: CourierOrder, at: datetime) -> None:
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
    await enqueue_dispatch(session, order, at)


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
        raise NotFound(f"No courier order {order_id}.", zh=f"没有编号为 {order_id} 的快递订单。")
    return row


async def dispatch_message(session: AsyncSession, order: CourierOrder) -> OutboxMessage | None:
    key = dispatch_key(order)
    return (
        await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
    ).first()


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

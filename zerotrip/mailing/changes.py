"""What a person asks of a courier order: the applicant's pickup window (or handing the
originals in), a cancel, a retry after a dead letter, another courier. Each change is made in
the caller's transaction with its history line and audit event; the courier hears of it only
through the outbox (a dispatch, or a cancel: the only way a cancel is ever sent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.db import session_now
from zerotrip.kit.actor import Actor
from zerotrip.kit.clock import as_utc
from zerotrip.mailing.addresses import validate_address
from zerotrip.mailing.models import CourierOrder
from zerotrip.mailing.orders import (
    add_history,
    attempts_of,
    dispatch_message,
    enqueue_cancel,
    enqueue_dispatch,
    set_status,
)
from zerotrip.mailing.statuses import CANCELLABLE, OrderKind, OrderStatus, status_zh
from zerotrip.outbox.models import OutboxState
from zerotrip.outbox.service import requeue
from zerotrip.problems import Conflict, InvalidInput


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
        raise Conflict(
            "This order no longer takes a choice.",
            zh="此快递订单已不能再选择。",
            status=order.status,
        )
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
        raise InvalidInput(
            "Give a pickup window (start and end), or choose to hand in.",
            zh="请选择上门取件时间（开始和结束），或选择自行送达。",
        )
    if window_end - window_start < timedelta(hours=1) or window_end - window_start > timedelta(
        hours=12
    ):
        raise InvalidInput(
            "A pickup window is between 1 and 12 hours long.", zh="上门取件时段须为 1 到 12 小时。"
        )
    if window_start < now or window_start > now + timedelta(days=14):
        raise InvalidInput(
            "A pickup window starts within the next 14 days.",
            zh="上门取件时段须在今后 14 天内开始。",
        )
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
        await enqueue_dispatch(session, order, now)
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
        raise Conflict(
            f"An order that is {order.status} cannot be cancelled.",
            zh=f"快递订单当前为“{status_zh(order.status)}”，不能取消。",
            status=order.status,
        )
    order.intent, order.intent_by = "cancel", f"{actor.kind}:{actor.id}"[:64]
    _change(session, case, order, actor, OrderStatus.cancelled, "cancelled", reason)
    if order.remote_id or order.remote or order.booking:
        await enqueue_cancel(session, order)
    return order


async def retry_order(
    session: AsyncSession, case: Case, order: CourierOrder, actor: Actor, now: datetime
) -> CourierOrder:
    """Dispatch again now (after a dead letter); the remote_ids is kept: nothing bought twice."""
    if order.remote_id or order.status not in (OrderStatus.queued, OrderStatus.attention):
        raise Conflict(
            "Only an order that no courier has accepted yet can be retried.",
            zh="只有尚未被快递公司接单的订单才能重试。",
            status=order.status,
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
            "Cancel the order first; a courier has already accepted it.",
            zh="快递公司已接单，请先取消该订单。",
            status=order.status,
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
    order.attempt = 1 + await attempts_of(session, case.id or 0, order.kind)
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
    await enqueue_dispatch(session, order, dispatch_at)
    return order

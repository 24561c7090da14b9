"""The two writes every booking makes, as Core statements on a shared connection.

A booking writes twice: the courier's ids (and "sent") before the purchase, and the courier's
answer after it. Both run through the mailing's :class:`~zerotrip.group_commit.GroupCommit`,
many handlers' writes in one transaction, and touch only the columns they change: no ORM
instance of the order or the case is built.

:func:`record_plain` covers the common answer only, a first confirmation of an order with no
open "unresolved" task, not in attention, not re-assigned meanwhile, not cancelled, and no
pickup to schedule. It writes exactly what :func:`~zerotrip.mailing.booking.
confirm_booking` writes for such an order, the audit event through the same
:func:`~zerotrip.cases.audit.next_link`, so the chain verifies alike. Anything else returns
False and the caller takes the general (ORM) path.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from zerotrip.cases.audit import next_link
from zerotrip.cases.models import AuditEvent, Case
from zerotrip.kit.actor import SYSTEM_MAILING
from zerotrip.mailing.booking import CONFIRMED, SENT, UNRESOLVED
from zerotrip.mailing.interfaces import Booking
from zerotrip.mailing.models import CourierOrder, OrderEvent
from zerotrip.mailing.statuses import RANK, OrderKind, OrderStatus
from zerotrip.worklist.models import StaffTask, TaskState

_ORDERS = CourierOrder.__table__  # type: ignore[attr-defined]
_CASES = Case.__table__  # type: ignore[attr-defined]
_EVENTS = OrderEvent.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_TASKS = StaffTask.__table__  # type: ignore[attr-defined]

_IDS = (
    sa.select(_ORDERS.c.attempt, _ORDERS.c.remote, _ORDERS.c.booking)
    .where(_ORDERS.c.id == sa.bindparam("order_id"))
    .with_for_update()
)
# The order and its case's chain head, both locked (PostgreSQL: FOR UPDATE locks the rows of
# both tables of the join; SQLite: the write transaction holds the database).
_ORDER = (
    sa.select(
        _ORDERS.c.case_id,
        _ORDERS.c.kind,
        _ORDERS.c.attempt,
        _ORDERS.c.courier,
        _ORDERS.c.status,
        _ORDERS.c.remote,
        _ORDERS.c.remote_id,
        _ORDERS.c.waybill,
        _ORDERS.c.label_url,
        _ORDERS.c.tracking_url,
        _ORDERS.c.intent,
        _ORDERS.c.booking,
        _ORDERS.c.unknown_since,
        _ORDERS.c.steps,
        _CASES.c.audit_seq,
        _CASES.c.audit_head,
    )
    .join(_CASES, _CASES.c.id == _ORDERS.c.case_id)
    .where(_ORDERS.c.id == sa.bindparam("order_id"), _CASES.c.id == sa.bindparam("case_id"))
    .with_for_update()
)
# Built once: the SET / VALUES columns come from each call's parameters, so the statements
# (and their cache keys) are not rebuilt per booking.
_SET_ORDER = sa.update(_ORDERS).where(_ORDERS.c.id == sa.bindparam("order_key"))
_SET_CASE = sa.update(_CASES).where(_CASES.c.id == sa.bindparam("case_key"))
_ADD_EVENT = sa.insert(_EVENTS)
_ADD_AUDIT = sa.insert(_AUDIT)
_UNRESOLVED = (
    sa.select(_TASKS.c.id)
    .where(
        _TASKS.c.case_id == sa.bindparam("case_id"),
        _TASKS.c.kind == UNRESOLVED,
        _TASKS.c.state == TaskState.open.value,
    )
    .limit(1)
)


async def save_ids(
    conn: AsyncConnection,
    order_id: int,
    attempt: int,
    values: dict[str, Any],
    *,
    sending: bool,
    now: Any,
) -> None:
    """Merge ``values`` into the order's remote ids (and mark it "sent" when a purchase is
    about to go out), unless a person re-assigned the order meanwhile."""
    row = (await conn.execute(_IDS, {"order_id": order_id})).first()
    if row is None or row.attempt != attempt:
        return
    change: dict[str, Any] = {"remote": {**(row.remote or {}), **values}}
    if sending and row.booking != CONFIRMED:
        change.update(booking=SENT, booking_sent_at=now)
    await conn.execute(_SET_ORDER, {"order_key": order_id, **change})


def _plain(order: Any, attempt: int, booking: Booking) -> bool:
    return (
        order.attempt == attempt
        and order.intent == "book"
        and order.booking != CONFIRMED
        and order.status != OrderStatus.attention
        and order.kind != OrderKind.pickup
        and not booking.attention
    )


async def record_plain(
    conn: AsyncConnection,
    order_id: int,
    attempt: int,
    case_id: int,
    booking: Booking,
    remote_data: dict[str, Any],
    *,
    now: Any,
) -> bool:
    """Adopt ``booking`` on a plain order (see the module); False: not plain, nothing written.

    ``now`` is the database clock's (what ``session_now`` gives the ORM path)."""
    order = (await conn.execute(_ORDER, {"order_id": order_id, "case_id": case_id})).first()
    if order is None:
        return False
    if not _plain(order, attempt, booking):
        return False
    was_unsure = order.unknown_since is not None or order.attempt > 1 or order.steps > 0
    if was_unsure and (await conn.execute(_UNRESOLVED, {"case_id": case_id})).first():
        return False  # a person was asked to check: the general path closes that task
    change: dict[str, Any] = {
        "booking": CONFIRMED,
        "unknown_since": None,
        "absent_checks": 0,
        "remote": {
            **order.remote,
            **remote_data,
            "remote_id": booking.remote_id,
            "waybill": booking.waybill,
        },
        "remote_id": booking.remote_id or order.remote_id,
        "waybill": booking.waybill or order.waybill,
        "label_url": booking.label_url or order.label_url,
        "tracking_url": booking.tracking_url or order.tracking_url,
    }
    to: str = order.status
    if RANK[OrderStatus(order.status)] < RANK[booking.status]:
        to = booking.status
        change.update(status=to, resume_rank=RANK[booking.status], updated_at=now)
    await conn.execute(_SET_ORDER, {"order_key": order_id, **change})
    await conn.execute(
        _ADD_EVENT,
        {
            "order_id": order_id,
            "status": str(booking.status),
            "occurred_at": now,
            "received_at": now,
            "source": order.courier,
            "description": "",
            "location": "",
            "dedupe_key": "booked",
            "applied": True,
            "ignored_reason": "",
        },
    )
    link = next_link(
        case_id,
        order.audit_seq,
        order.audit_head,
        now,
        SYSTEM_MAILING,
        "mailing.booked",
        {
            "order": order_id,
            "kind": order.kind,
            "courier": order.courier,
            "from": order.status,
            "to": to,
            "waybill": change["waybill"],
            "remote_id": change["remote_id"],
        },
    )
    await conn.execute(_ADD_AUDIT, link)
    await conn.execute(
        _SET_CASE, {"case_key": case_id, "audit_seq": link["seq"], "audit_head": link["hash"]}
    )
    return True

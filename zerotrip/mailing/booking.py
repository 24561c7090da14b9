"""Recording that a courier holds an order, from whichever proof arrives first.

The courier's answer to our booking call and its status callbacks race: a callback can arrive
before the answer (or the answer can be lost). Either proves the booking, so both go through
:func:`confirm_booking`, which adopts the courier's ids, never moves the order backwards, and
tells the case and the applicant once. If a person cancelled meanwhile, the booking is called
off, because that person asked; nothing else ever sends a cancel.
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.kit.actor import SYSTEM_MAILING
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.events import PickupBooked
from zerotrip.mailing.interfaces import Booking
from zerotrip.mailing.models import CourierOrder
from zerotrip.mailing.orders import add_history, enqueue_cancel, set_status
from zerotrip.mailing.statuses import RANK, OrderKind, OrderStatus
from zerotrip.worklist.models import StaffTask, TaskState
from zerotrip.worklist.service import close_task, open_task

SENT, UNKNOWN, CONFIRMED = "sent", "unknown", "confirmed"
UNRESOLVED = "mailing.unresolved"


async def confirm_booking(
    session: AsyncSession,
    mailing: Mailing,
    case: Case,
    order: CourierOrder,
    booking: Booking,
    *,
    source: str,
) -> None:
    """Adopt ``booking`` on ``order`` (locked by the caller, with its case)."""
    first = order.booking != CONFIRMED
    # Only an order once unsure (or handed to a person, or re-assigned) can have an open
    # "unresolved" task; the rest skip looking for one.
    was_unsure = (
        order.unknown_since is not None
        or order.status == OrderStatus.attention
        or order.attempt > 1
        or order.steps > 0
    )
    order.booking = CONFIRMED
    order.unknown_since = None
    order.absent_checks = 0
    order.remote = {
        **order.remote,
        "remote_id": booking.remote_id,
        "waybill": booking.waybill,
    }
    order.remote_id = booking.remote_id or order.remote_id
    order.waybill = booking.waybill or order.waybill
    order.label_url = booking.label_url or order.label_url
    order.tracking_url = booking.tracking_url or order.tracking_url
    session.add(order)
    if order.intent == "cancel":
        add_history(
            session,
            order,
            order.status,
            source=source,
            dedupe_key=f"booked-after-cancel:{order.attempt}",
            description="booked before the cancel reached the courier; calling it off",
            applied=False,
            ignored_reason="cancelled",
        )
        if first:
            await enqueue_cancel(session, order, suffix=":booked")
        return
    effective = order.resume_rank if order.status == OrderStatus.attention else RANK[order.status]
    before = order.status
    if first and effective < RANK[booking.status]:
        set_status(order, booking.status)
        if booking.attention:
            set_status(order, OrderStatus.attention, booking.attention)
    if first:
        if was_unsure:
            await _close_unresolved(session, case, order)
        add_history(session, order, booking.status, source=source, dedupe_key="booked")
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
                "to": order.status,
                "waybill": order.waybill,
                "remote_id": order.remote_id,
            },
        )
        if order.kind == OrderKind.pickup and not booking.attention:
            await mailing.reactions.emit(PickupBooked(session, case, order))
    if booking.attention:
        await open_task(
            session,
            kind="mailing.attention",
            case_id=case.id,
            title=f"Check courier order {order.id}",
            detail=booking.attention,
        )


async def _close_unresolved(session: AsyncSession, case: Case, order: CourierOrder) -> None:
    """A person was asked to check an unknown outcome; the courier has now answered it."""
    tasks = await session.exec(
        select(StaffTask).where(
            StaffTask.case_id == case.id,
            StaffTask.kind == UNRESOLVED,
            StaffTask.state == TaskState.open,
        )
    )
    for task in tasks.all():
        await close_task(
            session,
            task.id or 0,
            resolution=f"The courier holds order {order.id}: waybill {order.waybill or '-'}, "
            f"its id {order.remote_id or '-'}.",
        )

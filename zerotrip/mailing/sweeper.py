"""No order without an end: find open orders nothing will move and hand them to a person.

An order is moved along by its outbox messages (booking, reconciling, cancelling) and by its
courier's news. One with no pending message, no open staff task, and no change for
``mailing_stall_s`` would otherwise wait forever (a courier gone quiet, a message lost to a bug,
a record edited by hand); the sweeper opens a task for it that says what we asked, how our last
call ended and what the courier last reported.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from zerotrip.cases.store import lock_case
from zerotrip.db import retry_on_conflict
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.models import CourierOrder
from zerotrip.mailing.orders import CANCEL, DISPATCH, add_history, lock_order
from zerotrip.mailing.statuses import TERMINAL, OrderStatus
from zerotrip.outbox.models import OutboxMessage, OutboxState
from zerotrip.worklist.models import StaffTask, TaskState
from zerotrip.worklist.service import open_task

STRANDED = "mailing.stranded"


async def sweep_stranded(mailing: Mailing, *, limit: int = 500) -> int:
    """Open a task for each open order without progress, work or task; return how many."""
    cutoff = mailing.clock.now() - timedelta(seconds=mailing.settings.mailing_stall_s)
    open_states = [s.value for s in OrderStatus if s not in TERMINAL]
    busy = (
        select(OutboxMessage.case_id)
        .where(
            col(OutboxMessage.topic).in_([DISPATCH, CANCEL]),
            col(OutboxMessage.state).in_([OutboxState.pending, OutboxState.leased]),
        )
        .scalar_subquery()
    )
    watched = (
        select(StaffTask.case_id)
        .where(StaffTask.state == TaskState.open, col(StaffTask.kind).like("mailing.%"))
        .scalar_subquery()
    )
    async with mailing.db.session() as session:
        ids = list(
            (
                await session.exec(
                    select(CourierOrder.id)
                    .where(
                        col(CourierOrder.status).in_(open_states),
                        col(CourierOrder.updated_at) <= cutoff,
                        sa.not_(col(CourierOrder.case_id).in_(busy)),
                        sa.not_(col(CourierOrder.case_id).in_(watched)),
                    )
                    .order_by(col(CourierOrder.updated_at))
                    .limit(limit)
                )
            ).all()
        )
    opened = 0
    for order_id in ids:
        opened += await retry_on_conflict(lambda oid=order_id: _hand_over(mailing, oid or 0))
    return opened


async def _hand_over(mailing: Mailing, order_id: int) -> int:
    async with mailing.db.transaction() as session:
        peek = await session.get(CourierOrder, order_id)
        assert peek is not None
        case = await lock_case(session, peek.case_id)
        order = await lock_order(session, order_id)
        existing = (
            await session.exec(
                select(StaffTask.id).where(
                    StaffTask.case_id == case.id,
                    StaffTask.state == TaskState.open,
                    col(StaffTask.kind).like("mailing.%"),
                )
            )
        ).first()
        if existing is not None or order.status in TERMINAL:
            return 0
        since = order.updated_at.astimezone(mailing.clock.zone).strftime("%Y-%m-%d %H:%M")
        held = order.waybill or order.remote.get("transaction_id") or ""
        detail = (
            f"No progress since {since}. We asked: {order.intent}; our last call: "
            f"{order.booking or 'not sent'}; the courier last reported: "
            f"{order.courier_status or 'nothing'}" + (f"; it holds {held}" if held else "") + "."
        )
        add_history(
            session,
            order,
            order.status,
            source="system",
            dedupe_key=f"stranded:{order.updated_at.isoformat()}",
            description=detail,
            applied=False,
            ignored_reason="stranded",
        )
        await open_task(
            session,
            kind=STRANDED,
            case_id=case.id,
            title=f"Courier order {order.id} is making no progress",
            detail=detail,
        )
        return 1

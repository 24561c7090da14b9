"""Running many courier orders through the real outbox under faults, and checking that each
ends delivered, cancelled or dead-lettered exactly once, with nothing bought twice or lost.

Shared by the property tests and ``bench/mailing.py``.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import select

from zerotrip.cases.store import Application, create_case, lock_case
from zerotrip.kit.actor import Actor
from zerotrip.mailing.changes import cancel_order
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.dispatch import register
from zerotrip.mailing.models import CourierOrder
from zerotrip.mailing.orders import DISPATCH, create_order, lock_order
from zerotrip.mailing.reconcile import reconcile_once
from zerotrip.mailing.statuses import OrderKind, OrderStatus
from zerotrip.outbox.models import OutboxMessage, OutboxState
from zerotrip.outbox.worker import OutboxWorker
from zerotrip.worklist.models import StaffTask, TaskState
from zerotrip.worklist.wiring import open_dead_letter_task

STAFF = Actor("staff", "1", "clerk")
APPLICANT = {
    "name": "李娜",
    "street1": "文三路 90 号",
    "city": "Hangzhou",
    "state": "ZJ",
    "zip": "310012",
    "country": "CN",
    "phone": "+86 138 0000 0000",
    "email": "",
    "street2": "",
}
OFFICE = {**APPLICANT, "name": "Permit Office", "street1": "1 Office Road", "zip": "310000"}


async def make_orders(mailing: Mailing, n: int, courier: str) -> list[int]:
    """``n`` cases, each with a queued certificate delivery for ``courier``."""
    ids: list[int] = []
    for start in range(0, n, 100):
        async with mailing.db.transaction() as session:
            for i in range(start, min(n, start + 100)):
                case = await create_case(
                    session,
                    mailing.catalogue,
                    Application(
                        matter_code="food-business",
                        applicant_name=f"申请人{i}",
                        premises_address=f"文三路 {i} 号",
                    ),
                    Actor("applicant", "", "applicant"),
                )
                order = await create_order(
                    session,
                    case,
                    OrderKind.delivery,
                    courier=courier,
                    sender=OFFICE,
                    recipient=APPLICANT,
                    actor=STAFF,
                )
                ids.append(order.id or 0)
    return ids


@dataclass
class Run:
    dispatch_seconds: list[float] = field(default_factory=list)
    crashes: int = 0
    cancelled: set[int] = field(default_factory=set)


async def drive(
    mailing: Mailing,
    worker: OutboxWorker,
    rng: random.Random,
    *,
    crash_rate: float = 0.0,
    cancel_ids: list[int] | None = None,
    max_rounds: int = 5000,
) -> Run:
    """Run the worker until nothing is due; now and then 'crash' mid-dispatch; cancel some."""
    run = Run()
    for rounds in range(max_rounds):
        if cancel_ids and rounds == 1:
            for oid in cancel_ids:
                if await _try_cancel(mailing, oid):
                    run.cancelled.add(oid)
        if crash_rate and rng.random() < crash_rate:
            claimed = await worker.claim(mailing.settings.outbox_batch)
            for msg in claimed:  # the process dies during (or right after) the handler
                if rng.random() < 0.5:
                    try:
                        await worker.routes[msg.topic].handler(msg)
                    except Exception:
                        pass
            run.crashes += len(claimed)
            mailing.clock.advance(timedelta(seconds=mailing.settings.outbox_lease_s + 1))
            continue
        handled = await worker.drain()
        run.dispatch_seconds.extend(o.seconds for o in worker.outcomes)
        if handled:
            continue
        if not await _pending(mailing):
            return run
        mailing.clock.advance(timedelta(minutes=30))
    raise AssertionError("the outbox did not settle")


async def _try_cancel(mailing: Mailing, order_id: int) -> bool:
    async with mailing.db.transaction() as session:
        peek = await session.get(CourierOrder, order_id)
        assert peek is not None
        case = await lock_case(session, peek.case_id)
        order = await lock_order(session, order_id)
        if order.status not in (OrderStatus.queued, OrderStatus.booked):
            return False
        await cancel_order(session, case, order, STAFF, "applicant moved")
        return True


async def _pending(mailing: Mailing) -> int:
    async with mailing.db.session() as session:
        rows = await session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.state.in_([OutboxState.pending, OutboxState.leased])  # type: ignore[attr-defined]
            )
        )
        return len(rows.all())


async def track_until_settled(mailing: Mailing, rounds: int = 60) -> None:
    """Run the reconciler's pass (faults and all) until no booked order is left open."""
    for _ in range(rounds):
        await reconcile_once(mailing, quiet_for=timedelta(0))
        async with mailing.db.session() as session:
            open_booked = (
                await session.exec(
                    select(CourierOrder.id).where(
                        CourierOrder.status.in_([OrderStatus.booked, OrderStatus.pickup_scheduled]),  # type: ignore[attr-defined]
                    )
                )
            ).all()
        if not open_booked:
            return
        mailing.clock.advance(timedelta(minutes=1))
    raise AssertionError("tracking did not settle")


@dataclass
class Tally:
    delivered: int = 0
    cancelled: int = 0
    dead: int = 0
    handed: int = 0  # the courier holds nothing and a person has a task saying so
    lost: int = 0
    duplicated: int = 0
    lost_orders: list[str] = field(default_factory=list)


async def settle_and_check(
    mailing: Mailing,
    order_ids: list[int],
    remote_creations: Counter[str],
    *,
    success: frozenset[str] = frozenset({OrderStatus.delivered}),
) -> Tally:
    """Each order in exactly one end state; ``remote_creations``: reference -> labels made."""
    tally = Tally()
    async with mailing.db.session() as session:
        orders = {o.id: o for o in (await session.exec(select(CourierOrder))).all()}
        messages = (await session.exec(select(OutboxMessage))).all()
        tasks = (await session.exec(select(StaffTask))).all()
    dispatch = Counter()
    dead_msgs = Counter()
    for m in messages:
        assert m.state in (OutboxState.done, OutboxState.dead), (m.id, m.state)
        if m.topic == DISPATCH:
            dispatch[m.payload["order_id"]] += 1
            if m.state == OutboxState.dead:
                dead_msgs[m.payload["order_id"]] += 1
    dead_tasks = Counter(t.case_id for t in tasks if t.kind == "outbox.dead")
    open_tasks = Counter(
        t.case_id for t in tasks if t.state == TaskState.open and t.kind.startswith("mailing.")
    )
    for oid in order_ids:
        order = orders.get(oid)
        if order is None or dispatch[oid] < 1:
            tally.lost += 1
            tally.lost_orders.append(f"order {oid}: {'no dispatch' if order else 'gone'}")
            continue
        ref = f"zt-o{oid}-a{order.attempt}"
        made = remote_creations[ref]
        if made > 1:
            tally.duplicated += 1
        if order.status in success and made == 1 and not dead_msgs[oid]:
            tally.delivered += 1
        elif order.status == OrderStatus.cancelled:
            tally.cancelled += 1
        elif dead_msgs[oid] >= 1 and order.status == OrderStatus.attention:
            # dead-lettered once, with its staff task; a retry reconciles by rate / reference
            assert dead_tasks[order.case_id] >= 1
            tally.dead += 1
        elif order.status == OrderStatus.attention and made == 0 and open_tasks[order.case_id]:
            tally.handed += 1
        elif (
            order.status == OrderStatus.attention
            and order.booking == "unknown"
            and open_tasks[order.case_id]
        ):
            # The courier could not be asked within the settle windows: the person's task says
            # the outcome is unknown, which is the truth; nothing was bought twice (above).
            tally.handed += 1
        else:
            tally.lost += 1
            tally.lost_orders.append(
                f"order {oid}: {order.status}, booking {order.booking!r}, made {made}, "
                f"dispatch {dispatch[oid]} (dead {dead_msgs[oid]}), note {order.note!r}"
            )
    return tally


def worker_for(mailing: Mailing, rng: random.Random) -> OutboxWorker:
    worker = OutboxWorker(mailing.db, mailing.settings, mailing.clock, rng=rng)
    worker.on_dead_letter(open_dead_letter_task)  # as the worklist's setup registers it
    register(worker, mailing)
    return worker

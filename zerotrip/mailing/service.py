"""Mailing services for the API: the case's orders and the applicant's choices, and the staff
console's steps. Each change is one transaction (retried from the start on a write conflict)
that locks the case, then the order, as every other writer does."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case, CaseState
from zerotrip.cases.store import get_case, lock_case
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.mailing.changes import cancel_order, choose_pickup, reassign_order, retry_order
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.local import advance
from zerotrip.mailing.models import CourierOrder, DeliveryPreference, InboundMessage, OrderEvent
from zerotrip.mailing.orders import DISPATCH, lock_order, orders_of
from zerotrip.mailing.schemas import OrderRecord
from zerotrip.mailing.statuses import CANCELLABLE, OPEN, REASONS_ZH, OrderKind, OrderStatus
from zerotrip.mailing.tracking import Applied, ingest
from zerotrip.mailing.webhook.callbacks import BadCallback, parse_events
from zerotrip.outbox.models import OutboxMessage
from zerotrip.problems import Conflict, InvalidInput, MalformedBody, NotFound

OPEN_ORDERS_SHOWN = 500
# Once the certificate is on its way, how it travels is no longer the applicant's to choose.
PREFERENCE_CLOSED = frozenset({CaseState.certificate_issued, CaseState.delivered, CaseState.closed})
OrderChange = Callable[[AsyncSession, Case, CourierOrder, Actor], Awaitable[Any]]


async def order_records(
    session: AsyncSession, orders: list[CourierOrder], *, staff: bool
) -> list[OrderRecord]:
    """The records of many orders in a fixed number of queries, however many orders."""
    ids = [o.id for o in orders]
    events: dict[int | None, list[OrderEvent]] = {i: [] for i in ids}
    if ids:
        rows = await session.exec(select(OrderEvent).where(col(OrderEvent.order_id).in_(ids)))
        for event in rows.all():
            events[event.order_id].append(event)
    if not staff or not orders:
        return [OrderRecord(o, events[o.id]) for o in orders]
    keys = {f"{DISPATCH}:{o.id}:{o.attempt}": o.id for o in orders}
    found = await session.exec(
        select(OutboxMessage).where(col(OutboxMessage.dedupe_key).in_(list(keys)))
    )
    messages = {keys[m.dedupe_key]: m for m in found.all()}
    case_ids = sorted({o.case_id for o in orders})
    refs = await session.exec(select(Case.id, Case.reference).where(col(Case.id).in_(case_ids)))
    references = dict(refs.all())
    return [
        OrderRecord(o, events[o.id], messages.get(o.id), references.get(o.case_id)) for o in orders
    ]


async def _record(session: AsyncSession, order: CourierOrder, *, staff: bool) -> OrderRecord:
    return (await order_records(session, [order], staff=staff))[0]


async def case_orders(db: Database, case_id: int, *, staff: bool) -> tuple[list[OrderRecord], str]:
    """The case's orders and how its certificate should travel (a courier unless chosen)."""
    async with db.session() as session:
        await get_case(session, case_id)
        orders = await orders_of(session, case_id)
        preference = await session.get(DeliveryPreference, case_id)
        records = await order_records(session, orders, staff=staff)
    return records, preference.method if preference else "courier"


async def open_orders(db: Database) -> list[OrderRecord]:
    """Open orders, the longest untouched first (the console ranks them by what they need)."""
    async with db.session() as session:
        rows = await session.exec(
            select(CourierOrder)
            .where(col(CourierOrder.status).in_([s.value for s in OPEN]))
            .order_by(col(CourierOrder.updated_at))
            .limit(OPEN_ORDERS_SHOWN)
        )
        return await order_records(session, list(rows.all()), staff=True)


async def _order_of_case(
    session: AsyncSession, case_id: int, order_id: int
) -> tuple[Case, CourierOrder]:
    case = await lock_case(session, case_id)
    order = await lock_order(session, order_id)
    if order.case_id != case_id:
        raise NotFound(
            f"No courier order {order_id} on this case.",
            zh=f"本办件没有编号为 {order_id} 的快递订单。",
        )
    return case, order


async def choose(
    db: Database,
    case_id: int,
    order_id: int,
    actor: Actor,
    *,
    hand_in: bool,
    window_start: datetime | None,
    window_end: datetime | None,
    address: dict[str, str] | None,
    now: datetime,
    staff: bool,
) -> OrderRecord:
    """The applicant's (or a clerk's) pickup choice for one order of the case."""

    async def work(session: AsyncSession) -> OrderRecord:
        case, order = await _order_of_case(session, case_id, order_id)
        await choose_pickup(
            session, case, order, actor,
            hand_in=hand_in, window_start=window_start, window_end=window_end,
            address=address, now=now,
        )  # fmt: skip
        return await _record(session, order, staff=staff)

    return await db.run_in_transaction(work)


async def set_delivery_preference(
    db: Database, case_id: int, method: str, actor: Actor, *, now: datetime
) -> str:
    """Courier or self-collection for the certificate, until the certificate is issued."""

    async def work(session: AsyncSession) -> str:
        case = await lock_case(session, case_id)
        if case.state in PREFERENCE_CLOSED:
            raise Conflict(
                "The certificate is already on its way or delivered.",
                zh="证照已在寄送途中或已送达。",
            )
        preference = await session.get(DeliveryPreference, case_id)
        if preference is None:
            preference = DeliveryPreference(case_id=case_id, method=method, chosen_at=now)
        preference.method, preference.chosen_at = method, now
        session.add(preference)
        append_event(session, case, actor, "mailing.delivery_preference", {"method": method})
        return method

    return await db.run_in_transaction(work)


async def change_order(
    db: Database, order_id: int, actor: Actor, change: OrderChange
) -> OrderRecord:
    """One staff step on an order (retry, cancel, reassign), under its case's lock."""

    async def work(session: AsyncSession) -> OrderRecord:
        peek = await session.get(CourierOrder, order_id)
        if peek is None:
            raise NotFound(
                f"No courier order {order_id}.", zh=f"没有编号为 {order_id} 的快递订单。"
            )
        case, order = await _order_of_case(session, peek.case_id, order_id)
        await change(session, case, order, actor)
        return await _record(session, order, staff=True)

    return await db.run_in_transaction(work)


async def retry_dispatch(
    db: Database, order_id: int, actor: Actor, *, now: datetime
) -> OrderRecord:
    return await change_order(db, order_id, actor, functools.partial(retry_order, now=now))


async def cancel(db: Database, order_id: int, actor: Actor, *, reason: str) -> OrderRecord:
    return await change_order(db, order_id, actor, functools.partial(cancel_order, reason=reason))


async def hand_to_courier(
    db: Database, order_id: int, actor: Actor, *, courier: str, now: datetime
) -> OrderRecord:
    change = functools.partial(reassign_order, courier=courier, now=now)
    return await change_order(db, order_id, actor, change)


async def advance_local(
    mailing: Mailing, order_id: int, status: OrderStatus, *, note: str
) -> OrderRecord:
    """A local courier's step recorded by hand, through the same pipeline as a courier's scan:
    a step the order's history refuses is a conflict, not a silent no-op."""
    async with mailing.db.session() as session:
        order = await session.get(CourierOrder, order_id)
    if order is None:
        raise NotFound(f"No courier order {order_id}.", zh=f"没有编号为 {order_id} 的快递订单。")
    if order.courier != "local" or not order.remote_id:
        raise Conflict(
            "Only a booked order of the local courier is advanced by hand.",
            zh="只有本地快递已下单的订单才能手工推进。",
        )
    result = await advance(mailing, order, status, description=note)
    if result.ignored:
        raise Conflict(
            f"Not applied: {', '.join(result.ignored)}.",
            zh=f"未生效：{'；'.join(REASONS_ZH.get(r, r) for r in result.ignored)}。",
            status=order.status,
        )
    async with mailing.db.session() as session:
        order = await session.get(CourierOrder, order_id)
        assert order is not None
        return await _record(session, order, staff=True)


# --- courier callbacks ----------------------------------------------------------------------------


async def receive_shippo(mailing: Mailing, raw: bytes) -> Applied:
    """A Shippo webhook (its token already checked): stored once by the digest of its bytes,
    then applied; a repeat is a duplicate, not a second change."""
    from zerotrip.mailing.shippo.mapping import webhook_updates  # loads the SDK: only if used

    try:
        body = raw.decode("utf-8")
        webhook_updates(body)
    except (ValueError, KeyError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedBody(
            f"Not a Shippo webhook payload ({type(exc).__name__}).",
            zh=f"不是有效的 Shippo 回调内容（{type(exc).__name__}）。",
        ) from None
    key = "shippo:" + hashlib.sha256(raw).hexdigest()
    return await ingest(mailing, "shippo", key, body)


async def receive_signed_callback(mailing: Mailing, raw: bytes, signature: str) -> Applied:
    """A webhook courier's signed callback (its signature already verified). The same events
    sent again under a new signature are a duplicate; the exact same request replayed is
    refused, since a valid signature must never be usable twice."""
    try:
        body = raw.decode("utf-8")
        events = parse_events(body)
    except (BadCallback, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"Not a courier callback: {exc}", zh=f"不是有效的快递回调：{exc}"
        ) from None
    joined = "|".join(sorted(e.event_id for e in events))
    key = "webhook:" + hashlib.sha256(joined.encode()).hexdigest()
    async with mailing.db.session() as session:
        replay = (
            await session.exec(
                select(InboundMessage.id).where(InboundMessage.signature == signature)
            )
        ).first()
    if replay is not None:
        raise Conflict(
            "This exact callback was already received (replayed).",
            zh="已收到过完全相同的回调（重放）。",
        )
    return await ingest(mailing, "webhook", key, body, signature)


async def pickup_to_join(db: Database, case_id: int) -> int | None:
    """The pickup order a mailed document can still ride with: one no courier holds yet."""
    async with db.session() as session:
        for order in await orders_of(session, case_id):
            if order.kind == OrderKind.pickup and order.status in CANCELLABLE:
                return order.id
    return None

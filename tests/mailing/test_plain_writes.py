"""The booking's Core writes (grouped across handlers) against the ORM path they stand in for:
the same order columns, history line and audit event, and chains that verify."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from sqlmodel import col, select

from tests.mailing.scenario import make_orders, worker_for
from zerotrip.cases.audit import case_events, verify_case
from zerotrip.mailing.dispatch import record_booking
from zerotrip.mailing.interfaces import Booking, RemoteIds
from zerotrip.mailing.models import CourierOrder, OrderEvent
from zerotrip.mailing.orders import set_status
from zerotrip.mailing.plain_writes import record_plain, save_ids
from zerotrip.mailing.statuses import OrderStatus

SAME = (
    "status",
    "resume_rank",
    "remote",
    "remote_id",
    "waybill",
    "label_url",
    "tracking_url",
    "booking",
    "unknown_since",
    "absent_checks",
    "steps",
    "intent",
    "note",
)
BOOKING = Booking(
    remote_id="txn_1", waybill="WB1", label_url="https://l/1", tracking_url="https://t/1"
)
IDS = {"rate_id": "rate_1", "transaction_id": "txn_1", "waybill": "WB1"}


async def _order(mailing: Any, oid: int) -> CourierOrder:
    async with mailing.db.session() as session:
        order = await session.get(CourierOrder, oid)
        assert order is not None
        return order


async def _plain(mailing: Any, oid: int, booking: Booking = BOOKING, attempt: int = 1) -> bool:
    case_id = (await _order(mailing, oid)).case_id
    return bool(
        await mailing.writes.run(
            lambda conn: record_plain(
                conn, oid, attempt, case_id, booking, dict(IDS), now=mailing.db.clock.now()
            )
        )
    )


async def test_a_plain_booking_writes_what_the_orm_path_writes(mailing):
    core, orm = await make_orders(mailing, 2, "shippo")
    assert await _plain(mailing, core)
    await record_booking(mailing, orm, 1, "shippo", BOOKING, RemoteIds(dict(IDS)))
    a, b = await _order(mailing, core), await _order(mailing, orm)
    assert a.updated_at > a.created_at and b.updated_at > b.created_at
    assert {c: getattr(a, c) for c in SAME} == {c: getattr(b, c) for c in SAME}
    async with mailing.db.session() as session:
        lines = {}
        for oid in (core, orm):
            rows = await session.exec(
                select(OrderEvent)
                .where(OrderEvent.order_id == oid)
                .order_by(col(OrderEvent.id).desc())
            )
            last = rows.first()
            assert last is not None
            lines[oid] = {
                k: v
                for k, v in last.model_dump().items()
                if k not in ("id", "order_id", "occurred_at", "received_at")
            }
        assert lines[core] == lines[orm] and lines[core]["dedupe_key"] == "booked"
        events = {}
        for order in (a, b):
            report = await verify_case(session, order.case_id)
            assert report.ok, report
            last = (await case_events(session, order.case_id))[-1]
            events[order.id] = (last.kind, last.actor_kind, last.actor_label, last.payload)
    kind, actor, label, payload = events[core]
    assert (kind, actor, label) == events[orm][:3] == ("mailing.booked", "system", "mailing")
    assert payload.replace(f'"order":{core}', "") == events[orm][3].replace(f'"order":{orm}', "")


async def test_orders_that_are_not_plain_are_left_to_the_general_path(mailing):
    attention, cancelled, flagged, again = await make_orders(mailing, 4, "shippo")
    async with mailing.db.transaction() as session:
        order = await session.get(CourierOrder, attention)
        assert order is not None
        set_status(order, OrderStatus.attention, "address problem")
        session.add(order)
        order = await session.get(CourierOrder, cancelled)
        assert order is not None
        order.intent = "cancel"
        session.add(order)
    assert not await _plain(mailing, attention)
    assert not await _plain(mailing, cancelled)
    assert not await _plain(mailing, flagged, Booking("t", "w", attention="check the pickup"))
    assert not await _plain(mailing, again, attempt=2)  # re-assigned while booking
    assert await _plain(mailing, again)
    assert not await _plain(mailing, again)  # confirmed already
    for oid in (attention, cancelled, flagged):
        assert (await _order(mailing, oid)).booking == ""


async def test_grouped_writes_commit_together_and_fail_alone(mailing):
    ids = await make_orders(mailing, 6, "shippo")

    async def broken(conn: Any) -> None:
        await save_ids(conn, ids[0], 1, {"x": 1}, sending=False, now=mailing.clock.now())
        raise ValueError("a bug in one write")

    async def save(oid: int) -> None:
        await mailing.writes.run(
            lambda conn: save_ids(
                conn, oid, 1, {"rate_id": f"r{oid}"}, sending=True, now=mailing.clock.now()
            )
        )

    results = await asyncio.gather(
        mailing.writes.run(broken), *(save(oid) for oid in ids[1:]), return_exceptions=True
    )
    assert isinstance(results[0], ValueError) and results[1:] == [None] * 5
    first = await _order(mailing, ids[0])
    assert "x" not in first.remote and first.booking == ""  # rolled back with its failure
    for oid in ids[1:]:
        order = await _order(mailing, oid)
        assert order.remote["rate_id"] == f"r{oid}" and order.booking == "sent"


async def test_many_bookings_through_the_outbox_keep_every_chain_valid(mailing, shippo_standin):
    ids = await make_orders(mailing, 24, "shippo")
    worker = worker_for(mailing, random.Random(3))
    await worker.drain()
    async with mailing.db.session() as session:
        for oid in ids:
            order = await session.get(CourierOrder, oid)
            assert order is not None and order.status == "booked" and order.waybill
            report = await verify_case(session, order.case_id)
            assert report.ok, report
            kinds = [e.kind for e in await case_events(session, order.case_id)]
            assert kinds.count("mailing.booked") == 1
    assert max(shippo_standin.purchases.values()) == 1

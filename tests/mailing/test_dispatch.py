"""The shippo and webhook couriers under faults, through the real outbox: targeted cases for each
fault, then property tests over hundreds of orders with a random fault schedule and crashes."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlmodel import select

from tests.harness.databases import truncate_postgresql
from tests.mailing.conftest import SECRET
from tests.mailing.scenario import (
    drive,
    make_orders,
    settle_and_check,
    track_until_settled,
    worker_for,
)
from tests.standins.courier import CourierStandIn
from tests.standins.shippo import ShippoStandIn
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.clock import Clock
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.couriers import build_couriers
from zerotrip.mailing.models import CourierOrder
from zerotrip.worklist.models import StaffTask


async def _one_order(mailing, courier):
    [oid] = await make_orders(mailing, 1, courier)
    return oid


async def _order(mailing, oid) -> CourierOrder:
    async with mailing.db.session() as session:
        order = await session.get(CourierOrder, oid)
        assert order is not None
        return order


@pytest.mark.parametrize("fault", ["lost", "timeout", "garbage", "unparseable", "500"])
async def test_an_answer_lost_after_buying_never_buys_twice(fault, mailing, shippo_standin):
    oid = await _one_order(mailing, "shippo")
    worker = worker_for(mailing, random.Random(1))
    shippo_standin.faults = lambda op, f=iter([fault]): (
        next(f, None) if op == "CreateTransaction" else None
    )
    await worker.run_once()
    order = await _order(mailing, oid)
    assert order.status == "queued" and order.remote.get("rate_id")
    assert order.booking == "unknown" and order.unknown_since is not None
    assert "Outcome unknown" in order.note
    for _ in range(8):  # reconciliation steps, each its own message, over the settle window
        mailing.clock.advance(timedelta(seconds=mailing.settings.mailing_settle_s / 4))
        await worker.run_once()
    order = await _order(mailing, oid)
    assert order.status == "booked" and order.waybill and order.booking == "confirmed"
    ref = f"zt-o{oid}-a1"
    assert shippo_standin.purchases_by_reference[ref] == 1
    assert max(shippo_standin.purchases.values()) == 1


async def test_a_body_the_sdk_cannot_parse_keeps_the_label_id(mailing, shippo_standin):
    oid = await _one_order(mailing, "shippo")
    worker = worker_for(mailing, random.Random(1))
    shippo_standin.faults = lambda op: "unparseable" if op == "CreateTransaction" else None
    await worker.run_once()
    order = await _order(mailing, oid)
    assert order.remote["transaction_id"].startswith("txn_")  # saved from the raw body
    shippo_standin.faults = lambda op: None
    mailing.clock.advance(timedelta(hours=1))
    await worker.run_once()
    assert (await _order(mailing, oid)).remote_id == order.remote["transaction_id"]
    assert sum(shippo_standin.purchases.values()) == 1
    assert shippo_standin.calls["ListTransactions"] == 0  # the retry fetched it by id


async def test_rate_limits_and_resets_before_acting_are_plain_retries(mailing, shippo_standin):
    oid = await _one_order(mailing, "shippo")
    worker = worker_for(mailing, random.Random(1))
    faults = iter(["429", "reset"])
    shippo_standin.faults = lambda op: next(faults, None) if op == "CreateAddress" else None
    for _ in range(3):
        await worker.run_once()
        mailing.clock.advance(timedelta(hours=1))
    assert (await _order(mailing, oid)).status == "booked"
    assert sum(shippo_standin.purchases.values()) == 1


async def test_a_wrong_api_key_is_a_configuration_error(mailing, shippo_standin, db):
    bad = dataclasses.replace(
        mailing.settings, shippo_api_key="not-a-shippo-key", outbox_max_attempts=2
    )
    other = Mailing(
        db, bad, mailing.clock, mailing.catalogue, mailing.calendar, build_couriers(bad)
    )
    oid = await _one_order(other, "shippo")
    worker = worker_for(other, random.Random(1))
    await worker.run_once()
    assert "configuration" in worker.outcomes[0].error
    mailing.clock.advance(timedelta(days=1))
    await worker.run_once()
    order = await _order(other, oid)
    assert order.status == "attention" and "configuration" in order.note
    async with db.session() as session:
        kinds = sorted(t.kind for t in (await session.exec(select(StaffTask))).all())
    assert kinds == ["mailing.not_booked", "outbox.dead"]
    await other.close()


async def test_an_invalid_address_dead_letters_with_a_staff_task(mailing, shippo_standin, db):
    shippo_standin.invalid_streets.add("文三路 90 号")
    oid = await _one_order(mailing, "shippo")
    worker = worker_for(mailing, random.Random(1))
    await worker.run_once()
    order = await _order(mailing, oid)
    assert order.status == "attention" and "invalid" in order.note
    assert sum(shippo_standin.purchases.values()) == 0
    async with db.session() as session:
        tasks = (await session.exec(select(StaffTask))).all()
    assert {t.case_id for t in tasks} == {order.case_id}
    [told] = [t for t in tasks if t.kind == "mailing.not_booked"]
    assert "no label was bought" in told.detail  # the truth: Shippo holds nothing


async def test_an_order_handed_to_a_person_resumes_when_the_courier_turns_out_to_hold_it(
    mailing, courier_standin, db
):
    """Every booking answer lost until the unknown outcome goes to a person; the courier held
    the order all along. The reconciler finds it: the order is booked with its waybill, tracked
    to delivery, and the person's task is closed saying what the courier holds."""
    oid = await _one_order(mailing, "webhook")
    worker = worker_for(mailing, random.Random(1))
    courier_standin.faults = lambda op: "lost" if op == "create" else None
    for _ in range(40):
        await worker.run_once()
        order = await _order(mailing, oid)
        if order.status == "attention":
            break
        mailing.clock.advance(timedelta(seconds=mailing.settings.mailing_settle_s / 4))
    assert order.status == "attention" and order.booking == "unknown" and not order.waybill
    [ref] = list(courier_standin.orders)
    assert courier_standin.created[ref] == 1
    async with db.session() as session:
        [task] = (await session.exec(select(StaffTask))).all()
    assert task.kind == "mailing.unresolved" and task.state == "open"

    courier_standin.faults = lambda op: None
    courier_standin.deliver(ref, ["picked_up", "in_transit", "delivered"])
    await track_until_settled(mailing)
    order = await _order(mailing, oid)
    assert order.status == "delivered"
    assert order.waybill == courier_standin.orders[ref]["waybill"]
    assert courier_standin.created[ref] == 1 and courier_standin.cancelled[ref] == 0
    async with db.session() as session:
        [task] = (await session.exec(select(StaffTask))).all()
    assert task.state == "done" and order.waybill in task.resolution


# --- property tests ---------------------------------------------------------------------------


async def _scenario(
    db_url: str,
    data_dir: Path,
    courier: str,
    n: int,
    fault_rate: float,
    crash_rate: float,
    cancel_share: float,
    rnd: int,
) -> None:
    rng = random.Random(rnd)
    shippo, system = ShippoStandIn(hang_s=0.3), CourierStandIn(SECRET, hang_s=0.3)
    await shippo.start()
    await system.start()
    (shippo if courier == "shippo" else system).random_faults(fault_rate, rng)
    settings = Settings(
        data_dir=data_dir,
        database_url=db_url,
        secret_key="t",
        outbox_worker=False,
        outbox_max_attempts=10,
        outbox_backoff_base_s=1,
        outbox_lease_s=30,
        outbox_batch=20,
        shippo_api_key="shippo_test_x",
        shippo_base_url=shippo.url,
        shippo_read_timeout_s=0.1,
        courier_webhook_url=system.url,
        courier_webhook_secret=SECRET,
        courier_webhook_timeout_s=0.1,
    ).resolved()
    db = Database(settings)
    clock = Clock("Asia/Shanghai")
    mailing = Mailing(
        db,
        settings,
        clock,
        load_catalogue(),
        WorkingCalendar.from_iso((), ()),
        build_couriers(settings),
    )
    try:
        ids = await make_orders(mailing, n, courier)
        cancel = rng.sample(ids, int(n * cancel_share))
        await drive(
            mailing, worker_for(mailing, rng), rng, crash_rate=crash_rate, cancel_ids=cancel
        )
        if courier == "webhook":
            for ref in list(system.orders):
                if system.orders[ref]["status"] != "cancelled":
                    system.deliver(ref, ["picked_up", "in_transit", "delivered"])
        await track_until_settled(mailing)
        made = shippo.purchases_by_reference if courier == "shippo" else system.created
        tally = await settle_and_check(mailing, ids, made)
        assert tally.lost == 0 and tally.duplicated == 0, tally
        assert tally.delivered + tally.cancelled + tally.dead + tally.handed == n, tally
        assert max(shippo.purchases.values(), default=0) <= 1  # one label per rate, ever
        assert shippo.violations == []
        if courier == "shippo":  # every cancelled order's label was refunded
            async with db.session() as session:
                cancelled = (
                    await session.exec(
                        select(CourierOrder).where(CourierOrder.status == "cancelled")
                    )
                ).all()
            for order in cancelled:
                refs = [
                    t for t in shippo.transactions.values() if t["metadata"] == f"zt-o{order.id}-a1"
                ]
                assert all(t["status"] == "REFUNDED" for t in refs), order.id
    finally:
        await mailing.close()
        await db.dispose()
        await shippo.stop()
        await system.stop()


def _fresh_db(template: str, tmp: Path, n: int) -> str:
    if template.startswith("sqlite"):
        dst = tmp / f"prop{n}.db"
        shutil.copyfile(Path(template.split("///", 1)[1]), dst)
        return f"sqlite+aiosqlite:///{dst}"
    asyncio.run(truncate_postgresql(template))
    return template


def _property(courier: str):
    counter = iter(range(10**6))

    @pytest.mark.slow
    @seed(20261122)
    @hyp_settings(
        max_examples=3,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        fault_rate=st.floats(min_value=0.05, max_value=0.3),
        crash_rate=st.floats(min_value=0.0, max_value=0.1),
        cancel_share=st.sampled_from([0.0, 0.1]),
        rnd=st.integers(min_value=0, max_value=2**32),
    )
    def test(database_template, tmp_path, fault_rate, crash_rate, cancel_share, rnd):
        url = _fresh_db(database_template, tmp_path, next(counter))
        asyncio.run(
            _scenario(url, tmp_path, courier, 100, fault_rate, crash_rate, cancel_share, rnd)
        )

    return test


test_shippo_orders_end_exactly_once_under_random_faults = _property("shippo")
test_webhook_orders_end_exactly_once_under_random_faults = _property("webhook")

"""Mailing bench: N courier orders through the real outbox to the Shippo stand-in (real shippo
3.9.0 SDK, loopback) with 20% injected faults, late commits among them; counts lost, duplicated
(more than one label for an order) and stranded orders (no end and no staff task) and the
dispatch latency, and compares with dispatching one message at a time (the naive way: batches
of one, one SDK thread) in the same run. The stand-in runs in a process of its own (Shippo is a
server of its own), sharing the bench's clock so that late commits land when time moves on.

    python bench/mailing.py [--orders 2000] [--faults 0.2] [--database-url URL]

Last line: ``mailing: <N> orders/s, lost 0, duplicated 0, stranded 0, p99 dispatch <M> ms,
<R>x the one-at-a-time loop``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, select

from tests.mailing.conftest import SECRET
from tests.mailing.scenario import drive, make_orders, settle_and_check, worker_for
from tests.standins.shippo import ShippoStandIn
from tests.standins.shippo_process import ShippoProcess, StandInConfig
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.config import Settings
from zerotrip.db import Database, migrate
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.couriers import build_couriers
from zerotrip.mailing.models import CourierOrder
from zerotrip.mailing.statuses import TERMINAL, OrderStatus
from zerotrip.worklist.models import StaffTask, TaskState


async def run(settings: Settings, orders: int, faults: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    standin = ShippoProcess(  # a server of its own, as Shippo is: its CPU is not ours
        StandInConfig(
            faults=faults,
            kinds=["500", "429", "reset", "lost", "timeout", "garbage", "unparseable", "late"],
            seed=seed,
            hang_s=0.4,
            max_commit_s=settings.mailing_settle_s * 0.6,
        )
    )
    settings = dataclasses.replace(settings, shippo_base_url=standin.start())
    clock = standin.clock("Asia/Shanghai")
    db = Database(settings)
    mailing = Mailing(
        db,
        settings,
        clock,
        load_catalogue(),
        WorkingCalendar.from_iso((), ()),
        build_couriers(settings),
    )
    try:
        ids = await make_orders(mailing, orders, "shippo")
        started, cpu = time.perf_counter(), time.process_time()
        result = await drive(mailing, worker_for(mailing, rng), rng)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        booked = frozenset({OrderStatus.booked})
        report = await standin.land_all()
        tally = await settle_and_check(mailing, ids, report.labels, success=booked)
        stranded = await _stranded(mailing, ids)
        lat = sorted(result.dispatch_seconds)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
        return {
            "rate": orders / elapsed,
            "lost": tally.lost,
            "duplicated": tally.duplicated,
            "stranded": stranded,
            "p99": p99,
            "dead": tally.dead,
            "booked": orders - tally.lost - tally.dead,
            "elapsed": elapsed,
            "cpu_ms": cpu / orders * 1000,
            "calls": sum(report.calls.values()),
        }
    finally:
        await mailing.close()
        await db.dispose()
        standin.stop()


async def _stranded(mailing: Mailing, ids: list[int]) -> int:
    """Orders with no end and no open staff task (the sweeper's job, counted here)."""
    async with mailing.db.session() as session:
        orders = (
            await session.exec(select(CourierOrder).where(col(CourierOrder.id).in_(ids)))
        ).all()
        watched = set(
            (
                await session.exec(
                    select(StaffTask.case_id).where(StaffTask.state == TaskState.open)
                )
            ).all()
        )
    ended = {OrderStatus.booked, *TERMINAL}
    return sum(1 for o in orders if o.status not in ended and o.case_id not in watched)


def sdk_parse_ms() -> float:
    """CPU the shippo 3.9.0 SDK spends reading one order's answers (address, shipment, label)."""
    from tests.standins.shippo import sdk_parse

    s = ShippoStandIn()
    _, addr = s._CreateAddress({"country": "CN", "street1": "x", "name": "n"}, [], {})
    _, shp = s._CreateShipment({"address_from": addr["object_id"], "address_to": {}}, [], {})
    _, txn = s._CreateTransaction({"rate": shp["rates"][0]["object_id"]}, [], {})
    bodies = [("CreateAddress", addr), ("CreateShipment", shp), ("CreateTransaction", txn)]
    started = time.process_time()
    for _ in range(20):
        for op, body in bodies:
            sdk_parse(op, body)
    return (time.process_time() - started) / 20 * 1000


async def _pg_admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(sql))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def database(url: str | None, name: str) -> Iterator[str | None]:
    """SQLite: the default file in the run's folder. PostgreSQL: a throwaway database next to
    the one ``url`` names (each run starts empty), dropped afterwards."""
    if not url or not url.startswith("postgresql"):
        yield url
        return
    parsed = sa.make_url(url).set(drivername="postgresql+asyncpg")
    db = f"zt_bench_mailing_{name}_{os.getpid()}"
    asyncio.run(_pg_admin(parsed.render_as_string(hide_password=False), f'CREATE DATABASE "{db}"'))
    try:
        yield parsed.set(database=db).render_as_string(hide_password=False)
    finally:
        asyncio.run(
            _pg_admin(
                parsed.render_as_string(hide_password=False),
                f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)',
            )
        )


def fresh(base: Path, name: str, url: str | None, **kw: object) -> Settings:
    data = base / name
    data.mkdir()
    s = Settings(
        data_dir=data,
        database_url=url or "",
        secret_key="bench",
        outbox_worker=False,
        outbox_max_attempts=10,
        outbox_backoff_base_s=1,
        outbox_lease_s=30,
        shippo_api_key="shippo_test_bench",
        shippo_read_timeout_s=0.2,
        courier_webhook_secret=SECRET,
        **kw,  # type: ignore[arg-type]
    ).resolved()
    migrate(s)
    return s


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--faults", type=float, default=0.2)
    ap.add_argument("--naive-orders", type=int, default=200)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--in-flight", type=int, default=64, help="handlers (and SDK threads)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    before = load()
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(args.database_url, "naive") as naive_url,
        database(args.database_url, "outbox") as outbox_url,
    ):
        base = Path(tmp)
        naive = asyncio.run(
            run(
                fresh(base, "naive", naive_url, outbox_batch=1, shippo_threads=1),
                args.naive_orders,
                args.faults,
                args.seed,
            )
        )
        fast = asyncio.run(
            run(
                fresh(
                    base,
                    "outbox",
                    outbox_url,
                    outbox_batch=args.in_flight,
                    shippo_threads=args.in_flight,
                ),
                args.orders,
                args.faults,
                args.seed,
            )
        )
    parse = sdk_parse_ms()
    ratio = fast["rate"] / naive["rate"]
    print(f"load average: {before} before, {load()} after ({os.cpu_count()} cores)")
    print(
        f"shippo SDK parsing, were it used: {parse:.0f} ms CPU per order "
        f"(at most {1000 / parse:.0f} orders/s per core); the adapter reads raw JSON instead"
    )
    print(
        f"one at a time (batches of 1, 1 SDK thread): {naive['rate']:.1f} orders/s, "
        f"{args.naive_orders} orders, lost {naive['lost']:.0f}, "
        f"duplicated {naive['duplicated']:.0f}"
    )
    print(
        f"outbox (up to {args.in_flight} in flight, as many SDK threads): "
        f"{fast['rate']:.1f} orders/s; "
        f"{fast['booked']:.0f} booked, {fast['dead']:.0f} dead-lettered, "
        f"{fast['calls']:.0f} stand-in calls, {args.faults:.0%} faults"
    )
    print(
        f"CPU per order (this process: dispatch, database driver, SDK threads; the stand-in "
        f"runs in its own process): "
        f"{fast['cpu_ms']:.1f} ms outbox, {naive['cpu_ms']:.1f} ms one at a time; "
        f"{1000 / fast['cpu_ms']:.0f} orders/s per idle core at most"
    )
    print(
        f"mailing: {fast['rate']:.0f} orders/s, lost {fast['lost']:.0f}, "
        f"duplicated {fast['duplicated']:.0f}, stranded {fast['stranded']:.0f}, "
        f"p99 dispatch {fast['p99']:.0f} ms, {ratio:.1f}x the one-at-a-time loop"
    )


if __name__ == "__main__":
    main()

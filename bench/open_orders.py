"""The staff console's open-order list: the mailing service's batched read against the naive
per-order way (one query for the history, one for the dispatch message and one for the case,
for every order), measured in the same run on the same database.

Seeds SQLite in a temporary folder with ``--cases`` cases, each with a pickup order made by the
real order code (order, history line and dispatch message), then reads the list ``--runs``
times each way and prints the median time, the statements each way issues, and the ratio.

    .venv/bin/python bench/open_orders.py [--cases 250] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

APPLICATION = {
    "matter_code": "food-business",
    "applicant_name": "李娜",
    "applicant_phone": "+86 138 0000 0000",
    "organisation": "李记小面馆",
    "premises_address": "浙江省杭州市西湖区文三路 90 号",
}


async def seed(db: Any, settings: Any, n_cases: int) -> None:
    from zerotrip.cases.catalogue import load_catalogue
    from zerotrip.cases.store import Application, create_case
    from zerotrip.kit.actor import Actor
    from zerotrip.mailing.addresses import applicant_address, office_address
    from zerotrip.mailing.orders import create_order
    from zerotrip.mailing.statuses import OrderKind, OrderStatus

    catalogue = load_catalogue()
    actor = Actor("system", "", "bench")
    for start in range(0, n_cases, 50):
        async with db.transaction() as session:
            for _ in range(min(50, n_cases - start)):
                case = await create_case(session, catalogue, Application(**APPLICATION), actor)
                await create_order(
                    session,
                    case,
                    OrderKind.pickup,
                    courier="local",
                    sender=applicant_address(case, settings),
                    recipient=office_address(settings),
                    actor=actor,
                    status=OrderStatus.awaiting_choice,
                )


async def naive_records(db: Any) -> list[Any]:
    """The way the list was read before: three queries per order after the list itself."""
    from sqlmodel import col, select

    from zerotrip.cases.models import Case
    from zerotrip.mailing.models import CourierOrder, OrderEvent
    from zerotrip.mailing.orders import dispatch_message
    from zerotrip.mailing.statuses import OPEN

    out = []
    async with db.session() as session:
        rows = await session.exec(
            select(CourierOrder)
            .where(col(CourierOrder.status).in_([s.value for s in OPEN]))
            .order_by(col(CourierOrder.updated_at))
            .limit(500)
        )
        for order in rows.all():
            events = (
                await session.exec(select(OrderEvent).where(OrderEvent.order_id == order.id))
            ).all()
            message = await dispatch_message(session, order)
            case = await session.get(Case, order.case_id)
            out.append((order, list(events), message, case.reference if case else None))
    return out


async def measure(
    db: Any, read: Callable[[Any], Awaitable[list[Any]]], runs: int
) -> tuple[float, int, int]:
    """Median seconds, statements per read and rows read."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    times = []
    rows = 0
    for n in range(runs):
        engine = db.engine.sync_engine
        if n == 0:
            event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        rows = len(await read(db))
        times.append(time.perf_counter() - started)
        if n == 0:
            event.remove(engine, "before_cursor_execute", count)
    return statistics.median(times), len(statements), rows


async def compare(settings: Any, n_cases: int, runs: int) -> tuple[Any, Any]:
    from zerotrip.db import Database
    from zerotrip.mailing.service import open_orders

    db = Database(settings)
    try:
        await seed(db, settings, n_cases)
        return await measure(db, open_orders, runs), await measure(db, naive_records, runs)
    finally:
        await db.dispose()


def main(n_cases: int, runs: int) -> None:
    from zerotrip.config import Settings
    from zerotrip.db import migrate

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder), secret_key="bench-secret-key", log_level="WARNING"
        ).resolved()
        migrate(settings)
        batched, naive = asyncio.run(compare(settings, n_cases, runs))
    assert batched[2] == naive[2], "both ways must read the same orders"
    (b_time, b_statements, listed), (n_time, n_statements, _) = batched, naive
    print(f"orders listed: {listed} (SQLite, median of {runs})")
    print(f"batched, mailing.service: {b_time * 1000:8.1f} ms, {b_statements} statements")
    print(f"naive, 3 per order:       {n_time * 1000:8.1f} ms, {n_statements} statements")
    print(f"ratio naive/batched: {n_time / b_time:.1f}x time, {n_statements / b_statements:.0f}x")
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=250)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    main(args.cases, args.runs)

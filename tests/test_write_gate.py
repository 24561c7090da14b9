"""SQLite writers take turns in the event loop; a nested write transaction is refused at once."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from tests.factories import make_staff
from zerotrip.db import NestedWriteTransaction


@pytest.fixture
def sqlite_only(settings):
    if not settings.is_sqlite:
        pytest.skip("the write gate is SQLite's (PostgreSQL locks rows)")


async def test_fifty_writers_at_once_all_commit(db, sqlite_only):
    await db.run_in_transaction(
        lambda s: s.execute(sa.text("CREATE TABLE tally (n INTEGER NOT NULL)"))
    )

    async def write(n: int) -> None:
        async with db.transaction() as session:
            await session.execute(sa.text("INSERT INTO tally (n) VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.001)  # hold the lock across a hand-back to the loop

    started = time.monotonic()
    await asyncio.gather(*(write(n) for n in range(50)))
    assert time.monotonic() - started < 10  # no busy-timeout waits (15 s each)
    async with db.session() as session:
        count = (await session.execute(sa.text("SELECT count(*) FROM tally"))).scalar_one()
    assert count == 50


async def test_a_nested_write_transaction_is_refused_at_once(db, sqlite_only):
    await make_staff(db, "clerk")  # the database works
    started = time.monotonic()
    with pytest.raises(NestedWriteTransaction):
        async with db.transaction():
            async with db.transaction():
                pass
    assert time.monotonic() - started < 5
    async with db.transaction() as session:  # and the gate is free again
        await session.execute(sa.text("SELECT 1"))


async def test_postgresql_runs_at_most_a_pool_of_writers_at_once(db, settings):
    """Fifty steps at once on PostgreSQL: all commit, never more write transactions open at a
    time than the pool holds connections (more would wait on the loop holding row locks)."""
    if settings.is_sqlite:
        pytest.skip("PostgreSQL's bound (SQLite has one writer)")
    await db.run_in_transaction(
        lambda s: s.execute(sa.text("CREATE TABLE tally (n INTEGER NOT NULL)"))
    )
    open_now, most = 0, 0

    async def write(n: int) -> None:
        nonlocal open_now, most
        async with db.transaction() as session:
            open_now += 1
            most = max(most, open_now)
            await session.execute(sa.text("INSERT INTO tally (n) VALUES (:n)"), {"n": n})
            await asyncio.sleep(0.01)  # a step hands the loop back between statements
            open_now -= 1

    try:
        await asyncio.gather(*(write(n) for n in range(50)))
        async with db.session() as session:
            count = (await session.execute(sa.text("SELECT count(*) FROM tally"))).scalar_one()
    finally:  # the PostgreSQL test database outlives the test (it is truncated, not dropped)
        await db.run_in_transaction(lambda s: s.execute(sa.text("DROP TABLE tally")))
    assert count == 50
    assert most == settings.db_pool_size, most

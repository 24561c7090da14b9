"""Closing the read path never waits on a read that does not end: a connection a stuck task
still holds is cut after the grace period, and the server sees it gone."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from zerotrip.cases.models import Case

CASES = Case.__table__  # type: ignore[attr-defined]


async def _backends(db) -> int:
    async with db.session() as session:
        return (
            await session.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = '' AND pid <> pg_backend_pid()"
                    " AND query LIKE '%FROM cases%'"
                )
            )
        ).scalar_one()


async def test_close_cuts_a_connection_a_stuck_read_holds(db, settings):
    if settings.is_sqlite:
        pytest.skip("the read pool is PostgreSQL's")
    await db.reads.fetch((sa.select(CASES.c.id).where(CASES.c.id == -1), {}))
    holding = asyncio.Event()

    async def stuck_read() -> None:
        async with db.reads._acquire() as conn:
            await conn.fetch("SELECT id FROM cases WHERE id = -1")
            holding.set()
            await asyncio.Event().wait()  # never gives the connection back

    task = asyncio.create_task(stuck_read())
    await asyncio.wait_for(holding.wait(), 10)
    assert await _backends(db) >= 1
    started = time.monotonic()
    await db.reads.close(grace_s=0.5)
    assert time.monotonic() - started < 5
    for _ in range(50):
        if await _backends(db) == 0:
            break
        await asyncio.sleep(0.1)
    assert await _backends(db) == 0
    task.cancel()

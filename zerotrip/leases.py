"""Cluster-wide leases for periodic work: one process at a time runs a given loop.

A courier reconciler or the local courier's simulator running in every process would make N
times the courier calls (and N simulated couriers). On PostgreSQL the loop runs only while its
process holds a session advisory lock named after the loop, on a connection kept for that
purpose; the others retry now and then. If the holder dies, PostgreSQL ends its session and
frees the lock, and another process takes the work over within ``retry_s``. SQLite means one
machine: the loop simply runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from zerotrip.db import Database

log = logging.getLogger("zerotrip.leases")

RETRY_S = 5.0


def lease_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(
        hashlib.sha256(f"zerotrip:{name}".encode()).digest()[:8], "big", signed=True
    )


async def run_with_lease(
    db: Database,
    name: str,
    run: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    *,
    retry_s: float = RETRY_S,
) -> None:
    """Run ``run(stop)`` once this process holds the lease ``name``; return when ``stop`` is set.

    While another process holds it, wait and try again every ``retry_s``.
    """
    if db.dialect != "postgresql":
        await run(stop)
        return
    key = lease_key(name)
    while not stop.is_set():
        conn = await db.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            held = (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            ).scalar_one()
            if held:
                log.info("lease %s taken: running it here", name)
                try:
                    await run(stop)
                finally:
                    with contextlib.suppress(Exception):
                        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                return
        finally:
            await conn.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), retry_s)

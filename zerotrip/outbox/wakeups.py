"""Waking idle outbox workers when a message is enqueued, in whichever process it was.

On PostgreSQL :func:`notify` adds ``pg_notify`` to the enqueueing transaction, so the
notification goes out when (and only if) it commits, and every worker listening on
``CHANNEL`` wakes at once instead of at its next poll. PostgreSQL folds identical
notifications of one transaction into one, so a step that enqueues many messages wakes each
worker once. A notification is only a hint: a worker that missed it (its listener connection
was down) still finds the message at its next poll, so nothing depends on it being delivered.
SQLite has no such channel; its workers poll, and the process that enqueued wakes its own
worker directly (:meth:`OutboxWorker.wake`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.db import Database

log = logging.getLogger("zerotrip.outbox")

CHANNEL = "zerotrip_outbox"
_NOTIFY = sa.text(f"SELECT pg_notify('{CHANNEL}', '')")


async def notify(session: AsyncSession) -> None:
    """Wake the listening workers when ``session``'s transaction commits (PostgreSQL only)."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        await session.execute(_NOTIFY)


class Wakeups(Protocol):
    async def start(self, wake: Callable[[], None]) -> None: ...
    async def check(self) -> None: ...
    async def stop(self) -> None: ...


class NoWakeups:
    """SQLite: polling it is."""

    async def start(self, wake: Callable[[], None]) -> None:
        return None

    async def check(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class PostgresWakeups:
    """``LISTEN`` on a connection of the worker's own (a pooled one may not keep a listener)."""

    def __init__(self, database_url: str) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._conn: asyncpg.Connection | None = None
        self._wake: Callable[[], None] | None = None

    async def start(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        await self._listen()

    async def _listen(self) -> None:
        self._conn = await asyncpg.connect(self.dsn, timeout=10)
        await self._conn.add_listener(CHANNEL, self._received)

    def _received(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        if self._wake is not None:
            self._wake()

    async def check(self) -> None:
        """Listen again if the connection was lost (called between polls)."""
        if self._wake is None or (self._conn is not None and not self._conn.is_closed()):
            return
        try:
            await self._listen()
            self._wake()  # messages may have come while nobody listened
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox wake-ups: cannot listen (%s); polling meanwhile", exc)

    async def stop(self) -> None:
        conn, self._conn, self._wake = self._conn, None, None
        if conn is not None and not conn.is_closed():
            await conn.close()


def wakeups_for(db: Database) -> Wakeups:
    if db.dialect == "postgresql":
        return PostgresWakeups(db.settings.database_url)
    return NoWakeups()

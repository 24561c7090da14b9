"""Group commit: many tasks' small writes in one transaction.

Each write transaction has a fixed cost that dwarfs a few Core statements: the session and its
connection checkout, ``BEGIN`` / ``COMMIT`` (a WAL append and, on SQLite, a turn at the one
write gate; a round trip and a WAL flush on PostgreSQL). Handlers that each need a short write
before they go on (an outbox handler saving a courier's ids, recording a booking) hand it to a
:class:`GroupCommit` and wait: whatever was handed in while the previous transaction was in
flight is written together in the next one, and every waiter resumes once its write has
committed, exactly as if it had committed its own. An idle writer commits a lone write at once.

A write is a coroutine function of the transaction's connection (Core statements only: no ORM
session state is shared between writers). If the shared transaction fails (a write conflict,
a bug in one write), it is rolled back and every write of it runs again alone, retried on
conflicts as usual, so one write's failure is that writer's alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from zerotrip.db import Database, retry_on_conflict

log = logging.getLogger("zerotrip.group_commit")

Write = Callable[[AsyncConnection], Awaitable[Any]]
MAX_GROUP = 64  # writes per transaction: bounds how long one transaction holds its locks


@dataclass
class _Pending:
    write: Write
    done: asyncio.Future[Any]


@dataclass
class GroupCommit:
    """One per :class:`~zerotrip.db.Database` user that wants its writes grouped; it holds no
    event-loop state until the first write, and forgets it when idle."""

    db: Database
    _queue: list[_Pending] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

    async def run(self, write: Write) -> Any:
        """Run ``write`` in a write transaction (probably shared), return its result once
        committed."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(write, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._drain())
        return await done

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # writers handed in during this turn of the loop join the first
        while self._queue:
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            group = [p for p in group if not p.done.cancelled()]
            try:
                await self._together(group)
            except asyncio.CancelledError:
                for p in group + self._queue:
                    p.done.cancel()
                self._queue = []
                raise
            except Exception:
                log.debug("a group of %d writes failed; writing them one by one", len(group))
                for p in group:
                    await self._alone(p)

    async def _together(self, group: list[_Pending]) -> None:
        results = []
        async with self.db.transaction() as session:
            conn = await session.connection()
            for p in group:
                results.append(await p.write(conn))
        for p, result in zip(group, results, strict=True):
            if not p.done.done():
                p.done.set_result(result)

    async def _alone(self, p: _Pending) -> None:
        async def attempt() -> Any:
            async with self.db.transaction() as session:
                return await p.write(await session.connection())

        try:
            result = await retry_on_conflict(attempt)
        except Exception as exc:
            if not p.done.done():
                p.done.set_exception(exc)
            return
        if not p.done.done():
            p.done.set_result(result)

"""Recording what became of claimed messages: done, retry later, or dead.

Outcomes are written by group commit: handlers finish at their own pace, and whatever finished
while the previous write was in flight is written together in the next one transaction (one
``UPDATE ... RETURNING`` per claim for the successes, one ``UPDATE`` per retry). A busy worker
thus commits a few times per second, not once per message, which is what SQLite's single writer
needs; an idle one commits each outcome at once. Every write is fenced by the lease token, so a
worker that overran its lease cannot overwrite the outcome of the worker that took over.
Dead letters each get their own transaction, because their hooks (a staff task, the topic's
``on_dead``) write other tables and must not be undone by a neighbour's failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.db import retry_on_conflict
from zerotrip.outbox.errors import Permanent, RetryLater
from zerotrip.outbox.models import OutboxMessage, OutboxState

if TYPE_CHECKING:
    from zerotrip.outbox.worker import OutboxWorker, Route

log = logging.getLogger("zerotrip.outbox")


@dataclass
class Outcome:
    message_id: int
    state: str
    error: str = ""
    seconds: float = 0.0  # from the handler's start until its outcome was committed


@dataclass
class Finished:
    """A handler that has returned (``exc`` None) or raised; its outcome is not written yet."""

    msg: OutboxMessage
    exc: Exception | None
    started: float


@dataclass
class _Retry:
    msg: OutboxMessage
    error: str
    next_at: datetime


class Recorder:
    """Collects finished handlers and writes their outcomes in as few transactions as it can."""

    def __init__(self, worker: OutboxWorker) -> None:
        self.worker = worker
        self.outcomes: list[Outcome] = []
        self._queue: list[Finished] = []
        self._more = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    def add(self, finished: Finished) -> None:
        self._queue.append(finished)
        self._more.set()
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    async def close(self) -> list[Outcome]:
        """Write everything still queued, then stop."""
        self._closed = True
        self._more.set()
        if self._task is not None:
            await self._task
        return self.outcomes

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _loop(self) -> None:
        while True:
            await self._more.wait()
            self._more.clear()
            batch, self._queue = self._queue, []
            if batch:
                try:
                    await self._write(batch)
                except Exception:  # leased rows stay leased; they come due again on expiry
                    log.exception(
                        "outbox %s: recording %d outcomes failed", self.worker.name, len(batch)
                    )
            if self._closed and not self._queue:
                return

    async def _write(self, batch: list[Finished]) -> None:
        worker = self.worker
        done = [f for f in batch if f.exc is None]
        retries: list[tuple[Finished, _Retry]] = []
        dead: list[tuple[Finished, str]] = []
        for f in batch:
            if f.exc is None:
                continue
            verdict = _judge(worker, f.msg, f.exc)
            if isinstance(verdict, _Retry):
                retries.append((f, verdict))
            else:
                dead.append((f, verdict))
        kept: set[int] = set()
        if done or retries:
            kept = await retry_on_conflict(
                lambda: _write_batch(worker, [f.msg for f in done], [r for _, r in retries])
            )
        now = asyncio.get_running_loop().time()
        for f in done:
            state = OutboxState.done.value if f.msg.id in kept else "lease-lost"
            self.outcomes.append(Outcome(f.msg.id or 0, state, "", now - f.started))
        for f, r in retries:
            state = OutboxState.pending.value if f.msg.id in kept else "lease-lost"
            self.outcomes.append(Outcome(f.msg.id or 0, state, r.error, now - f.started))
        for f, error in dead:
            outcome = await _dead(worker, f.msg, worker.routes[f.msg.topic], error)
            outcome.seconds = asyncio.get_running_loop().time() - f.started
            self.outcomes.append(outcome)


def _judge(worker: OutboxWorker, msg: OutboxMessage, exc: Exception) -> _Retry | str:
    """Retry (when) or give up (why)."""
    if isinstance(exc, Permanent):
        return f"permanent: {exc}"
    if not isinstance(exc, RetryLater):
        log.warning("outbox %s #%s failed: %r", msg.topic, msg.id, exc)
    error = f"{type(exc).__name__}: {exc}"
    if msg.attempts >= worker.settings.outbox_max_attempts:
        return f"gave up after {msg.attempts}: {error}"
    delay = worker.backoff(msg.attempts)
    if isinstance(exc, RetryLater) and exc.retry_after is not None:
        delay = max(delay, exc.retry_after)
    return _Retry(msg, error, worker.clock.now() + timedelta(seconds=delay))


def _held(msg: OutboxMessage) -> sa.ColumnElement[bool]:
    return sa.and_(
        OutboxMessage.id == msg.id,
        OutboxMessage.lease_owner == msg.lease_owner,
        OutboxMessage.state == OutboxState.leased,
    )


# The group commit's statements, built once (a busy worker runs them many times a second):
# the SET columns come from each call's parameters.
_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]
_DONE = (
    sa.update(_TABLE)
    .where(
        _TABLE.c.id.in_(sa.bindparam("ids", expanding=True)),
        _TABLE.c.lease_owner == sa.bindparam("token"),
        _TABLE.c.state == OutboxState.leased.value,
    )
    .returning(_TABLE.c.id)
)
_AGAIN = sa.update(_TABLE).where(
    _TABLE.c.id == sa.bindparam("message_id"),
    _TABLE.c.lease_owner == sa.bindparam("token"),
    _TABLE.c.state == OutboxState.leased.value,
)


async def _write_batch(
    worker: OutboxWorker, done: list[OutboxMessage], retries: list[_Retry]
) -> set[int]:
    """One transaction: successes per claim token, then each retry; the ids whose lease held."""
    kept: set[int] = set()
    async with worker.db.transaction() as session:
        conn = await session.connection()
        now = worker.clock.now()
        by_token: dict[str | None, list[int]] = {}
        for msg in done:
            by_token.setdefault(msg.lease_owner, []).append(msg.id or 0)
        for token, ids in by_token.items():
            rows = await conn.execute(
                _DONE,
                {
                    "ids": ids,
                    "token": token,
                    "state": OutboxState.done.value,
                    "last_error": "",
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "updated_at": now,
                    "finished_at": now,
                },
            )
            kept.update(rows.scalars().all())
        for r in retries:
            result = await conn.execute(
                _AGAIN,
                {
                    "message_id": r.msg.id,
                    "token": r.msg.lease_owner,
                    "state": OutboxState.pending.value,
                    "last_error": r.error[:2000],
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "updated_at": now,
                    "next_attempt_at": r.next_at,
                },
            )
            if result.rowcount == 1:
                kept.add(r.msg.id or 0)
    return kept


async def _dead(worker: OutboxWorker, msg: OutboxMessage, route: Route, error: str) -> Outcome:
    """Dead-letter one message and run the dead-letter hooks, in one transaction."""

    async def extra(session: AsyncSession) -> None:
        for hook in worker.dead_letter_hooks:
            await hook(session, msg, error)
        if route.on_dead is not None:
            await route.on_dead(session, msg, error)

    return await finish(worker, msg, OutboxState.dead, error, extra=extra)


async def finish(
    worker: OutboxWorker,
    msg: OutboxMessage,
    state: OutboxState,
    error: str,
    *,
    extra: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> Outcome:
    """Record one outcome only while still holding the lease (fencing by lease token)."""

    async def attempt() -> bool:
        async with worker.db.transaction() as session:
            now = worker.clock.now()
            values: dict[str, object] = {
                "state": state,
                "last_error": error[:2000],
                "lease_owner": None,
                "lease_expires_at": None,
                "updated_at": now,
            }
            if state in (OutboxState.done, OutboxState.dead):
                values["finished_at"] = now
            result = await session.execute(
                sa.update(OutboxMessage)
                .where(_held(msg))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            if extra is not None:
                await extra(session)
            return True

    kept = await retry_on_conflict(attempt)
    if not kept:
        log.warning("outbox #%s: lease lost before recording %s", msg.id, state)
        return Outcome(msg.id or 0, "lease-lost", error)
    return Outcome(msg.id or 0, state.value, error)

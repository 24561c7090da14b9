"""The outbox worker: claims due messages with a lease, runs their topic's handler, and records
the outcome.

Delivery is at-least-once with idempotent handlers, which is exactly-once in effect:

* A claim sets ``state=leased`` with a fresh lease token and expiry in one short transaction.
  PostgreSQL picks rows with ``FOR UPDATE SKIP LOCKED`` so workers never wait on each other;
  SQLite has one writer at a time (``BEGIN IMMEDIATE``) and the UPDATE repeats the "still due"
  condition, so a row can never be claimed twice.
* A message whose worker died keeps its lease until it expires and is then claimed again: nothing
  is lost. Its handler runs a second time, so handlers check their own records first (the
  mailing handler looks at the order's saved remote ids before calling a courier).
* Completion is conditional on still holding the lease token, so a worker that overran its lease
  cannot overwrite the outcome recorded by the worker that took over.
* Failures back off exponentially with full jitter; after ``outbox_max_attempts`` (or a
  :class:`Permanent` error) the message is dead-lettered; in the same transaction the hooks
  registered with :meth:`OutboxWorker.on_dead_letter` run (the worklist opens a staff task),
  then the topic's optional ``on_dead`` hook (e.g. flag the courier order).
* Handlers run concurrently, at most ``outbox_batch`` at a time; more are claimed as slots free
  up, so a slow call never holds back the rest of its batch, and outcomes are written by group
  commit (:mod:`zerotrip.outbox.recording`).
* An idle worker sleeps until woken: on PostgreSQL by ``NOTIFY`` from whichever process
  enqueued (:mod:`zerotrip.outbox.wakeups`), else after ``outbox_poll_s``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.config import Settings
from zerotrip.db import Database, retry_on_conflict
from zerotrip.kit.clock import Clock
from zerotrip.outbox.models import OutboxMessage, OutboxState
from zerotrip.outbox.recording import Finished, Outcome, Recorder, finish
from zerotrip.outbox.wakeups import wakeups_for

log = logging.getLogger("zerotrip.outbox")

Handler = Callable[[OutboxMessage], Awaitable[None]]
DeadHook = Callable[[AsyncSession, OutboxMessage, str], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    on_dead: DeadHook | None = None


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        clock: Clock,
        *,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.name = name or f"worker-{uuid.uuid4().hex[:8]}"
        self.rng = rng or random.Random()
        self.routes: dict[str, Route] = {}
        self.dead_letter_hooks: list[DeadHook] = []
        self.outcomes: list[Outcome] = []  # the last run_once's, for benches and tests
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def register(self, topic: str, handler: Handler, *, on_dead: DeadHook | None = None) -> None:
        self.routes[topic] = Route(handler, on_dead)

    def on_dead_letter(self, hook: DeadHook) -> None:
        """Run ``hook`` for every message given up on, whatever its topic."""
        self.dead_letter_hooks.append(hook)

    def wake(self) -> None:
        """Ask a sleeping ``run()`` to look for work now (e.g. right after an enqueue)."""
        self._wake.set()

    # --- claiming -------------------------------------------------------------------------

    async def claim(self, limit: int) -> list[OutboxMessage]:
        async def attempt() -> list[OutboxMessage]:
            async with self.db.transaction() as session:
                return await self._claim_in(session, limit)

        return await retry_on_conflict(attempt)

    async def _claim_in(self, session: AsyncSession, limit: int) -> list[OutboxMessage]:
        now = self.clock.now()
        due = sa.or_(
            sa.and_(
                OutboxMessage.state == OutboxState.pending,
                col(OutboxMessage.next_attempt_at) <= now,
            ),
            sa.and_(
                OutboxMessage.state == OutboxState.leased,
                col(OutboxMessage.lease_expires_at) <= now,
            ),
        )
        topics = list(self.routes)
        pick = (
            select(OutboxMessage.id)
            .where(due, col(OutboxMessage.topic).in_(topics))
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
        )
        if self.db.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = list((await session.exec(pick)).all())
        if not ids:
            return []
        token = f"{self.name}:{uuid.uuid4().hex[:12]}"
        lease_until = now + timedelta(seconds=self.settings.outbox_lease_s)
        await session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids), due)
            .values(
                state=OutboxState.leased,
                lease_owner=token,
                lease_expires_at=lease_until,
                attempts=OutboxMessage.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.lease_owner == token)
            .execution_options(populate_existing=True)
        )
        return list(claimed.all())

    # --- running --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim one batch of due messages, run their handlers concurrently, record outcomes."""
        return await self._pump(more=False)

    async def drain(self) -> int:
        """Run until nothing is due now, keeping up to ``outbox_batch`` handlers in flight.

        No handler waits for a slow neighbour: whenever a quarter of the slots are free, more
        due messages are claimed, and outcomes are written by group commit as handlers finish
        (see :mod:`zerotrip.outbox.recording`). Returns how many messages were claimed.
        """
        return await self._pump(more=True)

    async def _pump(self, *, more: bool) -> int:
        cap = max(1, self.settings.outbox_batch)
        refill = max(1, cap // 4)
        recorder = Recorder(self)
        flying: set[asyncio.Task[Finished]] = set()
        # One case's messages run one after another, in the order they were claimed (due
        # time, then id): an applicant gets "accepted" before "please rectify".
        last_of_case: dict[int, asyncio.Future[Finished]] = {}
        claimed, exhausted = 0, False
        loop = asyncio.get_running_loop()
        try:
            while True:
                free = cap - len(flying)
                if not exhausted and (free >= refill or not flying):
                    batch = await self.claim(free)
                    claimed += len(batch)
                    exhausted = not more or len(batch) < free
                    for msg in batch:
                        task = asyncio.ensure_future(
                            self._run_handler(msg, loop.time(), after=last_of_case.get(msg.case_id))
                        )
                        if msg.case_id is not None:
                            last_of_case[msg.case_id] = task
                        flying.add(task)
                if not flying:
                    break
                finished, flying = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    recorder.add(task.result())
            self.outcomes = await recorder.close()
        except BaseException:  # cancelled (a process stopping): leases expire, nothing is lost
            for task in flying:
                task.cancel()
            recorder.cancel()
            raise
        return claimed

    async def _run_handler(
        self, msg: OutboxMessage, started: float, *, after: asyncio.Future[Finished] | None = None
    ) -> Finished:
        if after is not None and not after.done():
            await asyncio.wait([after])
        try:
            async with asyncio.timeout(self.settings.outbox_lease_s * 0.8):  # in this task
                await self.routes[msg.topic].handler(msg)
        except Exception as exc:  # recorded by the Recorder: retried, or dead-lettered
            return Finished(msg, exc, started)
        return Finished(msg, None, started)

    async def _finish(self, msg: OutboxMessage, state: OutboxState, error: str) -> Outcome:
        """Record one outcome by hand, fenced by the lease token (what a late worker does)."""
        return await finish(self, msg, state, error)

    def backoff(self, attempts: int) -> float:
        """Full jitter: uniform in [base/2, min(cap, base * 2^(attempts-1))]."""
        base = self.settings.outbox_backoff_base_s
        ceiling = min(self.settings.outbox_backoff_cap_s, base * (2 ** max(0, attempts - 1)))
        return self.rng.uniform(min(base / 2, ceiling), ceiling)

    async def run(self) -> None:
        """Dispatch until :meth:`stop`. With nothing due it sleeps until woken: by
        :meth:`wake`, by a PostgreSQL ``NOTIFY`` from any process that enqueued a message, or
        after ``outbox_poll_s`` (the fallback, and SQLite's only way)."""
        self._stop.clear()
        wakeups = wakeups_for(self.db)
        try:
            await wakeups.start(self.wake)
        except Exception:  # no listener: polling alone still finds everything
            log.exception("outbox worker %s: cannot listen for wake-ups", self.name)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    handled = await self.drain()
                except Exception:  # the database being briefly unavailable must not kill it
                    log.exception("outbox worker %s: pass failed", self.name)
                    handled = 0
                if handled:
                    continue
                waiters = [asyncio.ensure_future(e.wait()) for e in (self._stop, self._wake)]
                await asyncio.wait(
                    waiters,
                    timeout=self.settings.outbox_poll_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for w in waiters:
                    w.cancel()
                await wakeups.check()
        finally:
            await wakeups.stop()

    def stop(self) -> None:
        self._stop.set()

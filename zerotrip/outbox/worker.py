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
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.config import Settings
from zerotrip.db import Database, retry_on_conflict
from zerotrip.kit.clock import Clock
from zerotrip.outbox.errors import Permanent, RetryLater
from zerotrip.outbox.models import OutboxMessage, OutboxState

log = logging.getLogger("zerotrip.outbox")

Handler = Callable[[OutboxMessage], Awaitable[None]]
DeadHook = Callable[[AsyncSession, OutboxMessage, str], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    on_dead: DeadHook | None = None


@dataclass
class Outcome:
    message_id: int
    state: str
    error: str = ""
    seconds: float = 0.0


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
        """Claim one batch of due messages, run their handlers concurrently, record outcomes.

        Successes are recorded together in one transaction (one commit per batch, not per
        message); failures each get their own retry or dead-letter transaction.
        """
        messages = await self.claim(self.settings.outbox_batch)
        ran = await asyncio.gather(*(self._run_handler(m) for m in messages))
        started = time.perf_counter()
        done = [msg for msg, exc, _ in ran if exc is None]
        kept = await self._finish_done(done) if done else set()
        batch_s = time.perf_counter() - started
        outcomes = []
        for msg, exc, seconds in ran:
            if exc is None:
                state = OutboxState.done.value if msg.id in kept else "lease-lost"
                outcomes.append(Outcome(msg.id or 0, state, "", seconds + batch_s))
            else:
                outcome = await self._failed(msg, exc)
                outcome.seconds = seconds + (time.perf_counter() - started)
                outcomes.append(outcome)
        self.outcomes = outcomes
        return len(messages)

    async def _run_handler(
        self, msg: OutboxMessage
    ) -> tuple[OutboxMessage, Exception | None, float]:
        started = time.perf_counter()
        try:
            handler = self.routes[msg.topic].handler(msg)
            await asyncio.wait_for(handler, timeout=self.settings.outbox_lease_s * 0.8)
        except Exception as exc:  # recorded by _failed: retried, or dead-lettered
            return msg, exc, time.perf_counter() - started
        return msg, None, time.perf_counter() - started

    async def _failed(self, msg: OutboxMessage, exc: Exception) -> Outcome:
        route = self.routes[msg.topic]
        if isinstance(exc, Permanent):
            return await self._dead(msg, route, f"permanent: {exc}")
        retry_after = exc.retry_after if isinstance(exc, RetryLater) else None
        if not isinstance(exc, RetryLater):
            log.warning("outbox %s #%s failed: %r", msg.topic, msg.id, exc)
        error = f"{type(exc).__name__}: {exc}"
        if msg.attempts >= self.settings.outbox_max_attempts:
            return await self._dead(msg, route, f"gave up after {msg.attempts}: {error}")
        return await self._retry(msg, error, retry_after)

    async def _finish_done(self, messages: list[OutboxMessage]) -> set[int]:
        """Mark handled messages done in one transaction; return the ids whose lease held."""

        async def attempt() -> set[int]:
            kept: set[int] = set()
            async with self.db.transaction() as session:
                now = self.clock.now()
                for msg in messages:
                    result = await session.execute(
                        sa.update(OutboxMessage)
                        .where(
                            OutboxMessage.id == msg.id,
                            OutboxMessage.lease_owner == msg.lease_owner,
                            OutboxMessage.state == OutboxState.leased,
                        )
                        .values(
                            state=OutboxState.done,
                            last_error="",
                            lease_owner=None,
                            lease_expires_at=None,
                            updated_at=now,
                            finished_at=now,
                        )
                        .execution_options(synchronize_session=False)
                    )
                    if result.rowcount == 1:  # type: ignore[attr-defined]
                        kept.add(msg.id or 0)
            return kept

        return await retry_on_conflict(attempt)

    def backoff(self, attempts: int) -> float:
        """Full jitter: uniform in [base/2, min(cap, base * 2^(attempts-1))]."""
        base = self.settings.outbox_backoff_base_s
        ceiling = min(self.settings.outbox_backoff_cap_s, base * (2 ** max(0, attempts - 1)))
        return self.rng.uniform(min(base / 2, ceiling), ceiling)

    async def _retry(self, msg: OutboxMessage, error: str, retry_after: float | None) -> Outcome:
        delay = self.backoff(msg.attempts)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return await self._finish(
            msg, OutboxState.pending, error, next_at=self.clock.now() + timedelta(seconds=delay)
        )

    async def _dead(self, msg: OutboxMessage, route: Route, error: str) -> Outcome:
        async def extra(session: AsyncSession) -> None:
            for hook in self.dead_letter_hooks:
                await hook(session, msg, error)
            if route.on_dead is not None:
                await route.on_dead(session, msg, error)

        return await self._finish(msg, OutboxState.dead, error, extra=extra)

    async def _finish(
        self,
        msg: OutboxMessage,
        state: OutboxState,
        error: str,
        *,
        next_at: datetime | None = None,
        extra: Callable[[AsyncSession], Awaitable[None]] | None = None,
    ) -> Outcome:
        """Record the outcome only while still holding the lease (fencing by lease token)."""

        async def attempt() -> bool:
            async with self.db.transaction() as session:
                now = self.clock.now()
                values: dict[str, object] = {
                    "state": state,
                    "last_error": error[:2000],
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "updated_at": now,
                }
                if next_at is not None:
                    values["next_attempt_at"] = next_at
                if state in (OutboxState.done, OutboxState.dead):
                    values["finished_at"] = now
                result = await session.execute(
                    sa.update(OutboxMessage)
                    .where(
                        OutboxMessage.id == msg.id,
                        OutboxMessage.lease_owner == msg.lease_owner,
                        OutboxMessage.state == OutboxState.leased,
                    )
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

    async def run(self) -> None:
        """Dispatch until :meth:`stop`; sleeps ``outbox_poll_s`` when there is nothing due."""
        self._stop.clear()
        while not self._stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # the database being briefly unavailable must not kill the loop
                log.exception("outbox worker %s: pass failed", self.name)
                handled = 0
            if handled:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(e.wait()) for e in (self._stop, self._wake)]
            await asyncio.wait(
                waiters, timeout=self.settings.outbox_poll_s, return_when=asyncio.FIRST_COMPLETED
            )
            for w in waiters:
                w.cancel()

    def stop(self) -> None:
        self._stop.set()

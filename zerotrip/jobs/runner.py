"""Running jobs: the worker role's loop, and the one-process (``all``) shortcut of running a job
right in the request that asked for it.

A worker runs one job at a time: jobs are CPU-bound (rendering happens in a thread, but the
GIL is shared), so a second one in the same process would only slow the first; more throughput
is more worker processes, which claim side by side (see :mod:`zerotrip.jobs.queue`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import asyncpg

from zerotrip.jobs.models import Job
from zerotrip.jobs.queue import UNEXPECTED, WAKE_CHANNEL, JobQueue, LeaseLost, problem_record
from zerotrip.problems import Problem

log = logging.getLogger("zerotrip.jobs")

Progress = Callable[[int, str], Awaitable[None]]


class JobHandler(Protocol):
    async def __call__(self, job: Job, progress: Progress) -> dict[str, Any]:
        """Do the work of ``job``; return its result (JSON). A :class:`Problem` fails the job
        for good with that problem; any other exception is retried."""


class JobRunner:
    """Claims and runs the kinds registered on it."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self.handlers: dict[str, JobHandler] = {}
        self._wake = asyncio.Event()

    def register(self, kind: str, handler: JobHandler) -> None:
        self.handlers[kind] = handler

    def wake(self) -> None:
        """Look for work now (an enqueue in this process; a NOTIFY from another)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run jobs until ``stop``; between jobs, wait for a wake-up or the poll interval."""
        listener = await self._listen()
        try:
            while not stop.is_set():
                ran = await self.run_once()
                if ran:
                    continue
                self._wake.clear()
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._wake.wait()),
                ]
                await asyncio.wait(
                    waiters, timeout=self.queue.settings.job_poll_s, return_when="FIRST_COMPLETED"
                )
                for waiter in waiters:
                    waiter.cancel()
                if listener is not None and listener.is_closed():
                    listener = await self._listen()
        finally:
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        """PostgreSQL: a connection of its own that hears enqueues from every process."""
        if self.queue.db.dialect != "postgresql":
            return None
        dsn = self.queue.settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        try:
            conn = await asyncpg.connect(dsn)
            await conn.add_listener(WAKE_CHANNEL, lambda *_: self.wake())
        except (OSError, asyncpg.PostgresError):
            log.warning("jobs: cannot listen for wake-ups; polling only", exc_info=True)
            return None
        return conn

    async def run_once(self, *, job_id: int | None = None) -> bool:
        """Claim one job (or exactly ``job_id``) and run it; False when there was none."""
        if not self.handlers:
            return False
        job = await self.queue.claim(list(self.handlers), job_id=job_id)
        if job is None:
            return False
        await self._run(job)
        return True

    async def _run(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        log.info("job %s (%s) attempt %s started", job.id, job.kind, job.attempts)
        renewing = asyncio.create_task(self._keep_lease(job))

        async def progress(percent: int, note: str) -> None:
            await self.queue.progress(job, percent, note)

        try:
            result = await handler(job, progress)
        except LeaseLost:
            log.warning("job %s: lease lost to another worker; its outcome stands", job.id)
            return
        except Problem as problem:
            await self._settle(job, self.queue.fail(job, problem_record(problem), retry=False))
            log.info("job %s refused: %s", job.id, problem.detail)
            return
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.kind)
            await self._settle(job, self.queue.fail(job, UNEXPECTED, retry=True))
            return
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        await self._settle(job, self.queue.finish(job, result))
        log.info("job %s (%s) done", job.id, job.kind)

    async def _settle(self, job: Job, outcome: Awaitable[None]) -> None:
        try:
            await outcome
        except LeaseLost:
            log.warning("job %s: lease lost before its outcome was recorded", job.id)

    async def _keep_lease(self, job: Job) -> None:
        """Renew the lease while the handler works, whether or not it reports progress."""
        every = max(0.5, self.queue.settings.job_lease_s / 3)
        while True:
            await asyncio.sleep(every)
            try:
                await self.queue.renew(job)
            except LeaseLost:
                return
            except Exception:
                log.warning("job %s: lease renewal failed; trying again", job.id, exc_info=True)

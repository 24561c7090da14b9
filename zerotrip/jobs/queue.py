"""The durable job queue: enqueue in a transaction, claim with a lease, report progress, finish.

Claiming is the outbox's pattern (see :mod:`zerotrip.outbox.worker`) for one job at a time:

* PostgreSQL picks the row with ``FOR UPDATE SKIP LOCKED``, so any number of workers claim
  side by side without waiting on each other; SQLite has one writer at a time (``BEGIN
  IMMEDIATE``) and the UPDATE repeats the "still claimable" condition, so a job is never
  claimed twice.
* A claim gives the job a lease token and an expiry. The worker renews it while it works; a
  worker killed mid-job stops renewing and the job is claimed again once the lease expires:
  nothing is lost. After ``job_max_attempts`` claims it is failed instead of run again.
* Progress, the result and a failure are written only while the writer still holds the
  token, so a worker that overran its lease cannot overwrite what its successor records.

On PostgreSQL an enqueue also sends ``NOTIFY zerotrip_jobs`` in its transaction: a waiting
worker starts at once instead of at its next poll.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.config import Settings
from zerotrip.db import Database, retry_on_conflict
from zerotrip.jobs.models import FINISHED, Job, JobState
from zerotrip.kit.clock import Clock
from zerotrip.problems import NotFound, Problem

WAKE_CHANNEL = "zerotrip_jobs"

# What a job that failed for a reason we did not foresee tells the person who asked for it; the
# exception itself goes to the log only (it may hold paths, SQL or secrets).
UNEXPECTED = {
    "status": 500,
    "slug": "job-failed",
    "title": "The job failed",
    "detail": "The work could not be done; the operators have the details in the log.",
    "detail_zh": "任务未能完成，详细原因已记录在日志中，请联系管理员。",
}


def problem_record(problem: Problem) -> dict[str, Any]:
    """A domain problem as stored on a failed job, to be raised again for the caller."""
    return {
        "status": problem.status,
        "slug": problem.slug,
        "title": problem.title,
        "detail": problem.detail,
        "detail_zh": problem.detail_zh,
        "extensions": {k: v for k, v in problem.extensions.items() if _plain(v)},
    }


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def as_problem(record: dict[str, Any]) -> Problem:
    """The problem a failed job recorded, ready to be raised in the caller's request."""
    problem = Problem(
        str(record.get("detail", "")), zh=record.get("detail_zh"), **record.get("extensions", {})
    )
    problem.status = int(record.get("status", 500))
    problem.slug = str(record.get("slug", "job-failed"))
    problem.title = str(record.get("title", "The job failed"))
    return problem


class LeaseLost(Exception):
    """The worker's lease expired and another worker took the job over."""


class JobQueue:
    """One process's handle on the ``jobs`` table."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, *, name: str = "") -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        # The pid in the name says which process holds a job's lease (``jobs.lease_owner``).
        self.name = name or f"jobs-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    # --- asking ---------------------------------------------------------------------------

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        case_id: int | None = None,
        requested_by: int | None = None,
    ) -> Job:
        """Queue a job, or return the same work already queued or running (a second click on
        "sign" while the first is still signing gets the first job, not a second report)."""

        async def attempt() -> Job:
            async with self.db.transaction() as session:
                same = await session.exec(
                    select(Job).where(
                        Job.kind == kind,
                        Job.case_id == case_id,
                        col(Job.state).in_([JobState.queued, JobState.running]),
                    )
                )
                for job in same.all():
                    if job.payload == payload:
                        return job
                now = self.clock.now()
                job = Job(
                    kind=kind,
                    payload=payload,
                    case_id=case_id,
                    requested_by=requested_by,
                    not_before=now,
                    created_at=now,
                )
                session.add(job)
                await session.flush()
                await self._notify(session)
                return job

        return await retry_on_conflict(attempt)

    async def _notify(self, session: AsyncSession) -> None:
        if self.db.dialect == "postgresql":
            await session.execute(sa.text(f"NOTIFY {WAKE_CHANNEL}"))

    async def get(self, job_id: int) -> Job:
        async with self.db.session() as session:
            job = await session.get(Job, job_id)
        if job is None:
            raise NotFound(f"No job {job_id}.", zh=f"没有编号为 {job_id} 的任务。")
        return job

    async def wait(self, job_id: int, timeout_s: float) -> Job:
        """The job once finished, or as it stands when ``timeout_s`` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pause = 0.05
        while True:
            job = await self.get(job_id)
            if job.state in FINISHED or loop.time() >= deadline:
                return job
            await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            pause = min(pause * 2, 0.5)

    # --- working --------------------------------------------------------------------------

    async def claim(self, kinds: list[str], *, job_id: int | None = None) -> Job | None:
        """Take one claimable job of ``kinds`` (or exactly ``job_id``) with a fresh lease."""

        async def attempt() -> Job | None:
            async with self.db.transaction() as session:
                return await self._claim_in(session, kinds, job_id)

        return await retry_on_conflict(attempt)

    def _claimable(self, now: Any) -> sa.ColumnElement[bool]:
        return sa.and_(
            col(Job.attempts) < self.settings.job_max_attempts,
            sa.or_(
                sa.and_(Job.state == JobState.queued, col(Job.not_before) <= now),
                sa.and_(Job.state == JobState.running, col(Job.lease_expires_at) <= now),
            ),
        )

    async def _claim_in(
        self, session: AsyncSession, kinds: list[str], job_id: int | None
    ) -> Job | None:
        now = self.clock.now()
        await self._give_up_abandoned(session, now)
        pick = select(Job.id).where(self._claimable(now), col(Job.kind).in_(kinds))
        if job_id is not None:
            pick = pick.where(Job.id == job_id)
        pick = pick.order_by(col(Job.not_before), col(Job.id)).limit(1)
        if self.db.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        found = (await session.exec(pick)).first()
        if found is None:
            return None
        token = f"{self.name}:{uuid.uuid4().hex[:12]}"
        taken = await session.execute(
            sa.update(Job)
            .where(col(Job.id) == found, self._claimable(now))
            .values(
                state=JobState.running,
                lease_owner=token,
                lease_expires_at=now + timedelta(seconds=self.settings.job_lease_s),
                attempts=Job.attempts + 1,
                started_at=sa.func.coalesce(Job.started_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        rows = await session.exec(
            select(Job).where(Job.id == found).execution_options(populate_existing=True)
        )
        return rows.one()

    async def _give_up_abandoned(self, session: AsyncSession, now: Any) -> None:
        """A job whose every attempt died with its worker is failed, not retried forever."""
        await session.execute(
            sa.update(Job)
            .where(
                Job.state == JobState.running,
                col(Job.lease_expires_at) <= now,
                col(Job.attempts) >= self.settings.job_max_attempts,
            )
            .values(
                state=JobState.failed,
                error=UNEXPECTED,
                finished_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def _update_held(self, job: Job, **values: Any) -> None:
        """Write ``values`` if this worker still holds the job's lease, else :class:`LeaseLost`."""

        async def attempt() -> int:
            async with self.db.transaction() as session:
                result = await session.execute(
                    sa.update(Job)
                    .where(col(Job.id) == job.id, col(Job.lease_owner) == job.lease_owner)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                return int(result.rowcount)  # type: ignore[attr-defined]

        if await retry_on_conflict(attempt) != 1:
            raise LeaseLost(f"job {job.id}: lease {job.lease_owner} lost")

    def _lease(self) -> Any:
        return self.clock.now() + timedelta(seconds=self.settings.job_lease_s)

    async def renew(self, job: Job) -> None:
        await self._update_held(job, lease_expires_at=self._lease())

    async def progress(self, job: Job, percent: int, note: str) -> None:
        """Record how far the job got (and renew its lease: the worker is evidently alive)."""
        await self._update_held(
            job, progress=max(0, min(100, percent)), note=note[:200], lease_expires_at=self._lease()
        )

    async def finish(self, job: Job, result: dict[str, Any]) -> None:
        now = self.clock.now()
        await self._update_held(
            job,
            state=JobState.done,
            progress=100,
            note="done",
            result=result,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )

    async def fail(self, job: Job, error: dict[str, Any], *, retry: bool) -> None:
        """Failed for good, or (``retry``, attempts left) queued again after a pause."""
        now = self.clock.now()
        if retry and job.attempts < self.settings.job_max_attempts:
            pause = self.settings.job_retry_s * 2 ** max(0, job.attempts - 1)
            await self._update_held(
                job,
                state=JobState.queued,
                note="retrying",
                not_before=now + timedelta(seconds=pause),
                lease_owner=None,
                lease_expires_at=None,
            )
            return
        await self._update_held(
            job,
            state=JobState.failed,
            error=error,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )

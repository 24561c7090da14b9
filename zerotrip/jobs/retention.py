"""Forgetting finished jobs: a job row and its exported file are kept for ``job_keep_s`` after
it finished (long enough for the person who asked to download it), then deleted, so neither the
table nor the store grows with every export ever made.

The file goes first, then the row: a process killed in between leaves a row whose file is
already gone, which the next pass deletes again (deleting a missing export is not an error).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.db import Database
from zerotrip.jobs.models import FINISHED, Job
from zerotrip.kit.clock import Clock
from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import EXPORTS

BATCH = 500


async def forget_finished_jobs(
    db: Database, storage: Storage, clock: Clock, keep: timedelta
) -> int:
    """Delete jobs finished more than ``keep`` ago, with their exports; how many went."""
    cutoff = clock.now() - keep
    removed = 0
    while True:
        async with db.session() as session:
            stmt = (
                select(Job.id, Job.result)
                .where(col(Job.state).in_(FINISHED), col(Job.finished_at) < cutoff)
                .order_by(col(Job.id))
                .limit(BATCH)
            )
            old = (await session.exec(stmt)).all()
        if not old:
            return removed
        for _, result in old:
            key = (result or {}).get("key")
            if isinstance(key, str) and key.startswith(EXPORTS):
                await storage.discard(key)
        ids = [job_id for job_id, _ in old]

        async def drop(session: AsyncSession, ids: list[int | None] = ids) -> None:
            await session.exec(delete(Job).where(col(Job.id).in_(ids)))  # type: ignore[call-overload]

        await db.run_in_transaction(drop)
        removed += len(ids)

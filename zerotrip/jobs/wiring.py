"""How the job queue wires itself into a service: the kinds it runs, and the runner as
background work in the processes that run workers (``worker``, and ``all`` by default)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from zerotrip.jobs.kinds import EXPORT_BUNDLE, SIGN_REPORT, ExportBundle, SignReport
from zerotrip.jobs.retention import forget_finished_jobs

if TYPE_CHECKING:
    from zerotrip.services import RunUntil, Services

log = logging.getLogger("zerotrip.jobs")


def setup(services: Services) -> None:
    runner = services.jobs
    runner.register(SIGN_REPORT, SignReport(services))
    runner.register(EXPORT_BUNDLE, ExportBundle(services))
    if services.runs_workers:
        # Not once per cluster: every worker claims jobs, side by side.
        services.add_background("jobs", runner.run)
        services.add_background("job retention", _forget_old_jobs(services), once_per_cluster=True)


def _forget_old_jobs(services: Services) -> RunUntil:
    settings = services.settings

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                keep = timedelta(seconds=settings.job_keep_s)
                await forget_finished_jobs(services.db, services.storage, services.clock, keep)
            except Exception:
                log.exception("forgetting finished jobs failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.job_prune_s)

    return run

"""How access wires itself into a service: one process of the cluster deletes, every so often,
the throttle counters that no longer change any decision."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from zerotrip.accounts import throttle

if TYPE_CHECKING:
    from zerotrip.services import Services

log = logging.getLogger("zerotrip.accounts")


def setup(services: Services) -> None:
    if not services.runs_workers:
        return
    limits = throttle.Limits.from_settings(services.settings)

    async def prune_counters(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await prune_once(services, limits)
            except Exception:
                log.exception("pruning throttle counters failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), services.settings.throttle_prune_s)

    services.add_background("throttle pruner", prune_counters, once_per_cluster=True)


async def prune_once(services: Services, limits: throttle.Limits) -> int:
    now = services.clock.now()
    return await services.db.run_in_transaction(lambda s: throttle.prune(s, limits, now))

"""Driving an app's outbox by hand, for tests that start it with ``outbox_worker=False``."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from zerotrip.api.keys import OUTBOX


async def drain(client: TestClient, *, rounds: int = 100) -> int:
    """Run the served app's outbox worker until nothing is due; return how many it handled.

    ``rounds`` bounds the loop so a message that keeps coming due fails the test instead of
    hanging it.
    """
    worker = client.server.app[OUTBOX]
    total = 0
    for _ in range(rounds):
        handled = await worker.run_once()
        if not handled:
            return total
        total += handled
    raise AssertionError(f"the outbox was still busy after {rounds} rounds")

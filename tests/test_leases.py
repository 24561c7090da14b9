"""Periodic work runs once across the cluster: two worker processes' services on one PostgreSQL
database run a once-per-cluster loop in one of them only, and the other takes it over when the
first stops."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from zerotrip.config import Settings
from zerotrip.leases import run_with_lease
from zerotrip.services import build_services


@pytest.fixture
def pg_settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("cluster leases are PostgreSQL advisory locks")
    return dataclasses.replace(settings, role="worker")


async def test_two_workers_run_the_reconciler_once(pg_settings: Settings) -> None:
    first = build_services(pg_settings, role="worker")
    second = build_services(pg_settings, role="worker")
    names = {job.name for job in first.background if job.once_per_cluster}
    assert "courier reconciler" in names

    running: dict[str, int] = {}
    ran_at_once: list[int] = []

    def counting(label: str):
        async def run(stop: asyncio.Event) -> None:
            running[label] = running.get(label, 0) + 1
            ran_at_once.append(sum(running.values()))
            try:
                await stop.wait()
            finally:
                running[label] -= 1

        return run

    for services, label in ((first, "a"), (second, "b")):
        services.add_background("tick", counting(label), once_per_cluster=True)
    await first.start()
    await second.start()
    try:
        await _until(lambda: sum(running.values()) == 1)
        await asyncio.sleep(1.0)  # both have had their chance by now
        assert sum(running.values()) == 1
        leader, other = (first, second) if running.get("a") else (second, first)
        await leader.close()
        # The other takes over within its retry period (5 s).
        await _until(lambda: running.get("b" if other is second else "a", 0) == 1)
        assert sum(running.values()) == 1
    finally:
        await first.close()
        await second.close()
    assert max(ran_at_once) == 1


async def _until(condition, timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def test_a_lease_waits_and_returns_on_stop(pg_settings: Settings, db) -> None:
    stop = asyncio.Event()
    holder_started = asyncio.Event()

    async def holder(s: asyncio.Event) -> None:
        holder_started.set()
        await s.wait()

    async def never(_s: asyncio.Event) -> None:
        raise AssertionError("ran while another held the lease")

    held = asyncio.create_task(run_with_lease(db, "job", holder, stop, retry_s=0.1))
    await holder_started.wait()
    waiting = asyncio.create_task(run_with_lease(db, "job", never, asyncio.Event(), retry_s=0.1))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    waiting.cancel()
    stop.set()
    await held

"""Concurrent requests that miss the credential cache together share one lookup."""

from __future__ import annotations

import asyncio

import pytest

from zerotrip.api.credentials import CredentialCache


async def test_fifty_misses_share_one_lookup():
    cache = CredentialCache(5)
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return "principal"

    results = await asyncio.gather(*(cache.shared("k", load) for _ in range(50)))
    assert results == ["principal"] * 50
    assert calls == 1
    await cache.shared("k", load)  # a later miss looks up again
    assert calls == 2


async def test_a_failed_lookup_is_not_shared():
    cache = CredentialCache(5)
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise LookupError("unknown token")

    results = await asyncio.gather(
        *(cache.shared("k", load) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, LookupError) for r in results)
    assert calls == 5  # every wrong guess is counted by its own lookup


async def test_a_cancelled_leader_leaves_the_others_to_look_up():
    cache = CredentialCache(5)

    async def slow() -> str:
        await asyncio.sleep(10)
        return "never"

    async def fast() -> str:
        return "principal"

    leader = asyncio.create_task(cache.shared("k", slow))
    await asyncio.sleep(0)
    follower = asyncio.create_task(cache.shared("k", fast))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await follower == "principal"

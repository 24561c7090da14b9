"""The generic outbox on a real database: dedupe, leases, backoff, dead letters, fencing."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import timedelta

import pytest
from sqlmodel import select

from tests.factories import apply, make_staff
from zerotrip.db import Database
from zerotrip.outbox.errors import Permanent, RetryLater
from zerotrip.outbox.models import OutboxMessage, OutboxState
from zerotrip.outbox.service import count_by_state, enqueue, messages_for, requeue
from zerotrip.outbox.worker import OutboxWorker
from zerotrip.worklist.models import StaffTask
from zerotrip.worklist.wiring import open_dead_letter_task


def _worker(db, settings, clock, **overrides) -> OutboxWorker:
    cfg = dataclasses.replace(
        settings, outbox_max_attempts=3, outbox_backoff_base_s=1, outbox_lease_s=30, **overrides
    )
    worker = OutboxWorker(db, cfg, clock, rng=random.Random(7))
    worker.on_dead_letter(open_dead_letter_task)  # as the worklist's setup registers it
    return worker


async def _all(db) -> list[OutboxMessage]:
    async with db.session() as session:
        return await messages_for(session)


async def test_same_dedupe_key_is_one_message(db):
    async with db.transaction() as session:
        a = await enqueue(session, "t", {"n": 1}, dedupe_key="k1")
        b = await enqueue(session, "t", {"n": 2}, dedupe_key="k1")
        assert a.id == b.id
    async with db.transaction() as session:
        await enqueue(session, "t", {"n": 3}, dedupe_key="k1")
    rows = await _all(db)
    assert [(r.dedupe_key, r.payload) for r in rows] == [("k1", {"n": 1})]


async def test_enqueue_rolls_back_with_the_callers_transaction(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await enqueue(session, "t", {}, dedupe_key="gone")
            raise RuntimeError("the case change failed")
    assert await _all(db) == []


async def test_handler_runs_and_message_is_done(db, settings, clock):
    seen: list[dict] = []

    async def handle(msg: OutboxMessage) -> None:
        seen.append(msg.payload)

    worker = _worker(db, settings, clock)
    worker.register("t", handle)
    async with db.transaction() as session:
        await enqueue(session, "t", {"hello": "世界"}, dedupe_key="a")
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    assert seen == [{"hello": "世界"}]
    [row] = await _all(db)
    assert row.state == OutboxState.done and row.attempts == 1 and row.finished_at


async def test_retry_backs_off_then_dead_letters_with_a_staff_task(db, settings, clock):
    calls = 0
    dead_hooks: list[str] = []

    async def flaky(msg: OutboxMessage) -> None:
        nonlocal calls
        calls += 1
        raise RetryLater("courier busy")

    async def on_dead(session, msg, error):
        dead_hooks.append(error)

    worker = _worker(db, settings, clock)
    worker.register("t", flaky, on_dead=on_dead)
    async with db.transaction() as session:
        await enqueue(session, "t", {}, dedupe_key="b")
    assert await worker.run_once() == 1
    [row] = await _all(db)
    assert row.state == OutboxState.pending and row.attempts == 1
    assert row.next_attempt_at > clock.now()
    assert "courier busy" in row.last_error
    assert await worker.run_once() == 0  # not due yet
    for _ in range(2):
        clock.advance(timedelta(hours=1))
        assert await worker.run_once() == 1
    [row] = await _all(db)
    assert row.state == OutboxState.dead and calls == 3
    assert dead_hooks and "gave up after 3" in dead_hooks[0]
    async with db.session() as session:
        tasks = list((await session.exec(select(StaffTask))).all())
    assert [t.kind for t in tasks] == ["outbox.dead"]
    assert "courier busy" in tasks[0].detail


async def test_permanent_dead_letters_at_once_and_requeue_revives(db, settings, clock):
    fail = True

    async def handler(msg: OutboxMessage) -> None:
        if fail:
            raise Permanent("address refused")

    worker = _worker(db, settings, clock)
    worker.register("t", handler)
    async with db.transaction() as session:
        msg = await enqueue(session, "t", {}, dedupe_key="c")
    await worker.run_once()
    [row] = await _all(db)
    assert row.state == OutboxState.dead and row.attempts == 1
    fail = False
    async with db.transaction() as session:
        await requeue(session, msg.id, now=clock.now())
    assert await worker.run_once() == 1
    [row] = await _all(db)
    assert row.state == OutboxState.done


async def test_retry_after_is_respected(db, settings, clock):
    async def limited(msg):
        raise RetryLater("429", retry_after=600)

    worker = _worker(db, settings, clock)
    worker.register("t", limited)
    async with db.transaction() as session:
        await enqueue(session, "t", {}, dedupe_key="d")
    await worker.run_once()
    [row] = await _all(db)
    assert row.next_attempt_at >= clock.now() + timedelta(seconds=599)


async def test_a_dead_worker_loses_nothing_and_its_late_result_is_fenced(db, settings, clock):
    """Worker A claims and 'dies'; after the lease expires worker B delivers; A's late finish
    is refused because it no longer holds the lease."""
    delivered: list[str] = []

    async def handle(msg):
        delivered.append(msg.dedupe_key)

    a = _worker(db, settings, clock, outbox_batch=10)
    b = _worker(db, settings, clock, outbox_batch=10)
    for w in (a, b):
        w.register("t", handle)
    async with db.transaction() as session:
        await enqueue(session, "t", {}, dedupe_key="e")
    [claimed] = await a.claim(10)  # A crashes before running the handler
    assert await b.run_once() == 0  # leased: not due for B
    clock.advance(timedelta(seconds=31))
    assert await b.run_once() == 1
    assert delivered == ["e"]
    late = await a._finish(claimed, OutboxState.done, "")
    assert late.state == "lease-lost"
    [row] = await _all(db)
    assert row.state == OutboxState.done and row.attempts == 2


async def test_concurrent_workers_deliver_each_message_once(db, settings, clock):
    delivered: list[str] = []

    async def handle(msg):
        await asyncio.sleep(0)
        delivered.append(msg.dedupe_key)

    workers = [_worker(db, settings, clock, outbox_batch=7) for _ in range(3)]
    for w in workers:
        w.register("t", handle)
    async with db.transaction() as session:
        for i in range(60):
            await enqueue(session, "t", {"i": i}, dedupe_key=f"m{i}")

    async def drain(w):
        while await w.run_once():
            pass

    await asyncio.gather(*(drain(w) for w in workers))
    assert sorted(delivered) == sorted(f"m{i}" for i in range(60))
    async with db.session() as session:
        assert await count_by_state(session) == {"done": 60}


async def _states(db) -> dict[str, str]:
    return {m.dedupe_key: m.state for m in await _all(db)}


async def _until(check, *, within_s: float) -> None:
    """Wait (bounded) until ``await check()`` is true; fail the test if it never is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await check():
        assert loop.time() < deadline, f"not within {within_s} s"
        await asyncio.sleep(0.02)


async def test_a_slow_handler_holds_back_neither_its_batch_nor_the_next(db, settings, clock):
    """One handler hangs; the rest of its batch is recorded done meanwhile, and messages beyond
    the batch are claimed into the freed slots, so throughput is not set by the slowest call."""
    release = asyncio.Event()

    async def handle(msg):
        if msg.dedupe_key == "slow":
            await release.wait()

    worker = _worker(db, settings, clock, outbox_batch=4)
    worker.register("t", handle)
    async with db.transaction() as session:
        await enqueue(session, "t", {}, dedupe_key="slow")
        for i in range(9):
            await enqueue(session, "t", {}, dedupe_key=f"m{i}")
    draining = asyncio.ensure_future(worker.drain())
    try:

        async def others_done() -> bool:
            states = await _states(db)
            return all(states[f"m{i}"] == OutboxState.done for i in range(9))

        await _until(others_done, within_s=20)
        assert (await _states(db))["slow"] == OutboxState.leased
        release.set()
        assert await asyncio.wait_for(draining, timeout=20) == 10
    finally:
        release.set()
        draining.cancel()
    assert set((await _states(db)).values()) == {OutboxState.done}


async def test_an_enqueue_elsewhere_wakes_an_idle_worker_at_once(db, settings, clock):
    """PostgreSQL: a message enqueued through another connection pool (as another process
    would) is handled long before the worker's next poll."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite workers poll")
    handled = asyncio.Event()

    async def handle(msg):
        handled.set()

    worker = _worker(db, settings, clock, outbox_poll_s=60)
    worker.register("t", handle)
    running = asyncio.ensure_future(worker.run())
    other = Database(settings)
    try:
        await asyncio.sleep(1.0)  # the worker finds nothing and goes to sleep
        assert not handled.is_set()
        async with other.transaction() as session:
            await enqueue(session, "t", {}, dedupe_key="elsewhere")
        await asyncio.wait_for(handled.wait(), timeout=10)
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=10)
        await other.dispose()


async def test_unknown_topics_are_left_for_their_owner(db, settings, clock):
    worker = _worker(db, settings, clock)
    worker.register("mine", lambda m: asyncio.sleep(0))
    async with db.transaction() as session:
        await enqueue(session, "theirs", {}, dedupe_key="f")
    assert await worker.run_once() == 0


async def test_tasks_route_lists_and_closes(client, db):
    clerk = await make_staff(db, "clerk")
    from zerotrip.worklist.service import open_task

    async with db.transaction() as session:
        task = await open_task(session, kind="outbox.dead", title="Check order", detail="x")
    resp = await client.get("/api/tasks", headers=clerk.headers)
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert [i["title"] for i in items] == ["Check order"]
    resp = await client.post(
        f"/api/tasks/{task.id}/close", json={"resolution": "done"}, headers=clerk.headers
    )
    assert resp.status == 200 and (await resp.json())["state"] == "done"
    resp = await client.post(f"/api/tasks/{task.id}/close", json={}, headers=clerk.headers)
    assert resp.status == 409
    assert (await client.get("/api/tasks")).status == 401
    resp = await client.get("/api/tasks?state=bogus", headers=clerk.headers)
    assert resp.status == 422


async def test_one_cases_messages_run_in_order_and_others_do_not_wait(client, db, settings, clock):
    """Messages of one case run one after another in the order they were queued (an applicant
    is told "accepted" before "please rectify"), even when the first is slow; another case's
    message does not wait for them."""
    first, _ = await apply(client)
    second, _ = await apply(client, applicant_name="王五")
    release = asyncio.Event()
    order: list[str] = []

    async def handle(msg):
        if msg.dedupe_key == "a1":
            await release.wait()
        order.append(msg.dedupe_key)

    worker = _worker(db, settings, clock, outbox_batch=8, outbox_worker=False)
    worker.register("t", handle)
    async with db.transaction() as session:
        await enqueue(session, "t", {}, dedupe_key="a1", case_id=first["id"])
        await enqueue(session, "t", {}, dedupe_key="a2", case_id=first["id"])
        await enqueue(session, "t", {}, dedupe_key="b1", case_id=second["id"])
    draining = asyncio.ensure_future(worker.drain())
    try:

        async def only_the_other_case_ran() -> bool:
            return order == ["b1"]

        await _until(only_the_other_case_ran, within_s=20)
        release.set()
        assert await asyncio.wait_for(draining, timeout=20) == 3
    finally:
        release.set()
        draining.cancel()
    assert order == ["b1", "a1", "a2"]

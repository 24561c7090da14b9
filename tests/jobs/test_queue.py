"""The job queue's promises, on the real database: a job is claimed by one worker at a time, a
dead worker's job is taken over when its lease expires (and failed after the last attempt), an
unexpected failure is retried, a refusal is kept as the problem the asker sees, and a worker that
lost its lease cannot overwrite its successor's outcome."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from zerotrip.jobs.models import Job, JobState
from zerotrip.jobs.queue import JobQueue, LeaseLost
from zerotrip.jobs.runner import JobRunner
from zerotrip.problems import IllegalTransition

KIND = "test.kind"


@pytest.fixture
def queue_settings(settings):
    return dataclasses.replace(settings, job_lease_s=30.0, job_retry_s=0.0, job_max_attempts=3)


def _queue(db, settings, clock, name: str) -> JobQueue:
    return JobQueue(db, settings, clock, name=name)


async def test_a_job_goes_from_queued_to_done_with_its_progress(db, queue_settings, clock):
    queue = _queue(db, queue_settings, clock, "a")
    job = await queue.enqueue(KIND, {"n": 1})
    assert job.state == JobState.queued
    again = await queue.enqueue(KIND, {"n": 1})
    assert again.id == job.id  # the same work still queued is not queued twice
    seen: list[tuple[int, str]] = []
    runner = JobRunner(queue)

    async def handler(j: Job, progress) -> dict:
        await progress(40, "half")
        current = await queue.get(j.id)
        seen.append((current.progress, current.note))
        return {"sum": j.payload["n"] + 1}

    runner.register(KIND, handler)
    assert await runner.run_once() is True
    assert await runner.run_once() is False
    done = await queue.get(job.id)
    assert (done.state, done.progress, done.result, done.attempts) == ("done", 100, {"sum": 2}, 1)
    assert seen == [(40, "half")]
    assert done.lease_owner is None and done.finished_at is not None


async def test_concurrent_claimers_never_take_the_same_job(db, queue_settings, clock):
    """Two workers (own queues, own names) drain 30 jobs side by side: each job once."""
    first = _queue(db, queue_settings, clock, "w1")
    ids = {(await first.enqueue(KIND, {"n": n})).id for n in range(30)}
    taken: dict[str, list[int]] = {"w1": [], "w2": []}

    async def drain(name: str) -> None:
        queue = _queue(db, queue_settings, clock, name)
        while (job := await queue.claim([KIND])) is not None:
            taken[name].append(job.id)
            await asyncio.sleep(0)
            await queue.finish(job, {})

    await asyncio.gather(drain("w1"), drain("w2"))
    assert sorted(taken["w1"] + taken["w2"]) == sorted(ids)
    assert not set(taken["w1"]) & set(taken["w2"])


async def test_a_dead_workers_job_is_taken_over_when_its_lease_expires(db, queue_settings, clock):
    dead = _queue(db, queue_settings, clock, "dead")
    alive = _queue(db, queue_settings, clock, "alive")
    job = await dead.enqueue(KIND, {})
    claimed = await dead.claim([KIND])
    assert claimed is not None and claimed.state == JobState.running
    assert await alive.claim([KIND]) is None  # the lease still holds
    clock.advance(timedelta(seconds=31))
    retaken = await alive.claim([KIND])
    assert retaken is not None and retaken.id == job.id and retaken.attempts == 2
    await alive.finish(retaken, {"by": "alive"})
    with pytest.raises(LeaseLost):  # the first worker comes back too late: its outcome is void
        await dead.finish(claimed, {"by": "dead"})
    assert (await alive.get(job.id)).result == {"by": "alive"}


async def test_a_job_whose_workers_keep_dying_is_failed_after_the_last_attempt(
    db, queue_settings, clock
):
    queue = _queue(db, queue_settings, clock, "q")
    job = await queue.enqueue(KIND, {})
    for _ in range(3):
        assert await queue.claim([KIND]) is not None
        clock.advance(timedelta(seconds=31))
    assert await queue.claim([KIND]) is None
    failed = await queue.get(job.id)
    assert failed.state == JobState.failed and failed.error["status"] == 500
    assert "任务未能完成" in failed.error["detail_zh"]


async def test_an_unexpected_failure_is_retried_and_a_refusal_is_kept(db, queue_settings, clock):
    queue = _queue(db, queue_settings, clock, "q")
    runner = JobRunner(queue)
    calls: list[int] = []

    async def flaky(job: Job, progress) -> dict:
        calls.append(job.id)
        if len(calls) == 1:
            raise RuntimeError("disk hiccup /secret/path")
        return {"ok": True}

    async def refuses(job: Job, progress) -> dict:
        raise IllegalTransition("Not now.", zh="现在不行。", state="inspecting")

    runner.register(KIND, flaky)
    runner.register("test.refuse", refuses)
    retried = await queue.enqueue(KIND, {})
    refused = await queue.enqueue("test.refuse", {})
    for _ in range(4):
        await runner.run_once()
    done = await queue.get(retried.id)
    assert done.state == JobState.done and done.attempts == 2 and done.error is None
    failed = await queue.get(refused.id)
    assert failed.state == JobState.failed and failed.attempts == 1  # a refusal is not retried
    assert failed.error["status"] == 409 and failed.error["slug"] == "illegal-transition"
    assert failed.error["detail_zh"] == "现在不行。"
    assert failed.error["extensions"] == {"state": "inspecting"}


async def test_the_lease_is_renewed_while_a_long_job_works(db, settings, clock):
    short = dataclasses.replace(settings, job_lease_s=1.5)
    queue = _queue(db, short, clock, "long")
    other = _queue(db, short, clock, "other")
    runner = JobRunner(queue)
    stolen: list[Job | None] = []

    async def slow(job: Job, progress) -> dict:
        await asyncio.sleep(2.5)  # past the first lease, without reporting progress
        stolen.append(await other.claim([KIND]))
        return {}

    runner.register(KIND, slow)
    job = await queue.enqueue(KIND, {})
    await runner.run_once()
    assert stolen == [None]
    assert (await queue.get(job.id)).state == JobState.done

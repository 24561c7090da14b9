"""Report signing and bundle export as jobs, through the API: the web role queues and answers
202 with a job URL, a worker process's services run the job, the job's state and progress
are polled; the one-process role still answers 201 as before."""

from __future__ import annotations

import asyncio
import time
import zipfile
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest

from tests.review.review_helpers import passed_case_with_annotations
from zerotrip.api.keys import STORAGE
from zerotrip.jobs.queue import JobQueue
from zerotrip.jobs.retention import forget_finished_jobs
from zerotrip.media.keys import export_key
from zerotrip.review.bundle_verify import verify_bundle
from zerotrip.services import build_services

ASYNC = {"Prefer": "respond-async"}


async def _poll(client, url: str, headers: dict, *, deadline_s: float = 120) -> list[dict]:
    """Every distinct view of the job until it is done or failed."""
    views: list[dict] = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        resp = await client.get(url, headers=headers)
        assert resp.status == 200, await resp.text()
        view = await resp.json()
        if not views or view != views[-1]:
            views.append(view)
        if view["state"] in ("done", "failed"):
            return views
        await asyncio.sleep(0.05)
    raise AssertionError(f"job not finished in {deadline_s}s: {views[-1:]}")


async def test_the_web_role_queues_signing_and_a_worker_signs(apps, db, settings):
    # Set up on an app that runs no background work: only the worker below may take the job.
    async with apps.client(outbox_worker=False) as setup:
        ctx, _, _ = await passed_case_with_annotations(setup, db, settings)
    cid, inspector = ctx["id"], ctx["inspector"]
    async with apps.client(role="web", job_wait_s=0.2) as web:
        # Without a worker, the request waits its while, then says where to look.
        resp = await web.post(f"/api/cases/{cid}/report", headers=inspector.headers)
        assert resp.status == 202, await resp.text()
        job = await resp.json()
        assert resp.headers["Location"] == job["url"] == f"/api/jobs/{job['id']}"
        assert job["state"] == "queued" and job["kind"] == "report.sign"
        # Asked again while queued: the same job, not a second signature.
        again = await web.post(f"/api/cases/{cid}/report", headers=inspector.headers | ASYNC)
        assert again.status == 202 and (await again.json())["id"] == job["id"]
        worker = build_services(
            apps.settings_with(role="worker", job_poll_s=0.1), role="worker", clock=apps.clock
        )
        async with worker:
            views = await _poll(web, job["url"], inspector.headers)
        done = views[-1]
        assert done["state"] == "done" and done["progress"] == 100 and done["error"] is None
        assert done["result_url"] == f"/api/cases/{cid}/report"
        progress = [v["progress"] for v in views]
        assert progress == sorted(progress)
        pdf = await web.get(done["result_url"], headers=inspector.headers)
        assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
        docs = await web.get(f"/api/cases/{cid}/documents", headers=inspector.headers)
        docs = await docs.json()
        assert [r["version"] for r in docs["reports"]] == [1]  # one job, one signature


async def test_one_process_still_answers_201_and_the_page_asks_for_202(apps, client, db, settings):
    ctx, _, _ = await passed_case_with_annotations(client, db, settings)
    cid, inspector = ctx["id"], ctx["inspector"]
    resp = await client.post(f"/api/cases/{cid}/report", headers=inspector.headers)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["version"] == 1
    resp = await client.post(f"/api/cases/{cid}/report", headers=inspector.headers | ASYNC)
    assert resp.status == 202
    job_url = resp.headers["Location"]
    views = await _poll(client, job_url, inspector.headers)
    assert views[-1]["state"] == "done"
    # One process that runs no background work signs in the request, whatever the preference.
    async with apps.client(outbox_worker=False) as alone:
        resp = await alone.post(f"/api/cases/{cid}/report", headers=inspector.headers | ASYNC)
        assert resp.status == 201 and (await resp.json())["version"] == 3
    # The applicant never sees jobs; another case's job is no business of the applicant's.
    applicant = {"Authorization": f"Bearer {ctx['token']}"}
    assert (await client.get(job_url, headers=applicant)).status in (401, 403)


async def test_a_refused_signing_is_a_problem_in_the_callers_language(client, db, settings):
    from tests.review.review_helpers import inspecting_case

    ctx = await inspecting_case(client, db)
    cid, inspector = ctx["id"], ctx["inspector"]
    resp = await client.post(f"/api/cases/{cid}/report", headers=inspector.headers | ASYNC)
    assert resp.status == 409
    assert resp.content_type == "application/problem+json"
    assert (await resp.json())["detail"] == "记录检查结果后才能签署报告。"
    missing = await client.get("/api/jobs/987654", headers=inspector.headers)
    assert missing.status == 404 and "987654" in (await missing.json())["detail"]
    bad = await client.get("/api/jobs/abc", headers=inspector.headers)
    assert bad.status == 422


async def test_a_bundle_is_exported_by_a_job_and_downloaded(client, db, settings, tmp_path: Path):
    ctx, _, _ = await passed_case_with_annotations(client, db, settings)
    cid, clerk = ctx["id"], ctx["clerk"]
    resp = await client.post(f"/api/cases/{cid}/bundle", headers=clerk.headers)
    assert resp.status == 202, await resp.text()
    views = await _poll(client, resp.headers["Location"], clerk.headers)
    done = views[-1]
    assert done["state"] == "done" and done["kind"] == "bundle.export", done
    zipped = await client.get(done["result_url"], headers=clerk.headers)
    assert zipped.status == 200 and zipped.content_type == "application/zip"
    out = tmp_path / "bundle.zip"
    out.write_bytes(await zipped.read())
    assert zipfile.ZipFile(BytesIO(out.read_bytes())).testzip() is None
    report = verify_bundle(out)
    assert report.ok, report.problems
    absent = await client.post("/api/cases/999999/bundle", headers=clerk.headers)
    assert absent.status == 404


async def test_finished_jobs_and_their_exports_are_forgotten_after_the_keep_time(
    client, db, settings, clock
):
    """A finished export stays downloadable for ``job_keep_s``; after that its row and its file
    go, a job still queued stays however old, and evidence is never deleted."""
    storage = client.server.app[STORAGE]
    ctx, _, _ = await passed_case_with_annotations(client, db, settings)
    cid, clerk = ctx["id"], ctx["clerk"]
    resp = await client.post(f"/api/cases/{cid}/bundle", headers=clerk.headers)
    done = (await _poll(client, resp.headers["Location"], clerk.headers))[-1]
    assert done["state"] == "done"
    export = export_key(cid, done["id"])
    assert await storage.exists(export)
    waiting = await JobQueue(db, settings, clock).enqueue("test.never-run", {"n": 1})
    originals = [key async for key in storage.keys("originals/")]
    assert originals

    keep = timedelta(seconds=settings.job_keep_s)
    clock.advance(keep - timedelta(minutes=1))
    assert await forget_finished_jobs(db, storage, clock, keep) == 0
    assert (await client.get(done["result_url"], headers=clerk.headers)).status == 200

    clock.advance(timedelta(minutes=2))
    assert await forget_finished_jobs(db, storage, clock, keep) == 1
    assert not await storage.exists(export)
    gone = await client.get(resp.headers["Location"], headers=clerk.headers)
    assert gone.status == 404 and gone.content_type == "application/problem+json"
    assert (await client.get(done["result_url"], headers=clerk.headers)).status == 404
    assert (await JobQueue(db, settings, clock).get(waiting.id)).state == "queued"
    assert sorted([key async for key in storage.keys("originals/")]) == sorted(originals)
    for key in [*originals[:1], "derived/x/display.jpg", "bundles/../originals/x"]:
        with pytest.raises(ValueError):
            await storage.discard(key)
    assert await forget_finished_jobs(db, storage, clock, keep) == 0  # nothing left to do

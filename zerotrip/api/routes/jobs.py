"""Jobs: CPU-heavy work a request hands to the worker role, and the status a page polls.

A route that starts a job answers in one of two ways (RFC 7240):

* ``Prefer: respond-async`` (the staff pages send it): ``202 Accepted`` at once, with the job
  and its URL in ``Location``; the page polls ``GET /api/jobs/{id}`` for progress.
* otherwise the request waits for the job, up to ``Settings.job_wait_s``, and answers what it
  always answered (``201`` with the result, or the job's problem); past the wait it answers 202.
  In the one-process role (``all``) the request runs the job itself right away, so a single
  process behaves as it did before jobs existed; in a cluster a worker runs it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from zerotrip.api.bodies import path_int
from zerotrip.api.keys import DB, SERVICES, STORAGE
from zerotrip.api.language import preferred_language
from zerotrip.api.principal import Principal, authorize_case
from zerotrip.api.routing import RouteTable, respond
from zerotrip.cases.store import get_case
from zerotrip.jobs.kinds import EXPORT_BUNDLE, actor_payload
from zerotrip.jobs.models import Job, JobState
from zerotrip.jobs.queue import as_problem
from zerotrip.jobs.schemas import JobView
from zerotrip.problems import NotFound

routes = RouteTable("jobs")
STAFF_WHO_EXPORT = ("clerk", "inspector", "admin")


class BundleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shared: bool = False


def wants_async(request: web.Request) -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(p.strip().lower() == "respond-async" for p in prefer.split(","))


def accepted(request: web.Request, job: Job) -> web.Response:
    """202 with the job, its URL in ``Location``."""
    view = JobView.of(job, preferred_language(request))
    response = respond(view, 202)
    response.headers["Location"] = view.url
    return response


async def submit(
    request: web.Request,
    principal: Principal,
    kind: str,
    *,
    case_id: int,
    payload: dict[str, Any] | None = None,
) -> Job | web.Response:
    """Queue ``kind`` for ``case_id``; the finished job, or the 202 answer to send.

    A job that failed raises its problem, so the caller answers as if it had done the work.
    """
    services = request.app[SERVICES]
    staff_id = principal.user.id if principal.user else None
    job = await services.jobs.queue.enqueue(
        kind,
        {**actor_payload(principal.actor, staff_id), **(payload or {})},
        case_id=case_id,
        requested_by=staff_id,
    )
    assert job.id is not None
    # A one-process service configured to run no background work (ZEROTRIP_OUTBOX_WORKER=false)
    # has nobody to hand the job to: it ignores the preference (RFC 7240 lets it) and answers
    # synchronously, which the pages accept too.
    nobody_else = services.settings.role == "all" and not services.runs_workers
    if wants_async(request) and not nobody_else:
        services.jobs.wake()
        return accepted(request, job)
    if services.settings.role == "all":
        await services.jobs.run_once(job_id=job.id)  # no-op if a worker already took it
    job = await services.jobs.queue.wait(job.id, services.settings.job_wait_s)
    if job.state == JobState.failed:
        raise as_problem(job.error or {})
    if job.state != JobState.done:
        return accepted(request, job)
    return job


async def _job(request: web.Request, principal: Principal) -> Job:
    job = await request.app[SERVICES].jobs.queue.get(path_int(request, "job_id"))
    if job.case_id is not None:
        authorize_case(principal, job.case_id)
    return job


@routes.get(
    "/api/jobs/{job_id}",
    summary="A job's state and progress (poll until done or failed)",
    audience="staff",
    response=JobView,
    errors=(401, 403, 404, 422),
)
async def read_job(request: web.Request, *, principal: Principal) -> JobView:
    return JobView.of(await _job(request, principal), preferred_language(request))


@routes.post(
    "/api/cases/{case_id}/bundle",
    summary="Export the case's evidence bundle (a job; download it from the job when done)",
    audience="staff",
    roles=STAFF_WHO_EXPORT,
    query=BundleQuery,
    response=JobView,
    status=202,
    errors=(401, 403, 404, 422),
)
async def post_bundle(
    request: web.Request, *, principal: Principal, query: BundleQuery
) -> web.Response:
    case_id = path_int(request, "case_id")
    async with request.app[DB].session() as session:
        await get_case(session, case_id)  # 404 now, not a failed job later
    services = request.app[SERVICES]
    staff_id = principal.user.id if principal.user else None
    job = await services.jobs.queue.enqueue(
        EXPORT_BUNDLE,
        {**actor_payload(principal.actor, staff_id), "shared": query.shared},
        case_id=case_id,
        requested_by=staff_id,
    )
    services.jobs.wake()
    return accepted(request, job)


@routes.get(
    "/api/jobs/{job_id}/bundle",
    summary="Download the evidence bundle an export job wrote",
    audience="staff",
    roles=STAFF_WHO_EXPORT,
    response_content_type="application/zip",
    errors=(401, 403, 404, 422),
)
async def download_bundle(request: web.Request, *, principal: Principal) -> web.StreamResponse:
    job = await _job(request, principal)
    if job.kind != EXPORT_BUNDLE or job.state != JobState.done or not job.result:
        raise NotFound(
            f"Job {job.id} has no bundle to download.", zh=f"任务 {job.id} 没有可下载的证据包。"
        )
    storage = request.app[STORAGE]
    key = str(job.result["key"])
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Length": str(await storage.size(key)),
            "Content-Disposition": f'attachment; filename="case-{job.case_id}-bundle.zip"',
        }
    )
    await response.prepare(request)
    async for chunk in storage.read(key):
        await response.write(chunk)
    await response.write_eof()
    return response

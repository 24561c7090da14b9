"""What a job looks like to the person waiting for it (``GET /api/jobs/{id}``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from zerotrip.jobs.kinds import EXPORT_BUNDLE, SIGN_REPORT
from zerotrip.jobs.models import Job


class JobError(BaseModel):
    """Why a failed job failed, as the problem document the request would have answered."""

    status: int
    type: str
    title: str
    detail: str


class JobView(BaseModel):
    id: int
    kind: str  # report.sign | bundle.export
    state: str  # queued | running | done | failed
    progress: int  # percent
    step: str  # what the worker is doing now: gather | render | store | collect | retrying | done
    case_id: int | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    url: str  # this view, to poll
    result_url: str | None  # where the outcome is, once done
    error: JobError | None

    @classmethod
    def of(cls, job: Job, language: str) -> JobView:
        assert job.id is not None
        error = None
        if job.error:
            zh = job.error.get("detail_zh")
            error = JobError(
                status=int(job.error.get("status", 500)),
                type=f"/problems/{job.error.get('slug', 'job-failed')}",
                title=str(job.error.get("title", "")),
                detail=str(zh if language == "zh" and zh else job.error.get("detail", "")),
            )
        result_url = None
        if job.state == "done":
            if job.kind == SIGN_REPORT:
                result_url = f"/api/cases/{job.case_id}/report"
            elif job.kind == EXPORT_BUNDLE:
                result_url = f"/api/jobs/{job.id}/bundle"
        return cls(
            id=job.id,
            kind=job.kind,
            state=job.state,
            progress=job.progress,
            step=job.note or job.state,
            case_id=job.case_id,
            attempts=job.attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            url=f"/api/jobs/{job.id}",
            result_url=result_url,
            error=error,
        )

"""The kinds of job there are: each turns a job's payload into a call of its domain's service
and the outcome into the JSON the job keeps."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from zerotrip.jobs.models import Job
from zerotrip.jobs.runner import Progress
from zerotrip.kit.actor import Actor
from zerotrip.media.keys import export_key

if TYPE_CHECKING:
    from zerotrip.services import Services

SIGN_REPORT = "report.sign"
EXPORT_BUNDLE = "bundle.export"


def actor_payload(actor: Actor, staff_id: int | None) -> dict[str, Any]:
    return {"actor": [actor.kind, actor.id, actor.label], "staff_id": staff_id}


def _actor(payload: dict[str, Any]) -> Actor:
    kind, ident, label = payload["actor"]
    return Actor(kind, ident, label)


class SignReport:
    """Sign a case's report (flattening its annotated images on the way)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, job: Job, progress: Progress) -> dict[str, Any]:
        from zerotrip.review.signing import sign_report

        s = self.services
        assert job.case_id is not None
        full, shared = await sign_report(
            s.db,
            s.storage,
            s.catalogue,
            job.case_id,
            actor=_actor(job.payload),
            staff_id=job.payload.get("staff_id"),
            font=s.font,
            progress=progress,
            timezone=s.settings.timezone,
        )
        return {
            "version": full.version,
            "sha256": full.sha256,
            "shared_sha256": shared.sha256,
            "audit_head": full.audit_head,
            "signed_at": full.signed_at.isoformat(),
        }


class ExportBundle:
    """Write a case's evidence bundle and keep it in storage for the asker to download."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, job: Job, progress: Progress) -> dict[str, Any]:
        from zerotrip.review.bundle import export_bundle

        s = self.services
        assert job.case_id is not None and job.id is not None
        await progress(5, "collect")
        with tempfile.TemporaryDirectory(prefix="zt-bundle-") as tmp:
            out = Path(tmp) / "bundle.zip"
            manifest = await export_bundle(
                s.db,
                s.storage,
                job.case_id,
                out,
                shared=bool(job.payload.get("shared")),
                font=s.font,
                zone=ZoneInfo(s.settings.timezone),
            )
            await progress(80, "store")
            key = export_key(job.case_id, job.id)
            size = await asyncio.to_thread(os.path.getsize, out)
            await s.storage.replace_file(key, out)
        return {
            "key": key,
            "files": len(manifest["files"]),
            "bytes": size,
            "audit_head": manifest["audit_head"],
        }

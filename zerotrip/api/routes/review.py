"""Inspector review routes: annotations, flattened images, verdicts, the signed report, the
certificate and its public verification."""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import path_int
from zerotrip.api.keys import CLOCK, DB, SERVICES, SETTINGS, STORAGE
from zerotrip.api.principal import Principal
from zerotrip.api.routes.identity_check import guard_evidence, may_see_identity
from zerotrip.api.routes.jobs import submit
from zerotrip.api.routing import RouteTable
from zerotrip.cases.audit import format_time
from zerotrip.config import Settings
from zerotrip.jobs.kinds import SIGN_REPORT
from zerotrip.jobs.schemas import JobView
from zerotrip.media.models import Evidence
from zerotrip.problems import InvalidInput
from zerotrip.review import certificate as certs
from zerotrip.review import service
from zerotrip.review.annotations import AnnotationInput
from zerotrip.review.flatten import base_bytes, encode_jpeg, flattened, oriented_base
from zerotrip.review.schemas import (
    AnnotationView,
    CaseDocuments,
    CertificateDocument,
    CertificateStatus,
    PublicCertificateStatus,
    ReportBrief,
    ReviewSheetView,
    SignedReport,
    VerdictView,
)
from zerotrip.review.signing import check_signable
from zerotrip.review.verdicts import VerdictInput

routes = RouteTable("review")
INSPECTORS = ("inspector", "admin")
DECIDERS = ("clerk", "admin")
JPEG = "image/jpeg"
PDF = "application/pdf"


class VersionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(default=None, ge=1, le=1_000_000)


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shared: bool = False


class RevokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=2000)


def _annotation_limit(settings: Settings) -> int:
    return settings.annotation_max_bytes


def _staff_id(principal: Principal) -> int | None:
    return principal.user.id if principal.user else None


async def _evidence(request: web.Request, principal: Principal) -> Evidence:
    """The evidence named in the path, for staff only (an applicant never sees this API)."""
    evidence = await service.evidence_by_id(request.app[DB], path_int(request, "evidence_id"))
    # Identity evidence: only staff with identity access, and every look is audited.
    await guard_evidence(
        request, principal, evidence, view=f"review-{request.path.rsplit('/', 1)[-1]}"
    )
    return evidence


def _jpeg(data: bytes) -> web.Response:
    return web.Response(
        body=data, content_type=JPEG, headers={"Cache-Control": "private, max-age=300"}
    )


async def _upright(request: web.Request, evidence: Evidence) -> web.Response:
    data = await base_bytes(request.app[STORAGE], evidence.sha256, evidence.blob_key)
    return _jpeg(await asyncio.to_thread(lambda: encode_jpeg(oriented_base(data))))


@routes.get(
    "/api/review/evidence/{evidence_id}/base",
    summary="The upright image an inspector annotates (no metadata)",
    audience="staff",
    response_content_type=JPEG,
    errors=(401, 403, 404, 422),
)
async def read_base_image(request: web.Request, *, principal: Principal) -> web.Response:
    return await _upright(request, await _evidence(request, principal))


@routes.get(
    "/api/review/evidence/{evidence_id}/annotations",
    summary="An annotation version of an image (the latest unless ?version=)",
    audience="staff",
    query=VersionQuery,
    response=AnnotationView,
    errors=(401, 403, 404, 422),
)
async def read_annotations(
    request: web.Request, *, principal: Principal, query: VersionQuery
) -> AnnotationView:
    evidence = await _evidence(request, principal)
    assert evidence.id is not None
    return AnnotationView.of(
        await service.annotation_of(request.app[DB], evidence.id, query.version)
    )


@routes.put(
    "/api/review/evidence/{evidence_id}/annotations",
    summary="Save the shapes drawn on an image as a new annotation version",
    audience="staff",
    roles=INSPECTORS,
    body=AnnotationInput,
    body_max_bytes=_annotation_limit,
    response=AnnotationView,
    status=201,
    errors=(400, 401, 403, 404, 409, 413, 415, 422),
)
async def save_annotation_version(
    request: web.Request, *, principal: Principal, body: AnnotationInput
) -> AnnotationView:
    evidence = await _evidence(request, principal)
    ann = await service.annotate(
        request.app[DB], evidence, body, actor=principal.actor, staff_id=_staff_id(principal)
    )
    return AnnotationView.of(ann)


@routes.get(
    "/api/review/evidence/{evidence_id}/annotated",
    summary="The image with an annotation version drawn on it (rendered once, then cached)",
    audience="staff",
    query=VersionQuery,
    response_content_type=JPEG,
    errors=(401, 403, 404, 422),
)
async def read_annotated_image(
    request: web.Request, *, principal: Principal, query: VersionQuery
) -> web.Response:
    evidence = await _evidence(request, principal)
    assert evidence.id is not None
    ann = await service.annotation_of(request.app[DB], evidence.id, query.version)
    if ann is None:
        return await _upright(request, evidence)
    _, image = await flattened(
        request.app[STORAGE],
        sha256=evidence.sha256,
        blob_key=evidence.blob_key,
        document=ann.document,
        document_sha256=ann.sha256,
        font=request.app[SERVICES].font,
    )
    return _jpeg(image)


@routes.get(
    "/api/cases/{case_id}/review",
    summary="Checkpoints with their evidence by round, annotations and verdict history",
    audience="staff",
    response=ReviewSheetView,
    errors=(401, 403, 404, 422),
)
async def read_review(request: web.Request, *, principal: Principal) -> ReviewSheetView:
    sheet = await service.review_sheet(
        request.app[DB],
        path_int(request, "case_id"),
        see_restricted=await may_see_identity(request, principal),
    )
    return ReviewSheetView.of(sheet)


@routes.post(
    "/api/cases/{case_id}/checkpoints/{checkpoint_id}/verdict",
    summary="Judge one checkpoint: pass, fail or rectify, with a comment and its evidence",
    audience="staff",
    roles=INSPECTORS,
    body=VerdictInput,
    response=VerdictView,
    status=201,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def post_verdict(
    request: web.Request, *, principal: Principal, body: VerdictInput
) -> VerdictView:
    record = await service.judge(
        request.app[DB],
        path_int(request, "case_id"),
        path_int(request, "checkpoint_id"),
        body,
        actor=principal.actor,
        staff_id=_staff_id(principal),
    )
    return VerdictView.model_validate(record)


@routes.post(
    "/api/cases/{case_id}/report",
    summary="Sign the inspection report (a full copy and a shared copy); a job in a cluster",
    audience="staff",
    roles=INSPECTORS,
    response=SignedReport,
    status=201,
    accepted=JobView,
    errors=(401, 403, 404, 409, 422),
)
async def post_report(request: web.Request, *, principal: Principal) -> web.Response | SignedReport:
    """Signing renders PDFs for seconds: it runs as a job (see zerotrip/api/routes/jobs.py)."""
    case_id = path_int(request, "case_id")
    await check_signable(request.app[DB], case_id)
    outcome = await submit(request, principal, SIGN_REPORT, case_id=case_id)
    if isinstance(outcome, web.Response):
        return outcome  # 202: still signing
    return SignedReport.model_validate(outcome.result)


async def _pdf(request: web.Request, key: str, filename: str) -> web.Response:
    data = await request.app[STORAGE].read_bytes(key)
    return web.Response(
        body=data,
        content_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@routes.get(
    "/api/cases/{case_id}/report",
    summary="Download the latest signed report (applicants get the shared copy)",
    audience="case",
    query=ReportQuery,
    response_content_type=PDF,
    errors=(401, 404, 422),
)
async def download_report(
    request: web.Request, *, principal: Principal, query: ReportQuery
) -> web.Response:
    shared = query.shared or not principal.is_staff
    shared = shared or not await may_see_identity(
        request, principal
    )  # the full copy shows ID stills
    case_id = path_int(request, "case_id")
    case, report = await service.latest_signed_report(request.app[DB], case_id, shared=shared)
    return await _pdf(request, report.blob_key, f"{case.reference}-report-v{report.version}.pdf")


@routes.get(
    "/api/cases/{case_id}/documents",
    summary="Signed reports and certificates of a case (applicants see the shared copies)",
    audience="case",
    response=CaseDocuments,
    errors=(401, 404, 422),
)
async def list_documents(request: web.Request, *, principal: Principal) -> CaseDocuments:
    public_url = request.app[SETTINGS].public_url
    reports, issued = await service.case_documents(
        request.app[DB], path_int(request, "case_id"), shared=not principal.is_staff
    )
    return CaseDocuments(
        reports=[ReportBrief.of(r) for r in reports],
        certificates=[
            CertificateDocument(
                code=c.code,
                issued_at=c.issued_at,
                revoked_at=c.revoked_at,
                verify_url=certs.verify_url(public_url, c.code),
            )
            for c in issued
        ],
    )


@routes.get(
    "/api/cases/{case_id}/certificate",
    summary="Download the case's certificate",
    audience="case",
    response_content_type=PDF,
    errors=(401, 404, 422),
)
async def download_certificate(request: web.Request) -> web.Response:
    cert = await service.latest_certificate(request.app[DB], path_int(request, "case_id"))
    return await _pdf(request, cert.blob_key, f"{cert.reference}-certificate.pdf")


@routes.post(
    "/api/certificates/{certificate_code}/revoke",
    summary="Revoke a certificate (audited)",
    audience="staff",
    roles=DECIDERS,
    body=RevokeBody,
    response=CertificateStatus,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def revoke_certificate(
    request: web.Request, *, principal: Principal, body: RevokeBody
) -> CertificateStatus:
    code = certs.normalise_code(request.match_info["certificate_code"])
    cert = await service.revoke_certificate(
        request.app[DB], code, body.reason, actor=principal.actor, staff_id=_staff_id(principal)
    )
    return CertificateStatus.model_validate(certs.public_view(cert, code, request.app[CLOCK].now()))


@routes.get(
    "/api/verify/{code}",
    summary="Is this certificate valid? (public; shows only what the certificate shows)",
    audience="public",
    response=PublicCertificateStatus,
    errors=(422,),
)
async def verify_certificate(request: web.Request) -> PublicCertificateStatus:
    raw = request.match_info["code"]
    try:
        code = certs.normalise_code(raw)
    except InvalidInput:
        return PublicCertificateStatus(status="unknown", code=raw[:40])
    cert = await service.certificate_by_code(request.app[DB], code)
    view = certs.public_view(cert, code, request.app[CLOCK].now())
    for key in ("issued_at", "valid_until", "revoked_at"):
        if view.get(key):
            view[key] = format_time(view[key])
    return PublicCertificateStatus.model_validate(view)

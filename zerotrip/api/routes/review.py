"""Inspector review routes: annotations, flattened images, verdicts, the signed report, the
certificate and its public verification."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import (
    parse_body,
    parse_query,
    path_int,
    reply,
)
from zerotrip.api.keys import CATALOGUE, CLOCK, DB, SERVICES, SETTINGS, STORAGE
from zerotrip.api.principal import authorize_case, resolve_principal
from zerotrip.api.routes.identity_check import guard_evidence, may_see_identity
from zerotrip.api.routing import RouteTable
from zerotrip.cases.audit import format_time
from zerotrip.cases.store import checkpoints_of, get_case
from zerotrip.db import retry_on_conflict
from zerotrip.media.models import Evidence
from zerotrip.problems import InvalidInput, NotFound
from zerotrip.review import certificate as certs
from zerotrip.review.annotation_store import (
    annotation_version,
    latest_annotation,
    save_annotations,
)
from zerotrip.review.annotations import AnnotationInput
from zerotrip.review.casefile import case_evidence
from zerotrip.review.flatten import base_bytes, encode_jpeg, flattened, oriented_base
from zerotrip.review.signing import latest_report, reports_of, sign_report
from zerotrip.review.verdicts import VerdictInput, give_verdict, verdict_history

routes = RouteTable("review")
INSPECTORS = ("inspector", "admin")
DECIDERS = ("clerk", "admin")
OBJECT: dict[str, Any] = {"type": "object"}
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


async def _evidence(request: web.Request) -> Evidence:
    """The evidence named in the path, for staff only (an applicant never sees this API)."""
    evidence_id = path_int(request, "evidence_id")
    async with request.app[DB].session() as session:
        evidence = await session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound(f"No evidence {evidence_id}.")
    # Identity evidence: only staff with identity access, and every look is audited.
    await guard_evidence(request, evidence, view=f"review-{request.path.rsplit('/', 1)[-1]}")
    return evidence


async def _requested_version(request: web.Request, evidence: Evidence) -> Any:
    """The annotation version ``?version=`` names, else the latest (None if there is none)."""
    q = parse_query(request, VersionQuery)
    async with request.app[DB].session() as session:
        if q.version:
            return await annotation_version(session, evidence.id, q.version)  # type: ignore[arg-type]
        return await latest_annotation(session, evidence.id)  # type: ignore[arg-type]


def _jpeg(data: bytes) -> web.Response:
    return web.Response(
        body=data, content_type=JPEG, headers={"Cache-Control": "private, max-age=300"}
    )


@routes.get(
    "/api/review/evidence/{evidence_id}/base",
    summary="The upright image an inspector annotates (no metadata)",
    audience="staff",
    response_content_type=JPEG,
    errors=(401, 403, 404, 422),
)
async def read_base_image(request: web.Request) -> web.Response:
    evidence = await _evidence(request)
    data = await base_bytes(request.app[STORAGE], evidence.sha256, evidence.blob_key)
    return _jpeg(await asyncio.to_thread(lambda: encode_jpeg(oriented_base(data))))


def _annotation_view(ann: Any) -> dict[str, Any]:
    return {
        "version": ann.version,
        "sha256": ann.sha256,
        "shapes": ann.shapes,
        "created_at": ann.created_at,
        "document": ann.document,
    }


@routes.get(
    "/api/review/evidence/{evidence_id}/annotations",
    summary="An annotation version of an image (the latest unless ?version=)",
    audience="staff",
    query=VersionQuery,
    response=OBJECT,
    errors=(401, 403, 404, 422),
)
async def read_annotations(request: web.Request) -> web.Response:
    evidence = await _evidence(request)
    ann = await _requested_version(request, evidence)
    if ann is None:
        return reply({"version": 0, "sha256": None, "shapes": 0, "document": None})
    return reply(_annotation_view(ann))


@routes.put(
    "/api/review/evidence/{evidence_id}/annotations",
    summary="Save the shapes drawn on an image as a new annotation version",
    audience="staff",
    roles=tuple(INSPECTORS),
    body=AnnotationInput,
    response=OBJECT,
    status=201,
    errors=(400, 401, 403, 404, 409, 413, 415, 422),
)
async def save_annotation_version(request: web.Request) -> web.Response:
    app = request.app
    principal = await resolve_principal(request)
    evidence = await _evidence(request)
    body = await parse_body(request, AnnotationInput, app[SETTINGS].annotation_max_bytes)

    async def attempt() -> dict[str, Any]:
        async with app[DB].transaction() as session:
            ann = await save_annotations(
                session,
                evidence.case_id,
                evidence.id,
                body,  # type: ignore[arg-type]
                actor=principal.actor,
                staff_id=principal.user.id if principal.user else None,
            )
            return _annotation_view(ann)

    return reply(await retry_on_conflict(attempt), status=201)


@routes.get(
    "/api/review/evidence/{evidence_id}/annotated",
    summary="The image with an annotation version drawn on it (rendered once, then cached)",
    audience="staff",
    query=VersionQuery,
    response_content_type=JPEG,
    errors=(401, 403, 404, 422),
)
async def read_annotated_image(request: web.Request) -> web.Response:
    evidence = await _evidence(request)
    ann = await _requested_version(request, evidence)
    storage = request.app[STORAGE]
    if ann is None:
        data = await base_bytes(storage, evidence.sha256, evidence.blob_key)
        return _jpeg(await asyncio.to_thread(lambda: encode_jpeg(oriented_base(data))))
    _, image = await flattened(
        storage,
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
    response=OBJECT,
    errors=(401, 403, 404, 422),
)
async def read_review(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    see_restricted = await may_see_identity(request)
    async with request.app[DB].session() as session:
        case = await get_case(session, case_id)
        entries = await case_evidence(session, case_id, shared=not see_restricted)
        history = await verdict_history(session, case_id)
        checkpoints = await checkpoints_of(session, case_id)
        report = await latest_report(session, case_id, shared=False)
        issued = await certs.certificates_of(session, case_id)
    items = []
    for cp in checkpoints:
        if cp.restricted and not see_restricted:
            continue
        evidence = [
            {
                "id": e.evidence.id,
                "kind": e.evidence.kind,
                "source": e.evidence.source,
                "round": e.evidence.round,
                "sha256": e.evidence.sha256,
                "received_at": e.evidence.received_at,
                "captured_at": e.evidence.captured_at,
                "restricted": e.evidence.restricted,
                "annotation_version": e.annotation.version if e.annotation else 0,
                "trust": e.trust.verdict if e.trust else None,
            }
            for e in entries
            if e.evidence.checkpoint_id == cp.id
        ]
        items.append(
            {
                "id": cp.id,
                "code": cp.code,
                "position": cp.position,
                "title_zh": cp.title_zh,
                "title_en": cp.title_en,
                "verdict": cp.verdict,
                "comment": cp.verdict_comment,
                "round": cp.round,
                "evidence": evidence,
                "history": [
                    {
                        "round": h.round,
                        "verdict": h.verdict,
                        "comment": h.comment,
                        "evidence_ids": h.evidence_ids,
                        "given_at": h.given_at,
                    }
                    for h in history
                    if h.checkpoint_id == cp.id
                ],
            }
        )
    return reply(
        {
            "case_id": case.id,
            "state": case.state,
            "inspection_result": case.inspection_result,
            "checkpoints": items,
            "report": {
                "version": report.version,
                "sha256": report.sha256,
                "signed_at": report.signed_at,
                "signed_by": report.signed_label,
                "audit_head": report.audit_head,
            }
            if report
            else None,
            "certificates": [
                {
                    "code": c.code,
                    "issued_at": c.issued_at,
                    "revoked_at": c.revoked_at,
                    "sha256": c.sha256,
                }
                for c in issued
            ],
        }
    )


@routes.post(
    "/api/cases/{case_id}/checkpoints/{checkpoint_id}/verdict",
    summary="Judge one checkpoint: pass, fail or rectify, with a comment and its evidence",
    audience="staff",
    roles=tuple(INSPECTORS),
    body=VerdictInput,
    response=OBJECT,
    status=201,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def post_verdict(request: web.Request) -> web.Response:
    app = request.app
    case_id = path_int(request, "case_id")
    checkpoint_id = path_int(request, "checkpoint_id")
    principal = await resolve_principal(request)
    body = await parse_body(request, VerdictInput, app[SETTINGS].max_json_bytes)

    async def attempt() -> dict[str, Any]:
        async with app[DB].transaction() as session:
            record = await give_verdict(
                session,
                case_id,
                checkpoint_id,
                body,
                actor=principal.actor,
                staff_id=principal.user.id if principal.user else None,
            )
            return {
                "checkpoint_id": record.checkpoint_id,
                "round": record.round,
                "verdict": record.verdict,
                "comment": record.comment,
                "evidence_ids": record.evidence_ids,
                "given_at": record.given_at,
            }

    return reply(await retry_on_conflict(attempt), status=201)


@routes.post(
    "/api/cases/{case_id}/report",
    summary="Sign the inspection report (a full copy and a shared copy)",
    audience="staff",
    roles=tuple(INSPECTORS),
    response=OBJECT,
    status=201,
    errors=(401, 403, 404, 409, 422),
)
async def post_report(request: web.Request) -> web.Response:
    app = request.app
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    rows = await sign_report(
        app[DB],
        app[STORAGE],
        app[CATALOGUE],
        case_id,
        actor=principal.actor,
        staff_id=principal.user.id if principal.user else None,
        font=app[SERVICES].font,
    )
    return reply(
        {
            "version": rows[0].version,
            "sha256": rows[0].sha256,
            "shared_sha256": rows[1].sha256,
            "audit_head": rows[0].audit_head,
            "signed_at": rows[0].signed_at,
        },
        status=201,
    )


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
async def download_report(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    shared = parse_query(request, ReportQuery).shared or not principal.is_staff
    shared = shared or not await may_see_identity(request)  # the full copy shows ID stills
    async with request.app[DB].session() as session:
        case = await get_case(session, case_id)
        report = await latest_report(session, case_id, shared=shared)
    if report is None:
        raise NotFound(f"No report has been signed for case {case_id} yet.")
    return await _pdf(request, report.blob_key, f"{case.reference}-report-v{report.version}.pdf")


@routes.get(
    "/api/cases/{case_id}/documents",
    summary="Signed reports and certificates of a case (applicants see the shared copies)",
    audience="case",
    response=OBJECT,
    errors=(401, 404, 422),
)
async def list_documents(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    public_url = request.app[SETTINGS].public_url
    async with request.app[DB].session() as session:
        await get_case(session, case_id)
        reports = await reports_of(session, case_id, shared=not principal.is_staff)
        issued = await certs.certificates_of(session, case_id)
    return reply(
        {
            "reports": [
                {
                    "version": r.version,
                    "sha256": r.sha256,
                    "signed_at": r.signed_at,
                    "signed_by": r.signed_label,
                    "audit_head": r.audit_head,
                }
                for r in reports
            ],
            "certificates": [
                {
                    "code": c.code,
                    "issued_at": c.issued_at,
                    "revoked_at": c.revoked_at,
                    "verify_url": certs.verify_url(public_url, c.code),
                }
                for c in issued
            ],
        }
    )


@routes.get(
    "/api/cases/{case_id}/certificate",
    summary="Download the case's certificate",
    audience="case",
    response_content_type=PDF,
    errors=(401, 404, 422),
)
async def download_certificate(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    authorize_case(await resolve_principal(request), case_id)
    async with request.app[DB].session() as session:
        issued = await certs.certificates_of(session, case_id)
    if not issued:
        raise NotFound(f"No certificate has been issued for case {case_id}.")
    return await _pdf(request, issued[-1].blob_key, f"{issued[-1].reference}-certificate.pdf")


@routes.post(
    "/api/certificates/{code}/revoke",
    summary="Revoke a certificate (audited)",
    audience="staff",
    roles=tuple(DECIDERS),
    body=RevokeBody,
    response=OBJECT,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def revoke_certificate(request: web.Request) -> web.Response:
    app = request.app
    principal = await resolve_principal(request)
    code = certs.normalise_code(request.match_info["code"])
    body = await parse_body(request, RevokeBody, app[SETTINGS].max_json_bytes)

    async def attempt() -> dict[str, Any]:
        async with app[DB].transaction() as session:
            cert = await certs.revoke(
                session,
                code,
                body.reason,
                actor=principal.actor,
                staff_id=principal.user.id if principal.user else None,
            )
            return certs.public_view(cert, code, app[CLOCK].now())

    return reply(await retry_on_conflict(attempt))


@routes.get(
    "/api/verify/{code}",
    summary="Is this certificate valid? (public; shows only what the certificate shows)",
    audience="public",
    response={
        "type": "object",
        "required": ["status", "code"],
        "properties": {"status": {"enum": ["valid", "revoked", "expired", "unknown"]}},
    },
    errors=(422,),
)
async def verify_certificate(request: web.Request) -> web.Response:
    raw = request.match_info["code"]
    try:
        code = certs.normalise_code(raw)
    except InvalidInput:
        return reply({"status": "unknown", "code": raw[:40]})
    async with request.app[DB].session() as session:
        cert = await certs.find_certificate(session, code)
    view = certs.public_view(cert, code, request.app[CLOCK].now())
    for key in ("issued_at", "valid_until", "revoked_at"):
        if view.get(key):
            view[key] = format_time(view[key])
    return reply(view)

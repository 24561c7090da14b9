"""Evidence routes: capture nonces, streaming uploads, the evidence list and its files.

Upload protocol (``POST /api/cases/{case_id}/checkpoints/{checkpoint_id}/evidence``): the body
is the raw image or video bytes, streamed (any Content-Type; the real format is sniffed). What
the page knows about the capture travels in one ``X-Capture`` header holding a small JSON
object: ``origin`` (``capture`` for the in-page camera, ``gallery`` for a chosen file), the
single-use ``nonce`` issued when the camera opened, the geolocation fix ``lat``, ``lon``,
``accuracy`` (metres, 95 %), ``fix_at`` and the shutter time ``taken_at`` (both ms since epoch).
Repeating an upload with the same nonce and bytes returns the same evidence (status 200).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zerotrip.api.bodies import path_int, validation_problem
from zerotrip.api.keys import CLOCK, DB, SERVICES, SETTINGS, STORAGE
from zerotrip.api.principal import Principal, authorize_case
from zerotrip.api.routes.identity_check import guard_evidence, viewer_of
from zerotrip.api.routing import RouteTable, respond
from zerotrip.api.uploads import receive_upload
from zerotrip.cases.models import Checkpoint
from zerotrip.evidence import nonces as evidence_nonces
from zerotrip.evidence.intake import ingest_file
from zerotrip.media.keys import display_key, original_key, thumb_key
from zerotrip.media.models import Evidence
from zerotrip.media.originals import verify_original
from zerotrip.media.schemas import EvidenceList, EvidenceView
from zerotrip.problems import Forbidden, InvalidInput, NotFound
from zerotrip.review import evidence_reads, intake
from zerotrip.review.service import evidence_by_id

routes = RouteTable("evidence")

CAPTURE_HEADER = "X-Capture"
MAX_CAPTURE_HEADER = 2048
BINARY_SCHEMA: dict[str, Any] = {"type": "string", "format": "binary"}


class CaptureNonce(BaseModel):
    nonce: str
    expires_at: datetime


class CaptureClaims(BaseModel):
    """The ``X-Capture`` header: what the page says about how and where the photo was taken."""

    model_config = ConfigDict(extra="forbid")

    origin: Literal["capture", "gallery", "live_photo"] = "gallery"
    live_session: int | None = Field(default=None, ge=1)  # live_photo: the session that asked
    nonce: str | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    accuracy: float | None = Field(default=None, ge=0, le=1_000_000)
    fix_at: int | None = Field(default=None, ge=0, le=10**14)
    taken_at: int | None = Field(default=None, ge=0, le=10**14)


def _claims(request: web.Request) -> CaptureClaims:
    raw = request.headers.get(CAPTURE_HEADER, "")
    if len(raw) > MAX_CAPTURE_HEADER:
        raise InvalidInput(
            f"The {CAPTURE_HEADER} header is too long.", zh=f"{CAPTURE_HEADER} 请求头过长。"
        )
    try:
        data = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        raise InvalidInput(
            f"The {CAPTURE_HEADER} header is not JSON.",
            zh=f"{CAPTURE_HEADER} 请求头不是有效的 JSON。",
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(
            f"The {CAPTURE_HEADER} header must be a JSON object.",
            zh=f"{CAPTURE_HEADER} 请求头须为 JSON 对象。",
        )
    try:
        claims = CaptureClaims.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    if (claims.lat is None) != (claims.lon is None):
        raise InvalidInput(
            "Send both lat and lon, or neither.", zh="经度和纬度须同时提供，或都不提供。"
        )
    if claims.origin == "capture" and not claims.nonce:
        raise Forbidden(
            "An in-page capture needs the capture nonce.",
            zh="页面内拍摄的照片须附带拍摄凭证，请重新打开相机。",
            code="nonce_invalid",
        )
    if (claims.origin == "live_photo") != (claims.live_session is not None) or (
        claims.origin == "live_photo" and not claims.nonce
    ):
        raise Forbidden(
            "A live photo needs its live session and the nonce the session issued.",
            zh="视频踏勘中的拍照须附带该次视频踏勘及其发出的拍摄凭证。",
            code="live_photo_unbound",
        )
    return claims


async def _checkpoint_for(request: web.Request, principal: Principal) -> Checkpoint:
    return await intake.upload_target(
        request.app[DB],
        path_int(request, "case_id"),
        path_int(request, "checkpoint_id"),
        staff=principal.is_staff,
    )


@routes.post(
    "/api/cases/{case_id}/checkpoints/{checkpoint_id}/nonce",
    summary="Open the camera for a checklist item: issue a single-use capture nonce",
    audience="applicant",
    response=CaptureNonce,
    status=201,
    errors=(401, 403, 404, 409, 422),
)
async def issue_capture_nonce(request: web.Request, *, principal: Principal) -> CaptureNonce:
    checkpoint = await _checkpoint_for(request, principal)
    settings = request.app[SETTINGS]
    request.app[SERVICES].analysis.warm()  # the photo follows within seconds
    issued = await evidence_nonces.issue_capture_nonce(
        request.app[DB],
        case_id=checkpoint.case_id,
        checkpoint_id=checkpoint.id or 0,
        actor=principal.actor,
        now=request.app[CLOCK].now(),
        minutes=settings.evidence_nonce_minutes,
    )
    return CaptureNonce(nonce=issued.token, expires_at=issued.record.expires_at)


@routes.post(
    "/api/cases/{case_id}/checkpoints/{checkpoint_id}/evidence",
    summary="Upload a photo or video for a checklist item (raw bytes, X-Capture header)",
    audience="case",
    body=BINARY_SCHEMA,  # type: ignore[arg-type]
    body_content_type="application/octet-stream",
    response=EvidenceView,
    status=201,
    also=(200,),  # a retry of the same capture returns the evidence already stored
    errors=(401, 403, 404, 408, 409, 410, 413, 415, 422, 429),
    extra={
        "description": __doc__,
        "parameters": [
            {"name": n, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
            for n in ("case_id", "checkpoint_id")
        ]
        + [
            {
                "name": CAPTURE_HEADER,
                "in": "header",
                "required": False,
                "description": "JSON object: origin, nonce, lat, lon, accuracy, fix_at, taken_at",
                "schema": {"type": "string"},
            }
        ],
    },
)
async def upload_evidence(request: web.Request, *, principal: Principal) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    checkpoint = await _checkpoint_for(request, principal)
    claims = _claims(request)
    if claims.live_session is not None:  # a live photo: only while the session is live
        await intake.require_live_session(app[DB], checkpoint, claims.live_session)
    started = app[DB].clock.now()
    received = await receive_upload(request, principal)
    evidence = await ingest_file(
        app[DB],
        app[STORAGE],
        settings,
        pools=app[SERVICES].analysis,
        case_id=checkpoint.case_id,
        checkpoint_id=checkpoint.id,
        path=received.path,
        origin=claims.origin,
        actor=principal.actor,
        capture=claims.model_dump(exclude_none=True),
        live_session_id=claims.live_session,
        restricted=checkpoint.restricted,
        digest=(received.sha256, received.size),
    )
    verdicts = await intake.trust_verdicts(app[DB], [evidence.id or 0])
    view = EvidenceView.of(evidence, verdicts[evidence.id or 0], staff=principal.is_staff)
    replay = evidence.received_at < started
    return respond(view, status=200 if replay else 201)


@routes.get(
    "/api/cases/{case_id}/evidence",
    summary="The evidence of a case, with trust findings for staff",
    audience="case",
    response=EvidenceList,
    errors=(401, 404, 422),
)
async def list_evidence(request: web.Request, *, principal: Principal) -> EvidenceList:
    staff = principal.is_staff
    found = await evidence_reads.case_evidence(
        request.app[DB],
        path_int(request, "case_id"),
        viewer_of(principal),
        request.app[SETTINGS].identity_roles,
    )
    return EvidenceList(items=[EvidenceView.of(e, v, staff=staff) for e, v in found])


async def _evidence_for(
    request: web.Request, principal: Principal, *, staff_only: bool, view: str
) -> Evidence:
    evidence_id = path_int(request, "evidence_id")
    evidence = await evidence_by_id(request.app[DB], evidence_id)
    if principal.is_staff:
        await guard_evidence(
            request, principal, evidence, view
        )  # identity evidence: audited, by access
        return evidence
    if staff_only:
        raise Forbidden(
            "Only office staff can open originals (they hold location data).",
            zh="原件含有位置信息，只有工作人员可以打开。",
        )
    authorize_case(principal, evidence.case_id)
    if evidence.restricted:
        raise NotFound(f"No evidence {evidence_id}.", zh=f"没有编号为 {evidence_id} 的证据。")
    return evidence


async def _serve(request: web.Request, key: str, media_type: str) -> web.StreamResponse:
    storage = request.app[STORAGE]
    if not await storage.exists(key):
        raise NotFound("This file has no rendition yet.", zh="此文件尚未生成预览图。")
    headers = {"Content-Type": media_type, "Cache-Control": "private, max-age=86400, immutable"}
    local = storage.local_path(key)
    if local is not None:
        return web.FileResponse(local, headers=headers)
    response = web.StreamResponse(headers=headers)
    response.content_length = await storage.size(key)
    await response.prepare(request)
    async for chunk in storage.read(key):
        await response.write(chunk)
    await response.write_eof()
    return response


_FILE_RESPONSE = {"type": "string", "format": "binary"}


def _rendition_route(kind: str, key_of: Callable[[str], str], summary: str) -> None:
    """Register ``GET /api/evidence/{id}/<kind>`` for one derived copy (staff and applicant)."""

    async def handler(request: web.Request, *, principal: Principal) -> web.StreamResponse:
        evidence = await _evidence_for(request, principal, staff_only=False, view=kind)
        return await _serve(request, key_of(evidence.sha256), "image/jpeg")

    handler.__name__ = f"evidence_{kind}"
    routes.get(
        f"/api/evidence/{{evidence_id}}/{kind}",
        summary=summary,
        audience="case",
        response=_FILE_RESPONSE,
        response_content_type="image/jpeg",
        errors=(401, 404, 422),
    )(handler)


_rendition_route("display", display_key, "The display copy (≤1600 px JPEG, no metadata)")
_rendition_route("thumb", thumb_key, "The thumbnail (≤320 px JPEG, no metadata)")


@routes.get(
    "/api/evidence/{evidence_id}/original",
    summary="The original as received (staff only: it may hold GPS and device data)",
    audience="staff",
    response=_FILE_RESPONSE,
    response_content_type="application/octet-stream",
    errors=(401, 403, 404, 422, 500),
)
async def evidence_original(request: web.Request, *, principal: Principal) -> web.StreamResponse:
    evidence = await _evidence_for(request, principal, staff_only=True, view="original")
    await verify_original(request.app[STORAGE], evidence.sha256)  # never pass on other bytes
    response = await _serve(request, original_key(evidence.sha256), evidence.media_type)
    return response

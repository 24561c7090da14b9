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
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import col, select

from zerotrip.api.bodies import path_int, reply, validation_problem
from zerotrip.api.keys import CLOCK, DB, SETTINGS, STORAGE
from zerotrip.api.principal import Principal, authorize_case, resolve_principal
from zerotrip.api.routes.evidence_views import (
    EVIDENCE_LIST_SCHEMA,
    EVIDENCE_SCHEMA,
    evidence_view,
)
from zerotrip.api.routes.identity_check import guard_evidence, may_see_identity
from zerotrip.api.routing import RouteTable
from zerotrip.cases.audit import utcnow
from zerotrip.cases.models import CaseState, Checkpoint
from zerotrip.cases.store import get_case
from zerotrip.evidence import nonces as evidence_nonces
from zerotrip.evidence.intake import ingest_file
from zerotrip.live import booking as live_booking
from zerotrip.live.models import LiveState
from zerotrip.media.ingest import warm_analysis
from zerotrip.media.keys import display_key, original_key, thumb_key
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.media.originals import verify_original
from zerotrip.media.receive import incoming_dir, receive_stream
from zerotrip.problems import Conflict, Forbidden, InvalidInput, NotFound, TooLarge

routes = RouteTable("evidence")

CAPTURE_HEADER = "X-Capture"
MAX_CAPTURE_HEADER = 2048
UPLOAD_STATES = frozenset(
    {
        CaseState.submitted,
        CaseState.returned,
        CaseState.accepted,
        CaseState.inspecting,
        CaseState.rectifying,
    }
)
NONCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["nonce", "expires_at"],
    "properties": {"nonce": {"type": "string"}, "expires_at": {"type": "string"}},
}
BINARY_SCHEMA: dict[str, Any] = {"type": "string", "format": "binary"}


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
        raise InvalidInput(f"The {CAPTURE_HEADER} header is too long.")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError:
        raise InvalidInput(f"The {CAPTURE_HEADER} header is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"The {CAPTURE_HEADER} header must be a JSON object.")
    try:
        claims = CaptureClaims.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    if (claims.lat is None) != (claims.lon is None):
        raise InvalidInput("Send both lat and lon, or neither.")
    if claims.origin == "capture" and not claims.nonce:
        raise Forbidden("An in-page capture needs the capture nonce.", code="nonce_invalid")
    if (claims.origin == "live_photo") != (claims.live_session is not None) or (
        claims.origin == "live_photo" and not claims.nonce
    ):
        raise Forbidden(
            "A live photo needs its live session and the nonce the session issued.",
            code="live_photo_unbound",
        )
    return claims


async def _checkpoint_for(request: web.Request, principal: Principal) -> tuple[int, Checkpoint]:
    case_id = path_int(request, "case_id")
    checkpoint_id = path_int(request, "checkpoint_id")
    authorize_case(principal, case_id)
    async with request.app[DB].session() as session:
        case = await get_case(session, case_id)
        checkpoint = await session.get(Checkpoint, checkpoint_id)
    if checkpoint is None or checkpoint.case_id != case_id:
        raise NotFound(f"Case {case_id} has no checklist item {checkpoint_id}.")
    if checkpoint.restricted and not principal.is_staff:  # identity: taken by staff, not shown
        raise NotFound(f"Case {case_id} has no checklist item {checkpoint_id}.")
    if not principal.is_staff and case.state not in UPLOAD_STATES:
        raise Conflict(f"Evidence cannot be added while the case is {case.state}.")
    return case_id, checkpoint


@routes.post(
    "/api/cases/{case_id}/checkpoints/{checkpoint_id}/nonce",
    summary="Open the camera for a checklist item: issue a single-use capture nonce",
    audience="applicant",
    response=NONCE_SCHEMA,
    status=201,
    errors=(401, 403, 404, 409, 422),
)
async def issue_capture_nonce(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    case_id, checkpoint = await _checkpoint_for(request, principal)
    app = request.app
    warm_analysis(app[SETTINGS])  # the photo follows within seconds
    issued = await evidence_nonces.issue_capture_nonce(
        app[DB],
        case_id=case_id,
        checkpoint_id=checkpoint.id or 0,
        actor=principal.actor,
        now=app[CLOCK].now(),
        minutes=app[SETTINGS].evidence_nonce_minutes,
    )
    return reply(issued, status=201)


@routes.post(
    "/api/cases/{case_id}/checkpoints/{checkpoint_id}/evidence",
    summary="Upload a photo or video for a checklist item (raw bytes, X-Capture header)",
    audience="case",
    body=BINARY_SCHEMA,  # type: ignore[arg-type]
    body_content_type="application/octet-stream",
    response=EVIDENCE_SCHEMA,
    status=201,
    also=(200,),  # a retry of the same capture returns the evidence already stored
    errors=(401, 403, 404, 409, 410, 413, 415, 422),
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
async def upload_evidence(request: web.Request) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    principal = await resolve_principal(request)
    case_id, checkpoint = await _checkpoint_for(request, principal)
    claims = _claims(request)
    if claims.live_session is not None:  # a live photo: the session must be live right now
        async with app[DB].session() as session:
            live = await live_booking.load(session, claims.live_session, case_id)
        if live.state != LiveState.live:
            raise Conflict(
                "The live session is not running with the applicant connected.",
                code="live_session_not_live",
            )
    cap = settings.evidence_max_bytes
    if request.content_length is not None and request.content_length > cap:
        raise TooLarge(f"The file may be at most {cap // (1024 * 1024)} MB.", max_bytes=cap)
    assert settings.media_dir is not None
    started = utcnow()
    received = await receive_stream(
        request.content.iter_chunked(256 * 1024), incoming_dir(settings.media_dir), cap
    )
    evidence = await ingest_file(
        app[DB],
        app[STORAGE],
        settings,
        case_id=case_id,
        checkpoint_id=checkpoint.id,
        path=received.path,
        origin=claims.origin,
        actor=principal.actor,
        capture=claims.model_dump(exclude_none=True),
        live_session_id=claims.live_session,
        restricted=checkpoint.restricted,
        digest=(received.sha256, received.size),
    )
    verdicts = await _verdicts(request, [evidence.id or 0])
    view = evidence_view(evidence, verdicts.get(evidence.id or 0, []), staff=principal.is_staff)
    replay = evidence.received_at < started
    return reply(view, status=200 if replay else 201)


async def _verdicts(request: web.Request, ids: list[int]) -> dict[int, list[TrustVerdict]]:
    found: dict[int, list[TrustVerdict]] = {i: [] for i in ids}
    if not ids:
        return found
    async with request.app[DB].session() as session:
        rows = await session.exec(
            select(TrustVerdict).where(col(TrustVerdict.evidence_id).in_(ids))
        )
        for v in rows.all():
            found[v.evidence_id].append(v)
    return found


@routes.get(
    "/api/cases/{case_id}/evidence",
    summary="The evidence of a case, with trust findings for staff",
    audience="case",
    response=EVIDENCE_LIST_SCHEMA,
    errors=(401, 404, 422),
)
async def list_evidence(request: web.Request) -> web.Response:
    principal = await resolve_principal(request)
    case_id = path_int(request, "case_id")
    authorize_case(principal, case_id)
    async with request.app[DB].session() as session:
        await get_case(session, case_id)
        stmt = select(Evidence).where(Evidence.case_id == case_id)
        if not principal.is_staff or not await may_see_identity(request):
            stmt = stmt.where(col(Evidence.restricted).is_(False))
        rows = list((await session.exec(stmt.order_by(col(Evidence.id)))).all())
    verdicts = await _verdicts(request, [e.id or 0 for e in rows]) if principal.is_staff else {}
    items = [evidence_view(e, verdicts.get(e.id or 0, []), staff=principal.is_staff) for e in rows]
    return reply({"items": items})


async def _evidence_for(request: web.Request, *, staff_only: bool, view: str) -> Evidence:
    principal = await resolve_principal(request)
    evidence_id = path_int(request, "evidence_id")
    async with request.app[DB].session() as session:
        evidence = await session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound(f"No evidence {evidence_id}.")
    if principal.is_staff:
        await guard_evidence(request, evidence, view)  # identity evidence: audited, by access
        return evidence
    if staff_only:
        raise Forbidden("Only office staff can open originals (they hold location data).")
    authorize_case(principal, evidence.case_id)
    if evidence.restricted:
        raise NotFound(f"No evidence {evidence_id}.")
    return evidence


async def _serve(request: web.Request, key: str, media_type: str) -> web.StreamResponse:
    storage = request.app[STORAGE]
    if not await storage.exists(key):
        raise NotFound("This file has no rendition yet.")
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

    async def handler(request: web.Request) -> web.StreamResponse:
        evidence = await _evidence_for(request, staff_only=False, view=kind)
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
async def evidence_original(request: web.Request) -> web.StreamResponse:
    evidence = await _evidence_for(request, staff_only=True, view="original")
    await verify_original(request.app[STORAGE], evidence.sha256)  # never pass on other bytes
    response = await _serve(request, original_key(evidence.sha256), evidence.media_type)
    return response

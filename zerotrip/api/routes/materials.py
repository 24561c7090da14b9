"""The applicant's side of the case file after acceptance: handing in outstanding (容缺)
materials (upload or mail), the clerk's decision on them, and the certificate's delivery
address."""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from zerotrip.api.bodies import path_int
from zerotrip.api.keys import CLOCK, DB, SERVICES, STORAGE
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.api.uploads import receive_upload
from zerotrip.cases import addresses, hand_ins
from zerotrip.cases.addresses import DeliveryAddress, DeliveryAddressView
from zerotrip.cases.hand_ins import HandInList, HandInView
from zerotrip.evidence.hand_in import hand_in_upload
from zerotrip.mailing.service import pickup_to_join
from zerotrip.media.keys import original_key
from zerotrip.media.originals import verify_original
from zerotrip.problems import Conflict

routes = RouteTable("materials")

_CODE = {"type": "string", "pattern": "^[a-z0-9-]{1,64}$"}
_FILE = {"type": "string", "format": "binary"}


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    accept: bool
    reason: str = Field(default="", max_length=1000)


@routes.get(
    "/api/cases/{case_id}/hand-ins",
    summary="Outstanding (容缺) materials handed in, and the clerk's decisions",
    audience="case",
    response=HandInList,
    errors=(401, 404, 410, 422),
)
async def list_hand_ins(request: web.Request) -> HandInList:
    return await hand_ins.hand_ins_of_case(request.app[DB], path_int(request, "case_id"))


@routes.post(
    "/api/cases/{case_id}/materials/{code}/hand-in",
    summary="Hand in an outstanding material as a PDF, JPEG or PNG (raw bytes; X-Filename)",
    audience="case",
    body=_FILE,  # type: ignore[arg-type]
    body_content_type="application/octet-stream",
    response=HandInView,
    status=201,
    errors=(401, 404, 408, 409, 410, 413, 415, 422, 429),
    path_schemas={"code": _CODE},
)
async def upload_hand_in(request: web.Request, *, principal: Principal) -> HandInView:
    app = request.app
    received = await receive_upload(request, principal)
    return await hand_in_upload(
        app[DB],
        app[STORAGE],
        case_id=path_int(request, "case_id"),
        material_code=request.match_info["code"],
        path=received.path,
        digest=(received.sha256, received.size),
        filename=unquote(request.headers.get("X-Filename", "")),
        actor=principal.actor,
        now=app[CLOCK].now(),
    )


@routes.post(
    "/api/cases/{case_id}/materials/{code}/mail-in",
    summary="Say the outstanding material comes on paper with the next courier parcel",
    audience="case",
    response=HandInView,
    status=201,
    errors=(401, 404, 409, 410, 422),
    path_schemas={"code": _CODE},
)
async def mail_hand_in(request: web.Request, *, principal: Principal) -> HandInView:
    if await pickup_to_join(request.app[DB], path_int(request, "case_id")) is None:
        raise Conflict(
            "No courier is coming to collect papers for this case: upload the document instead.",
            zh="本件没有待上门取件的快递，无法随快递寄送，请上传文件。",
            code="no-pickup",
        )
    return await hand_ins.hand_in(
        request.app[DB],
        path_int(request, "case_id"),
        request.match_info["code"],
        document=None,
        actor=principal.actor,
        now=request.app[CLOCK].now(),
    )


@routes.post(
    "/api/cases/{case_id}/hand-ins/{hand_in_id}/decision",
    summary="Accept a handed-in material (it is received) or reject it with a reason",
    audience="staff",
    roles=("clerk", "admin"),
    body=Decision,
    response=HandInView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def decide_hand_in(
    request: web.Request, *, principal: Principal, body: Decision
) -> HandInView:
    return await hand_ins.decide(
        request.app[DB],
        path_int(request, "case_id"),
        path_int(request, "hand_in_id"),
        accept=body.accept,
        reason=body.reason,
        actor=principal.actor,
        staff_id=principal.user.id if principal.user else None,
        now=request.app[CLOCK].now(),
        reactions=request.app[SERVICES].reactions,
    )


@routes.get(
    "/api/cases/{case_id}/hand-ins/{hand_in_id}/document",
    summary="The handed-in document as stored (checked against its hash)",
    audience="case",
    response=_FILE,
    response_content_type="application/octet-stream",
    errors=(401, 404, 410, 422, 500),
)
async def hand_in_file(request: web.Request) -> web.StreamResponse:
    row = await hand_ins.hand_in_document(
        request.app[DB], path_int(request, "case_id"), path_int(request, "hand_in_id")
    )
    assert row.sha256 is not None
    storage = request.app[STORAGE]
    await verify_original(storage, row.sha256)
    data = await storage.read_bytes(original_key(row.sha256))
    return web.Response(
        body=data,
        content_type=row.media_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@routes.get(
    "/api/cases/{case_id}/delivery-address",
    summary="Where the certificate goes (proposed: the premises) and whether it is confirmed",
    audience="case",
    response=DeliveryAddressView,
    errors=(401, 404, 410, 422),
)
async def read_delivery_address(request: web.Request) -> DeliveryAddressView:
    return await addresses.delivery_address_of(request.app[DB], path_int(request, "case_id"))


@routes.put(
    "/api/cases/{case_id}/delivery-address",
    summary="Confirm or change the certificate's delivery address (before issuance)",
    audience="case",
    body=DeliveryAddress,
    response=DeliveryAddressView,
    errors=(400, 401, 404, 409, 410, 413, 422),
)
async def confirm_delivery_address(
    request: web.Request, *, principal: Principal, body: DeliveryAddress
) -> DeliveryAddressView:
    case = await addresses.confirm_delivery_address(
        request.app[DB],
        path_int(request, "case_id"),
        body,
        actor=principal.actor,
        now=request.app[CLOCK].now(),
    )
    return addresses.address_view(case)

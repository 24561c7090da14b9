"""Notification routes: the messages of a case (staff), and the SMS gateway's signed reports."""

from __future__ import annotations

import time

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zerotrip.api.bodies import path_int, reply, validation_problem
from zerotrip.api.keys import DB, SETTINGS
from zerotrip.api.routing import RouteTable
from zerotrip.cases.store import get_case
from zerotrip.db import retry_on_conflict
from zerotrip.notify.service import (
    notification_view,
    notifications_of,
    record_delivery_report,
)
from zerotrip.notify.sms import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from zerotrip.problems import TooLarge

routes = RouteTable("notify")


class DeliveryReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    status: str = Field(min_length=1, max_length=32)


@routes.get(
    "/api/cases/{case_id}/notifications",
    summary="Messages sent (or only recorded) to the case's applicant",
    audience="staff",
    response={
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"type": "object"}}},
    },
    errors=(401, 403, 404, 422),
)
async def list_notifications(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    async with request.app[DB].session() as session:
        await get_case(session, case_id)
        items = await notifications_of(session, case_id)
    return reply({"items": [notification_view(n) for n in items]})


@routes.post(
    "/api/notify/sms/callback",
    summary="Delivery report from the SMS gateway (HMAC-signed)",
    audience="signed",
    body=DeliveryReport,
    response={"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
    errors=(400, 401, 404, 413, 422),
)
async def sms_delivery_report(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if request.content_length is not None and request.content_length > 16 * 1024:
        raise TooLarge("A delivery report is at most 16 KiB.")
    raw = await request.content.read(16 * 1024 + 1)
    if len(raw) > 16 * 1024:
        raise TooLarge("A delivery report is at most 16 KiB.")
    verify(
        settings.sms_secret,
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        raw,
        time.time(),
    )
    try:
        report = DeliveryReport.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_problem(exc) from None

    async def attempt() -> None:
        async with request.app[DB].transaction() as session:
            await record_delivery_report(session, report.id, report.status)

    await retry_on_conflict(attempt)
    return reply({"ok": True})

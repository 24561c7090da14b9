"""Notification routes: the messages of a case (staff), and the SMS gateway's signed reports."""

from __future__ import annotations

import time

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zerotrip.api.bodies import paced_chunks, path_int, validation_problem
from zerotrip.api.keys import DB, SETTINGS
from zerotrip.api.language import preferred_language
from zerotrip.api.routing import ACKNOWLEDGED, Acknowledged, RouteTable
from zerotrip.kit.bodies import read_capped
from zerotrip.notify.schemas import NotificationList, NotificationView
from zerotrip.notify.service import (
    case_notifications,
    delivery_reported,
)
from zerotrip.notify.sms import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

routes = RouteTable("notify")
REPORT_MAX_BYTES = 16 * 1024


class DeliveryReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    status: str = Field(min_length=1, max_length=32)


@routes.get(
    "/api/cases/{case_id}/notifications",
    summary="Messages sent (or only recorded) to the case's applicant",
    audience="staff",
    response=NotificationList,
    errors=(401, 403, 404, 422),
)
async def list_notifications(request: web.Request) -> NotificationList:
    items = await case_notifications(request.app[DB], path_int(request, "case_id"))
    language = preferred_language(request)
    return NotificationList(items=[NotificationView.of(n, language) for n in items])


@routes.post(
    "/api/notify/sms/callback",
    summary="Delivery report from the SMS gateway (HMAC-signed)",
    audience="signed",
    body=DeliveryReport,
    raw_body=True,  # the signature covers the exact bytes
    response=Acknowledged,
    errors=(400, 401, 404, 413, 422),
)
async def sms_delivery_report(request: web.Request) -> Acknowledged:
    settings = request.app[SETTINGS]
    chunks = paced_chunks(request, 16 * 1024)
    raw = await read_capped(chunks, REPORT_MAX_BYTES, declared=request.content_length)
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
    await delivery_reported(request.app[DB], report.id, report.status)
    return ACKNOWLEDGED

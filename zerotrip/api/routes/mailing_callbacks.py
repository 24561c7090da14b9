"""Courier callbacks: Shippo webhooks (secret token in the URL) and the webhook courier's signed
status callbacks. Bodies are size-capped and checked before anything is stored."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from aiohttp import web
from sqlmodel import select

from zerotrip.api.bodies import check_json_depth, paced_chunks, reply
from zerotrip.api.keys import CLOCK, SETTINGS
from zerotrip.api.routes.mailing import MAILING
from zerotrip.api.routing import RouteTable
from zerotrip.mailing.models import InboundMessage
from zerotrip.mailing.tracking import ingest
from zerotrip.mailing.webhook.callbacks import BadCallback, parse_events
from zerotrip.mailing.webhook.signing import verify
from zerotrip.problems import Conflict, InvalidInput, MalformedBody, TooLarge, Unauthenticated

routes = RouteTable("mailing")
RECEIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["duplicate", "outcome"],
    "properties": {"duplicate": {"type": "boolean"}, "outcome": {"type": "string"}},
}


async def _raw_body(request: web.Request) -> bytes:
    limit = request.app[SETTINGS].max_courier_callback_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"A callback may be at most {limit} bytes.")
    raw = bytearray()
    async for chunk in paced_chunks(request, 16 * 1024):
        raw += chunk
        if len(raw) > limit:
            raise TooLarge(f"A callback may be at most {limit} bytes.")
    check_json_depth(bytes(raw))  # before any parser recurses into it
    return bytes(raw)


@routes.post(
    "/api/mailing/callbacks/shippo",
    summary="Shippo webhook (track_updated, transaction_updated); secured by ?token=",
    audience="signed",
    response=RECEIPT_SCHEMA,
    errors=(400, 401, 413),
    extra={"security": []},
)
async def shippo_callback(request: web.Request) -> web.Response:
    expected = request.app[SETTINGS].shippo_webhook_token
    given = request.query.get("token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthenticated("Wrong or missing webhook token.")
    raw = await _raw_body(request)
    from zerotrip.mailing.shippo.mapping import webhook_updates

    try:
        webhook_updates(raw.decode("utf-8"))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"Not a Shippo webhook payload ({type(exc).__name__}).") from None
    key = "shippo:" + hashlib.sha256(raw).hexdigest()
    result = await ingest(request.app[MAILING], "shippo", key, raw.decode("utf-8"))
    return reply({"duplicate": result.duplicate, "outcome": result.outcome})


@routes.post(
    "/api/mailing/callbacks/webhook",
    summary="Signed status callback from the webhook courier (HMAC-SHA256 + timestamp)",
    audience="signed",
    response=RECEIPT_SCHEMA,
    errors=(400, 401, 409, 413, 422),
    extra={"security": []},
)
async def webhook_callback(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    raw = await _raw_body(request)
    now = request.app[CLOCK].now().timestamp()
    signature = verify(
        settings.courier_webhook_secret,
        request.headers,
        raw,
        now,
        settings.courier_webhook_max_skew_s,
    )
    try:
        events = parse_events(raw.decode("utf-8"))
    except (BadCallback, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Not a courier callback: {exc}") from None
    key = (
        "webhook:"
        + hashlib.sha256("|".join(sorted(e.event_id for e in events)).encode()).hexdigest()
    )
    mailing = request.app[MAILING]
    async with mailing.db.session() as session:
        replay = (
            await session.exec(
                select(InboundMessage.id).where(InboundMessage.signature == signature)
            )
        ).first()
    if replay is not None:
        raise Conflict("This exact callback was already received (replayed).")
    result = await ingest(mailing, "webhook", key, raw.decode("utf-8"), signature)
    return reply({"duplicate": result.duplicate, "outcome": result.outcome})

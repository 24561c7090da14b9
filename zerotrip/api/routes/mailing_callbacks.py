"""Courier callbacks: Shippo webhooks (secret token in the URL) and the webhook courier's signed
status callbacks. Bodies are size-capped and checked before anything is stored."""

from __future__ import annotations

import hmac

from aiohttp import web

from zerotrip.api.bodies import check_json_depth, paced_chunks
from zerotrip.api.keys import CLOCK, MAILING, SETTINGS
from zerotrip.api.routing import RouteTable
from zerotrip.kit.bodies import read_capped
from zerotrip.mailing import service
from zerotrip.mailing.schemas import CallbackReceipt
from zerotrip.mailing.tracking import Applied
from zerotrip.mailing.webhook.signing import verify
from zerotrip.problems import Unauthenticated

routes = RouteTable("mailing")


async def _raw_body(request: web.Request) -> bytes:
    limit = request.app[SETTINGS].max_courier_callback_bytes
    chunks = paced_chunks(request, 16 * 1024)
    raw = await read_capped(chunks, limit, declared=request.content_length)
    check_json_depth(raw)  # before any parser recurses into it
    return raw


def _receipt(result: Applied) -> CallbackReceipt:
    return CallbackReceipt(duplicate=result.duplicate, outcome=result.outcome)


@routes.post(
    "/api/mailing/callbacks/shippo",
    summary="Shippo webhook (track_updated, transaction_updated); secured by ?token=",
    audience="signed",
    response=CallbackReceipt,
    errors=(400, 401, 413),
    extra={"security": []},
)
async def shippo_callback(request: web.Request) -> CallbackReceipt:
    expected = request.app[SETTINGS].shippo_webhook_token
    given = request.query.get("token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthenticated("Wrong or missing webhook token.", zh="回调令牌错误或缺失。")
    raw = await _raw_body(request)
    return _receipt(await service.receive_shippo(request.app[MAILING], raw))


@routes.post(
    "/api/mailing/callbacks/webhook",
    summary="Signed status callback from the webhook courier (HMAC-SHA256 + timestamp)",
    audience="signed",
    response=CallbackReceipt,
    errors=(400, 401, 409, 413, 422),
    extra={"security": []},
)
async def webhook_callback(request: web.Request) -> CallbackReceipt:
    settings = request.app[SETTINGS]
    raw = await _raw_body(request)
    signature = verify(
        settings.courier_webhook_secret,
        request.headers,
        raw,
        request.app[CLOCK].now().timestamp(),
        settings.courier_webhook_max_skew_s,
    )
    return _receipt(await service.receive_signed_callback(request.app[MAILING], raw, signature))

"""A stand-in SMS gateway on loopback that checks the signature like a real one would, and the
signed delivery reports such a gateway sends back."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from zerotrip.notify.sms import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

SECRET = "gateway-shared-secret"


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[str, list[dict]]]:
    """A stand-in SMS gateway that checks our signature like a real one would."""
    received: list[dict] = []

    async def send(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            verify(
                SECRET,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                raw,
                time.time(),
            )
        except Exception:
            return web.json_response({"error": "bad signature"}, status=401)
        received.append(json.loads(raw))
        return web.json_response({"id": f"gw-{len(received)}"})

    app = web.Application()
    app.router.add_post("/send", send)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/send")), received
    finally:
        await server.close()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
        "Content-Type": "application/json",
    }

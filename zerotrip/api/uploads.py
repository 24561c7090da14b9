"""Receiving an uploaded file (evidence, a handed-in material): one way for every upload route,
so each refuses the same sizes the same way, in the caller's language, and holds one of the
caller's upload slots while the bytes stream in."""

from __future__ import annotations

from aiohttp import web

from zerotrip.api.bodies import paced_chunks
from zerotrip.api.keys import SETTINGS
from zerotrip.api.principal import Principal
from zerotrip.api.throttling import upload_slot
from zerotrip.media.receive import Received, incoming_dir, receive_stream
from zerotrip.problems import TooLarge

CHUNK = 256 * 1024


async def receive_upload(request: web.Request, principal: Principal) -> Received:
    """Stream the body to a temporary file while hashing it, refusing it past the cap (at once
    when the declared length is over it)."""
    settings = request.app[SETTINGS]
    cap = settings.evidence_max_bytes
    if request.content_length is not None and request.content_length > cap:
        raise TooLarge(
            f"The file may be at most {cap // (1024 * 1024)} MB.",
            zh=f"文件不能超过 {cap // (1024 * 1024)} MB。",
            max_bytes=cap,
        )
    assert settings.media_dir is not None
    with upload_slot(request, principal.actor.id):
        return await receive_stream(
            paced_chunks(request, CHUNK), incoming_dir(settings.media_dir), cap
        )

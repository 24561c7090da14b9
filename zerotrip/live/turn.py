"""Short-lived TURN credentials (the "TURN REST API" scheme coturn's ``use-auth-secret`` checks).

A browser that receives a long-term TURN password can relay through the office's TURN server
for ever, from anywhere. Instead the app and coturn share one secret; each page load gets a
username that embeds its own expiry and a password that is the HMAC-SHA1 of that username under
the secret. coturn recomputes the HMAC and refuses the pair once the expiry has passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from zerotrip.config import Settings


def turn_credentials(
    secret: str, ttl_s: int, who: str, now: float | None = None
) -> tuple[str, str]:
    """``(username, credential)`` valid for ``ttl_s`` seconds from ``now``."""
    expiry = int((time.time() if now is None else now) + ttl_s)
    username = f"{expiry}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def turn_ice_servers(settings: Settings, who: str = "zerotrip") -> list[dict[str, Any]]:
    """The TURN entry for an RTCPeerConnection, with fresh credentials; none when not set up."""
    if not settings.live_turn_urls or not settings.live_turn_secret:
        return []
    username, credential = turn_credentials(
        settings.live_turn_secret, settings.live_turn_ttl_s, who
    )
    return [{"urls": list(settings.live_turn_urls), "username": username, "credential": credential}]

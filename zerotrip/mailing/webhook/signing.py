"""HMAC-SHA256 signatures for the webhook courier, both ways.

``X-Zerotrip-Signature: v1=<hex HMAC_SHA256(secret, "<timestamp>." + body)>`` with
``X-Zerotrip-Timestamp: <unix seconds>``. Signing the timestamp with the body lets a receiver
refuse stale requests; the signature itself identifies a request, so a replay is recognised.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from zerotrip.problems import Unauthenticated

SIGNATURE = "X-Zerotrip-Signature"
TIMESTAMP = "X-Zerotrip-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        TIMESTAMP: str(timestamp),
        SIGNATURE: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, max_skew_s: int
) -> str:
    """Return the verified signature, or raise 401 naming what is wrong (never which byte)."""
    if not secret:
        raise Unauthenticated("Courier callbacks are not configured.")
    raw_ts, given = headers.get(TIMESTAMP, ""), headers.get(SIGNATURE, "")
    if not raw_ts or not given:
        raise Unauthenticated(f"Sign the request ({TIMESTAMP} and {SIGNATURE}).")
    if not raw_ts.isdigit() or len(raw_ts) > 12:
        raise Unauthenticated(f"{TIMESTAMP} must be Unix seconds.")
    if abs(now - int(raw_ts)) > max_skew_s:
        raise Unauthenticated("The request is stale (timestamp too far from now).")
    if not hmac.compare_digest(sign(secret, int(raw_ts), body), given):
        raise Unauthenticated("The signature does not match.")
    return given

"""HMAC-SHA256 signatures for the webhook courier, both ways.

``X-Zerotrip-Signature: v1=<hex HMAC_SHA256(secret, "<timestamp>." + body)>`` with
``X-Zerotrip-Timestamp: <unix seconds>``. Signing the timestamp with the body lets a receiver
refuse stale requests; the signature itself identifies a request, so a replay is recognised.
"""

from __future__ import annotations

from collections.abc import Mapping

from zerotrip.kit.signing import check_signature, mac_hex
from zerotrip.problems import Unauthenticated

SIGNATURE = "X-Zerotrip-Signature"
TIMESTAMP = "X-Zerotrip-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "v1=" + mac_hex(secret, timestamp, body)


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
        raise Unauthenticated("Courier callbacks are not configured.", zh="未配置快递回调。")
    raw_ts, given = headers.get(TIMESTAMP, ""), headers.get(SIGNATURE, "")
    if not raw_ts or not given:
        raise Unauthenticated(
            f"Sign the request ({TIMESTAMP} and {SIGNATURE}).",
            zh=f"请对请求签名（{TIMESTAMP} 和 {SIGNATURE}）。",
        )
    return check_signature(
        secret, raw_ts, given, body, now=now, max_skew_s=max_skew_s, prefix="v1="
    )

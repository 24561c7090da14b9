"""HMAC-SHA256 over ``"<unix timestamp>." + body``: how every webhook we send or accept is signed.

Signing the timestamp with the body lets a receiver refuse stale requests; the comparison is
constant-time. Callers choose the header names and an optional prefix (``v1=``) of their wire
format; the MAC itself is written once, here.
"""

from __future__ import annotations

import hashlib
import hmac

from zerotrip.problems import Unauthenticated


def mac_hex(secret: str, timestamp: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def check_signature(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    max_skew_s: int,
    prefix: str = "",
) -> str:
    """Return the verified signature, or raise 401 naming what is wrong (never which byte)."""
    if not timestamp or not signature:
        raise Unauthenticated(
            "The request is not signed (timestamp and signature headers).",
            zh="请求未签名（缺少时间戳和签名请求头）。",
        )
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthenticated(
            "The request's timestamp must be Unix seconds.", zh="请求的时间戳须为 Unix 秒数。"
        )
    if abs(now - int(timestamp)) > max_skew_s:
        raise Unauthenticated(
            "The request is stale (timestamp too far from now).",
            zh="请求已过期（时间戳与当前时间相差过大）。",
        )
    given = signature.strip()
    if not hmac.compare_digest(prefix + mac_hex(secret, timestamp, body), given):
        raise Unauthenticated("The signature does not match.", zh="签名不匹配。")
    return given

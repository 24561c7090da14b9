"""SMS through any gateway behind a signed webhook, and verification of its signed callbacks.

Requests and callbacks carry ``X-Zerotrip-Timestamp`` (Unix seconds) and ``X-Zerotrip-Signature``
(hex HMAC-SHA256 of ``"<timestamp>.<raw body>"`` under the shared ``sms_secret``). A callback
with no signature, a wrong one, or a timestamp more than five minutes off is refused, so nobody
can forge delivery reports.
"""

from __future__ import annotations

import json
import time

import aiohttp

from zerotrip.config import Settings
from zerotrip.kit.signing import check_signature, mac_hex
from zerotrip.notify.interfaces import OutgoingMessage, Sent
from zerotrip.outbox.errors import Permanent, RetryLater
from zerotrip.problems import Unauthenticated

TIMESTAMP_HEADER = "X-Zerotrip-Timestamp"
SIGNATURE_HEADER = "X-Zerotrip-Signature"
MAX_SKEW_S = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return mac_hex(secret, timestamp, body)


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> None:
    """Raise a 401 problem unless the body is signed with ``secret`` and recent."""
    if not secret:
        raise Unauthenticated(
            "SMS callbacks are not configured (no shared secret).",
            zh="未配置短信回调（没有共享密钥）。",
        )
    if not timestamp or not signature:
        raise Unauthenticated(
            f"Unsigned callback: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}.",
            zh=f"回调未签名：请发送 {TIMESTAMP_HEADER} 和 {SIGNATURE_HEADER}。",
        )
    check_signature(secret, timestamp, signature.lower(), body, now=now, max_skew_s=MAX_SKEW_S)


class SmsWebhookNotifier:
    channel = "sms"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: OutgoingMessage) -> Sent:
        s = self.settings
        if not message.to:
            raise Permanent("The applicant gave no phone number.")
        if not s.sms_gateway_url or not s.sms_secret:
            raise Permanent("No SMS gateway configured (sms_gateway_url, sms_secret).")
        body = json.dumps(
            {
                "to": message.to,
                "text": f"{message.subject}\n{message.text}",
                "reference": message.reference,
            },
            ensure_ascii=False,
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(s.sms_secret, stamp, body),
            "Idempotency-Key": message.reference,
        }
        timeout = aiohttp.ClientTimeout(total=s.sms_timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(s.sms_gateway_url, data=body, headers=headers) as resp,
            ):
                text = await resp.text()
                if resp.status >= 500 or resp.status == 429:
                    raise RetryLater(f"SMS gateway {resp.status}: {text[:200]}")
                if resp.status >= 400:
                    raise Permanent(
                        f"SMS gateway refused the message ({resp.status}): {text[:200]}"
                    )
                try:
                    ref = str(json.loads(text).get("id", ""))
                except (ValueError, AttributeError):
                    ref = ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"SMS gateway unreachable: {exc}") from None
        return Sent("sent", ref)

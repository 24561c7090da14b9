"""The case list's page cursor: where the previous page stopped, as an opaque signed token.

A page is "the next ``limit`` cases after (sort key, id)" in the list's order, which an index
serves directly at any depth (``OFFSET`` reads and throws away every skipped row). The token
carries the order it belongs to, the last row's sort key and id, and an HMAC under the
service's secret key, so a client can neither forge a position nor reuse one across orders.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime

from zerotrip.problems import InvalidInput

ORDERS = ("updated", "deadline")  # updated_at desc, id desc | deadline asc, id asc
_MAC_BYTES = 12


@dataclass(frozen=True)
class Cursor:
    order: str
    key: datetime | date
    id: int

    def encode(self, secret: str) -> str:
        payload = json.dumps([self.order, self.key.isoformat(), self.id], separators=(",", ":"))
        raw = payload.encode()
        mac = hmac.new(secret.encode(), b"cases:" + raw, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, secret: str, order: str) -> Cursor:
        """The cursor in ``token`` for a list in ``order``; a 4xx problem if it is not one."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, raw = blob[:_MAC_BYTES], blob[_MAC_BYTES:]
            good = hmac.new(secret.encode(), b"cases:" + raw, hashlib.sha256).digest()
            if not hmac.compare_digest(mac, good[:_MAC_BYTES]):
                raise ValueError("signature")
            kind, key, case_id = json.loads(raw)
            if kind not in ORDERS or not isinstance(case_id, int) or isinstance(case_id, bool):
                raise ValueError("shape")
            value = datetime.fromisoformat(key) if kind == "updated" else date.fromisoformat(key)
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                "The page cursor is not one this list gave out; start again from the first page.",
                zh="翻页标记无效，请从第一页重新开始。",
            ) from exc
        if kind != order:
            raise InvalidInput(
                "The page cursor belongs to a list in another order; start again from the first "
                "page.",
                zh="翻页标记与当前排序不符，请从第一页重新开始。",
            )
        return cls(kind, value, case_id)

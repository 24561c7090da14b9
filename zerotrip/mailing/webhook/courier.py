"""The webhook courier: any courier system with its own API (e.g. a postal platform).

Each order is pushed as signed JSON to ``{courier_webhook_url}/orders``; our order reference
is the courier's idempotency key (as a postal "client order number" is), so pushing the same
order again returns the same waybill, and an answer lost on the way is reconciled by asking
again. Cancels go to ``/orders/{reference}/cancel``; tracking is read from
``/orders/{reference}``. Status callbacks come back signed the same way (see
:mod:`zerotrip.mailing.webhook.callbacks`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

import aiohttp

from zerotrip.config import Settings
from zerotrip.mailing.interfaces import (
    Booking,
    Configuration,
    CourierError,
    CourierRefused,
    CourierUnavailable,
    OrderRequest,
    OutcomeUnknown,
    RemoteIds,
    TrackingUpdate,
)
from zerotrip.mailing.statuses import OrderStatus
from zerotrip.mailing.webhook.callbacks import parse_events
from zerotrip.mailing.webhook.signing import signed_headers

NAME = "webhook"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class WebhookCourier:
    name = NAME
    idempotent = True  # the reference is the courier's idempotency key

    def __init__(self, url: str, secret: str, timeout_s: float, clock_now: Any = None) -> None:
        if not secret:
            raise Configuration("courier_webhook_secret is not set")
        self.url = url.rstrip("/")
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._now = clock_now

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookCourier:
        return cls(
            settings.courier_webhook_url,
            settings.courier_webhook_secret,
            settings.courier_webhook_timeout_s,
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    def _timestamp(self) -> int:
        return int(self._now().timestamp() if self._now else time.time())

    async def _send(
        self, method: str, path: str, payload: dict[str, Any] | None, *, acted: bool
    ) -> tuple[int, Any]:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = signed_headers(self.secret, self._timestamp(), body)
        try:
            async with self._client().request(
                method, self.url + path, data=body or None, headers=headers
            ) as resp:
                text = await resp.text()
                status = resp.status
        except aiohttp.ClientConnectorError as exc:
            raise CourierUnavailable(f"courier unreachable: {exc}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = f"courier {type(exc).__name__}: {exc}"
            raise (OutcomeUnknown(error) if acted else CourierUnavailable(error)) from exc
        if status in (401, 403):
            raise Configuration(f"the courier refused our signature ({status})")
        if status == 429:
            raise CourierUnavailable("courier rate limit", retry_after=_seconds(resp.headers))
        if status >= 500:
            raise (
                OutcomeUnknown(f"courier {status}")
                if acted
                else CourierUnavailable(f"courier {status}")
            )
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            error = f"courier answered {status} with unreadable JSON"
            if status < 400:
                raise (OutcomeUnknown(error) if acted else CourierUnavailable(error)) from exc
            data = {}
        return status, data

    async def book(self, request: OrderRequest, remote_ids: RemoteIds) -> Booking:
        payload = {
            "reference": request.reference,
            "kind": request.kind.value,
            "case_reference": request.case_reference,
            "sender": asdict(request.sender),
            "recipient": asdict(request.recipient),
            "parcel": asdict(request.parcel),
            "window_start": _when(request.window_start),
            "window_end": _when(request.window_end),
        }
        await remote_ids.sending()
        status, data = await self._send("POST", "/orders", payload, acted=True)
        if status >= 400:
            raise CourierRefused(f"the courier refused the order ({status}): {str(data)[:300]}")
        return await self._booking(data, remote_ids)

    async def _booking(self, data: Any, remote_ids: RemoteIds) -> Booking:
        waybill = data.get("waybill") if isinstance(data, dict) else None
        if not isinstance(waybill, str) or not waybill:
            raise OutcomeUnknown("the courier's answer has no waybill")
        await remote_ids.save(waybill=waybill, remote_id=str(data.get("id") or waybill))
        scheduled = data.get("status") == OrderStatus.pickup_scheduled.value
        return Booking(
            remote_id=str(data.get("id") or waybill),
            waybill=waybill,
            status=OrderStatus.pickup_scheduled if scheduled else OrderStatus.booked,
            label_url=data.get("label_url") if isinstance(data.get("label_url"), str) else None,
        )

    async def find(self, request: OrderRequest, remote_ids: RemoteIds) -> Booking | None:
        status, data = await self._send("GET", f"/orders/{request.reference}", None, acted=False)
        if status == 404:
            return None
        if status >= 400:
            raise CourierUnavailable(f"courier {status}")
        return await self._booking(data, remote_ids)

    async def cancel(self, request: OrderRequest, remote_ids: RemoteIds) -> None:
        status, data = await self._send(
            "POST", f"/orders/{request.reference}/cancel", {}, acted=True
        )
        if status == 404:
            return  # the courier never had it: nothing to call off
        if status >= 400:
            raise CourierRefused(f"the courier refused to cancel ({status}): {str(data)[:300]}")

    async def track(self, request: OrderRequest, remote_ids: RemoteIds) -> list[TrackingUpdate]:
        status, data = await self._send("GET", f"/orders/{request.reference}", None, acted=False)
        if status == 404:
            return []
        if status >= 400:
            raise CourierError(f"courier {status}")
        return parse_events(json.dumps(data))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _seconds(headers: Any) -> float | None:
    raw = headers.get("Retry-After")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None

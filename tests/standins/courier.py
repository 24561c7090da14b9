"""A stand-in courier system (think: a postal platform) for the webhook courier.

It checks our signature on every request, books each order reference once (the reference is
its idempotency key), and can fail on demand: 500 / 429 / reset before acting, or act and then
lose the answer. Each order it creates queues a status callback in :attr:`callbacks` (a test
delivers them when it likes: early, late, twice, out of order), and ``before_answer(reference)``
runs before it answers a booking, so that order's news can overtake the answer. :meth:`push`
sends signed status callbacks to our service over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from tests.standins.serving import serve
from zerotrip.mailing.webhook.signing import SIGNATURE, TIMESTAMP, signed_headers, verify


class CourierStandIn:
    def __init__(self, secret: str, *, hang_s: float = 1.0) -> None:
        self.secret = secret
        self.hang_s = hang_s
        self.orders: dict[str, dict[str, Any]] = {}
        self.created: Counter[str] = Counter()  # reference -> orders created (must be <= 1)
        self.cancelled: Counter[str] = Counter()
        self.rejected_signatures = 0
        self.faults: Callable[[str], str | None] = lambda op: None
        self.callbacks: list[dict[str, Any]] = []  # events not yet delivered to us
        self.before_answer: Callable[[str], Awaitable[None]] | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/orders", self.create)
        app.router.add_post("/orders/{ref}/cancel", self.cancel)
        app.router.add_get("/orders/{ref}", self.read)
        self.runner, self.url = await serve(app)
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def random_faults(self, rate: float, rng: random.Random) -> None:
        kinds = ["500", "429", "reset", "lost", "timeout"]
        self.faults = lambda op: rng.choice(kinds) if rng.random() < rate else None

    async def _checked(self, request: web.Request) -> bytes:
        body = await request.read()
        try:
            verify(self.secret, request.headers, body, time.time(), 300)
        except Exception:
            self.rejected_signatures += 1
            raise web.HTTPUnauthorized() from None
        return body

    def _reset(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)

    async def _fault(
        self, request: web.Request, op: str
    ) -> tuple[str | None, web.StreamResponse | None]:
        fault = self.faults(op)
        if fault == "500":
            return fault, web.json_response({"error": "internal"}, status=500)
        if fault == "429":
            return fault, web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "0"}
            )
        if fault == "reset":
            return fault, self._reset(request)
        return fault, None

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = await self._checked(request)
        fault, early = await self._fault(request, "create")
        if early is not None:
            return early
        order = json.loads(body)
        ref = order["reference"]
        if not order["recipient"].get("street1"):
            return web.json_response({"error": "no street"}, status=422)
        if ref not in self.orders:
            self.created[ref] += 1
            self.orders[ref] = {
                "reference": ref,
                "id": f"EMS-{len(self.orders) + 1:06d}",
                "waybill": f"EA{len(self.orders) + 1:09d}CN",
                "status": "pickup_scheduled" if order.get("window_start") else "booked",
                "events": [],
            }
            self.callbacks.extend(self.deliver(ref, [self.orders[ref]["status"]]))
        answer = {k: v for k, v in self.orders[ref].items() if k != "events"}
        if self.before_answer is not None:
            await self.before_answer(ref)
        if fault == "lost":
            return self._reset(request)
        if fault == "timeout":
            await asyncio.sleep(self.hang_s)
        return web.json_response(answer, status=201)

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        await self._checked(request)
        _, early = await self._fault(request, "cancel")
        if early is not None:
            return early
        ref = request.match_info["ref"]
        if ref not in self.orders:
            return web.json_response({"error": "unknown"}, status=404)
        self.cancelled[ref] += 1
        self.orders[ref]["status"] = "cancelled"
        return web.json_response({"ok": True})

    async def read(self, request: web.Request) -> web.StreamResponse:
        await self._checked(request)
        _, early = await self._fault(request, "read")
        if early is not None:
            return early
        order = self.orders.get(request.match_info["ref"])
        if order is None:
            return web.json_response({"error": "unknown"}, status=404)
        answer = {k: v for k, v in order.items() if k != "events"}
        return web.json_response({**answer, "events": order["events"]})

    def deliver(
        self, ref: str, steps: list[str], start: str = "2026-11-22T08:00:00+00:00"
    ) -> list[dict[str, Any]]:
        """Record scans for an order (readable by GET, and returned for pushing)."""
        order = self.orders[ref]
        hour = int(start[11:13])
        events = [
            {
                "event_id": f"{order['waybill']}-{len(order['events']) + i}",
                "reference": ref,
                "waybill": order["waybill"],
                "status": status,
                "occurred_at": f"{start[:11]}{hour + i:02d}{start[13:]}",
                "description": status.replace("_", " "),
            }
            for i, status in enumerate(steps)
        ]
        order["events"].extend(events)
        return events

    async def push(
        self,
        url: str,
        events: list[dict[str, Any]],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"events": events}).encode()
        headers = signed_headers(secret or self.secret, timestamp or int(time.time()), body)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as resp,
        ):
            return resp.status, await resp.json(content_type=None)


__all__ = ["SIGNATURE", "TIMESTAMP", "CourierStandIn"]

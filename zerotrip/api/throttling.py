"""Throttling at the HTTP edge: who the client is, the configured limits, and a cap on
concurrent uploads.

The counting itself lives in :mod:`zerotrip.accounts.throttle` (in the database, shared by every
process). Concurrent uploads are different: a slot is held only while a body streams in, so it
is counted in the process that holds the connection, on the object the application owns.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from aiohttp import web
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts import events, throttle
from zerotrip.accounts.throttle import Limit, Limits
from zerotrip.api.keys import CLOCK, DB
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.problems import RateLimited


class UploadSlots:
    """At most ``per_credential`` uploads at once through one link or account, ``per_address``
    from one client address; the next one is refused with a 429 rather than queued."""

    def __init__(self, per_credential: int, per_address: int) -> None:
        self.per_credential = per_credential
        self.per_address = per_address
        self._credentials: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()

    @contextmanager
    def claim(self, credential: str, address: str) -> Iterator[None]:
        if self._credentials[credential] >= self.per_credential:
            raise RateLimited(
                f"At most {self.per_credential} uploads at a time through one link or account; "
                "wait for one to finish.",
                zh=f"同一链接或账号最多同时上传 {self.per_credential} 个文件，请等待上传完成。",
                retry_after_s=5,
                limit="uploads_per_link",
            )
        if self._addresses[address] >= self.per_address:
            raise RateLimited(
                f"At most {self.per_address} uploads at a time from one address.",
                zh=f"同一网络地址最多同时上传 {self.per_address} 个文件，请稍后再试。",
                retry_after_s=5,
                limit="uploads_per_ip",
            )
        self._credentials[credential] += 1
        self._addresses[address] += 1
        try:
            yield
        finally:
            for counter, key in ((self._credentials, credential), (self._addresses, address)):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def in_use(self) -> int:
        return sum(self._addresses.values())


class Throttle:
    """What the application enforces against floods: the limits and the upload slots."""

    def __init__(self, settings: Settings) -> None:
        self.limits = Limits.from_settings(settings)
        self.uploads = UploadSlots(settings.uploads_per_link, settings.uploads_per_ip)
        self.trusted_proxies = frozenset(settings.trusted_proxies)

    def client_address(self, request: web.Request) -> str:
        """The caller's address: the peer, or the last hop a trusted proxy says it forwarded."""
        peer = request.remote or ""
        if peer in self.trusted_proxies:
            forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
            try:
                return str(ipaddress.ip_address(forwarded))
            except ValueError:
                return peer
        return peer


THROTTLE = web.AppKey("throttle", Throttle)


async def count_attempt(
    db: Database, limit: Limit, subject: str, now: datetime, *, client: str = ""
) -> None:
    """Count one attempt against ``limit``; a 429 when over it (a new lockout is audited)."""

    async def attempt(session: AsyncSession) -> throttle.Hit:
        hit = await throttle.hit(session, limit, subject, now)
        if hit.lockout is not None:
            events.record_lockout(session, hit.lockout, client or subject, now)
        return hit

    hit = await db.run_in_transaction(attempt)
    if hit.wait_s:
        raise throttle.refusal(limit.scope, hit.wait_s)


async def refuse_if_locked(db: Database, limit: Limit, subject: str, now: datetime) -> None:
    async with db.session() as session:
        wait = await throttle.locked_for(session, limit, subject, now)
    if wait:
        raise throttle.refusal(limit.scope, wait)


async def limit_applications(request: web.Request) -> None:
    """Count a new application from the caller's address; 429 once there were too many."""
    throttle_ = request.app[THROTTLE]
    client = throttle_.client_address(request)
    now = request.app[CLOCK].now()
    await count_attempt(request.app[DB], throttle_.limits.apply_ip, client, now)


def upload_slot(request: web.Request, credential: str) -> AbstractContextManager[None]:
    """Hold one of the caller's concurrent-upload slots while its body streams in (429 if
    none is free); ``credential`` names the link or account the upload comes through."""
    throttle_ = request.app[THROTTLE]
    return throttle_.uploads.claim(credential, throttle_.client_address(request))

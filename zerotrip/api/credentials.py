"""Recently resolved credentials, so a busy client does not cost a database read per request.

A staff token, session cookie or applicant link resolves to the same principal on every request;
the cache keeps the answer for ``Settings.credential_cache_seconds`` (keyed by the token's
SHA-256, never the token). An entry's own expiry is checked on every use against the service's
clock, and every revocation made through the API clears the cache at once, so only a change made
outside the API (a user deactivated directly in the database, another process) can take up to
that many seconds to be noticed. Failed lookups are never cached.

When an entry runs out while fifty clients use the token, the fifty requests that miss at once
share ONE lookup (:meth:`CredentialCache.shared`) instead of each reading the database (which made
a latency spike every few seconds under load).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 10_000


class CredentialCache:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Any, datetime | None]] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}

    def get(self, digest: str, now: datetime) -> Any | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        stored_at, principal, expires_at = entry
        if time.monotonic() - stored_at > self.ttl or (
            expires_at is not None and expires_at <= now
        ):
            del self._entries[digest]
            return None
        return principal

    def put(self, digest: str, principal: Any, expires_at: datetime | None) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[digest] = (time.monotonic(), principal, expires_at)

    def clear(self) -> None:
        """Forget everything: called whenever a credential is revoked."""
        self._entries.clear()

    async def shared(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """``await load()``, or the result of the same lookup already under way for ``key``.
        Only a success is shared: when that lookup fails, each waiter looks up for itself (so
        every wrong guess is still counted against its client)."""
        pending = self._pending.get(key)
        if pending is not None and pending.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([pending])
            if not pending.cancelled() and pending.exception() is None:
                return pending.result()  # type: ignore[no-any-return]
            return await load()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            result = await load()
        except BaseException:
            future.cancel()
            raise
        else:
            future.set_result(result)
            return result
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]

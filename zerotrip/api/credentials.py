"""Recently resolved credentials, so a busy client does not cost a database read per request.

A staff token, session cookie or applicant link resolves to the same principal on every request;
the cache keeps the answer for ``Settings.credential_cache_seconds`` (keyed by the token's
SHA-256, never the token). An entry's own expiry is checked on every use against the service's
clock, and every revocation made through the API clears the cache at once, so only a change made
outside the API (a user deactivated directly in the database, another process) can take up to
that many seconds to be noticed. Failed lookups are never cached.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

MAX_ENTRIES = 10_000


class CredentialCache:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[float, Any, datetime | None]] = {}

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

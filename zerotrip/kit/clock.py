"""The service's notion of now and of today's date in the office's time zone.

One object, built by the composition root and handed to whatever needs the time, so tests (and
a demo simulator) move time forward without patching modules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Aware UTC; stored with microseconds by both SQLite and PostgreSQL, read back in UTC.

    The wall clock for code that is handed no :class:`Clock` (pure helpers, models' defaults);
    a service that has one asks it instead.
    """
    return datetime.now(UTC)


def as_utc(at: datetime) -> datetime:
    """SQLite hands stored datetimes back naive (they were stored in UTC); PostgreSQL aware."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class Clock:
    def __init__(self, timezone: str = "UTC") -> None:
        self.zone = ZoneInfo(timezone)
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

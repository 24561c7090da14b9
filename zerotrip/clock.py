"""The service's notion of now and of today's date in the office's time zone.

One object so tests (and a demo simulator) can move time forward without patching modules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, timezone: str = "UTC") -> None:
        self.zone = ZoneInfo(timezone)
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

"""How the office setup wires itself into a service: the working calendar every part of the
process counts with is loaded from the database when the service starts and every minute, so a
change saved through another process reaches this one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from zerotrip.admin import calendar

if TYPE_CHECKING:
    from zerotrip.services import Services

log = logging.getLogger("zerotrip.admin")
REFRESH_S = 60.0


def setup(services: Services) -> None:
    async def keep_calendar(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await calendar.refresh(services.db, services.settings, services.calendar)
            except Exception:
                log.exception("reloading the working calendar failed; keeping the last one")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REFRESH_S)

    services.add_background("calendar", keep_calendar)

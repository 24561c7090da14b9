"""What the mailing domain needs at run time, built once per application."""

from __future__ import annotations

from dataclasses import dataclass, field

from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.clock import Clock
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.mailing.interfaces import Courier
from zerotrip.problems import InvalidInput


@dataclass
class Mailing:
    db: Database
    settings: Settings
    clock: Clock
    catalogue: Catalogue
    calendar: WorkingCalendar
    couriers: dict[str, Courier] = field(default_factory=dict)

    def courier(self, name: str) -> Courier:
        found = self.couriers.get(name)
        if found is None:
            raise InvalidInput(f"No courier {name!r} is configured.", known=sorted(self.couriers))
        return found

    async def close(self) -> None:
        for courier in self.couriers.values():
            await courier.close()

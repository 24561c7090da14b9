"""What the mailing domain needs at run time, built once per service by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.lifecycle import Lifecycle
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.group_commit import GroupCommit
from zerotrip.kit.clock import Clock
from zerotrip.kit.reactions import Reactions
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
    # What other domains do when a case step is taken from here (a parcel arrived) or an order
    # is booked; the composition root passes the service's own.
    reactions: Reactions = field(default_factory=Reactions)
    # The outbox handlers' short writes (ids before a purchase, the booking after it), many
    # handlers' in one transaction.
    writes: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.writes = GroupCommit(self.db)

    @property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.catalogue, self.calendar, self.clock, self.reactions)

    def courier(self, name: str) -> Courier:
        found = self.couriers.get(name)
        if found is None:
            raise InvalidInput(
                f"No courier {name!r} is configured.",
                zh=f"未配置快递 {name}。",
                known=sorted(self.couriers),
            )
        return found

    async def close(self) -> None:
        for courier in self.couriers.values():
            await courier.close()

"""What happens to a courier order that other domains react to (notifications, for now).

Emitted inside the transaction that records it, through the process's
:class:`~zerotrip.kit.reactions.Reactions`; the mailing domain does not know who listens.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.models import Case
from zerotrip.mailing.models import CourierOrder


@dataclass(frozen=True)
class PickupBooked:
    """A courier is booked to collect the paper materials, with a window or a waybill."""

    session: AsyncSession
    case: Case
    order: CourierOrder

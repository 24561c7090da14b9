"""What happens to a live session that other domains react to (notifications, for now).

Emitted inside the transaction that records it, through the process's
:class:`~zerotrip.kit.reactions.Reactions`; the live domain does not know who listens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.models import Case
from zerotrip.live.models import LiveSession


@dataclass(frozen=True)
class InspectionBooked:
    session: AsyncSession
    case: Case
    live: LiveSession
    now: datetime


@dataclass(frozen=True)
class InspectionEnded:
    """Ended or cancelled: what was announced for it may no longer hold."""

    session: AsyncSession
    live: LiveSession

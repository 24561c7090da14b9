"""The facts behind the applicant's "下一步" list, read from the domains that hold them.

``cases.next_steps`` decides the list from the case file and these facts; this module only
reads them (one read transaction, a fixed number of queries). It sits in ``notify`` because
notify is the domain above mailing, live and ratings that speaks to the applicant, and the
due-date reminders it sends are about the same tasks.
"""

from __future__ import annotations

from sqlmodel import col, select

from zerotrip.cases.models import CaseState, HandInState, MaterialHandIn
from zerotrip.cases.next_steps import JourneyFacts, NextSteps, next_steps
from zerotrip.cases.schemas import CaseFile
from zerotrip.cases.service import case_file
from zerotrip.cases.store import get_case
from zerotrip.db import Database
from zerotrip.live.models import FINISHED, LiveSession
from zerotrip.mailing.models import CourierOrder, DeliveryPreference
from zerotrip.mailing.statuses import OPEN, OrderStatus
from zerotrip.media.models import Evidence
from zerotrip.ratings.service import rateable_steps

PENDING_HAND_IN = (HandInState.submitted, HandInState.mail)


async def applicant_journey(db: Database, case_id: int) -> tuple[CaseFile, NextSteps]:
    """The case file and the applicant's next steps, read together."""
    async with db.session() as session:
        found = await case_file(session, await get_case(session, case_id))
        pickup = await session.exec(
            select(CourierOrder.id).where(
                CourierOrder.case_id == case_id,
                CourierOrder.kind == "pickup",
                CourierOrder.status == OrderStatus.awaiting_choice,
            )
        )
        live = await session.exec(
            select(LiveSession)
            .where(
                LiveSession.case_id == case_id,
                col(LiveSession.state).not_in([s.value for s in FINISHED]),
            )
            .order_by(col(LiveSession.slot_start))
            .limit(1)
        )
        session_row = live.first()
        shot = await session.exec(
            select(Evidence.checkpoint_id)
            .where(Evidence.case_id == case_id, col(Evidence.checkpoint_id).is_not(None))
            .distinct()
        )
        handed = await session.exec(
            select(MaterialHandIn.material_code).where(
                MaterialHandIn.case_id == case_id,
                col(MaterialHandIn.state).in_([s.value for s in PENDING_HAND_IN]),
            )
        )
        moving = await session.exec(
            select(CourierOrder.id)
            .where(
                CourierOrder.case_id == case_id,
                col(CourierOrder.status).in_([s.value for s in OPEN]),
            )
            .limit(1)
        )
        preference = await session.get(DeliveryPreference, case_id)
        rateable = (
            await rateable_steps(session, case_id)
            if found.case.state != CaseState.withdrawn
            else []
        )
        facts = JourneyFacts(
            pickup_order_id=pickup.first(),
            live_session_id=session_row.id if session_row else None,
            live_session_at=session_row.slot_start if session_row else None,
            photographed=frozenset(c for c in shot.all() if c is not None),
            rateable=tuple(rateable),
            handed_in=frozenset(handed.all()),
            delivery_by_courier=preference is None or preference.method == "courier",
            orders_in_progress=moving.first() is not None,
        )
    return found, next_steps(found, facts)

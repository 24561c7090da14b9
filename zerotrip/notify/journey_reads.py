"""The applicant's case view in one hop: the case file and the facts behind its "下一步" list.

:func:`zerotrip.notify.journey.applicant_journey` reads the same rows through ORM sessions (12
statements, one object per row); here they are compiled statements run together by
:mod:`zerotrip.reads` (one hand-off on SQLite, one statement on PostgreSQL), and
:func:`~zerotrip.cases.next_steps.next_steps` decides the list from them as before. The tests
compare both on the same cases.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zerotrip.cases.models import AuditEvent, CaseState, MaterialHandIn
from zerotrip.cases.next_steps import JourneyFacts, NextSteps, next_steps
from zerotrip.cases.reads import CASE, CHECKPOINTS, MATERIALS
from zerotrip.cases.schemas import CaseFile
from zerotrip.db import Database
from zerotrip.live.models import FINISHED, LiveSession
from zerotrip.mailing.models import CourierOrder, DeliveryPreference
from zerotrip.mailing.statuses import OPEN, OrderStatus
from zerotrip.media.models import Evidence
from zerotrip.notify.journey import PENDING_HAND_IN
from zerotrip.problems import NotFound
from zerotrip.ratings.models import STEP_EVENT, RatedStep, Rating

_orders = CourierOrder.__table__.c  # type: ignore[attr-defined]
_live = LiveSession.__table__.c  # type: ignore[attr-defined]
_evidence = Evidence.__table__.c  # type: ignore[attr-defined]
_hand_ins = MaterialHandIn.__table__.c  # type: ignore[attr-defined]
_preferences = DeliveryPreference.__table__.c  # type: ignore[attr-defined]
_events = AuditEvent.__table__.c  # type: ignore[attr-defined]
_ratings = Rating.__table__.c  # type: ignore[attr-defined]
_ID = sa.bindparam("case_id")


def _any_of(column: Any, name: str, values: list[str]) -> Any:
    # fixed values as named parameters (the compiled statements take no expanding IN lists)
    return sa.or_(*(column == sa.bindparam(f"{name}_{i}", v) for i, v in enumerate(values)))


PICKUP = (
    sa.select(_orders.id)
    .where(
        _orders.case_id == _ID,
        _orders.kind == sa.bindparam("pickup", "pickup"),
        _orders.status == sa.bindparam("awaiting", OrderStatus.awaiting_choice.value),
    )
    .order_by(_orders.id)
    .limit(1)
)
LIVE = (
    sa.select(_live.id, _live.slot_start)
    .where(
        _live.case_id == _ID,
        sa.not_(_any_of(_live.state, "finished", sorted(s.value for s in FINISHED))),
    )
    .order_by(_live.slot_start, _live.id)
    .limit(1)
)
SHOT = (
    sa.select(_evidence.checkpoint_id)
    .where(_evidence.case_id == _ID, _evidence.checkpoint_id.is_not(None))
    .distinct()
)
HANDED = sa.select(_hand_ins.material_code).where(
    _hand_ins.case_id == _ID,
    _any_of(_hand_ins.state, "pending", [s.value for s in PENDING_HAND_IN]),
)
MOVING = (
    sa.select(_orders.id)
    .where(_orders.case_id == _ID, _any_of(_orders.status, "open", sorted(s.value for s in OPEN)))
    .limit(1)
)
PREFERENCE = sa.select(_preferences.method).where(_preferences.case_id == _ID)
HAPPENED = (
    sa.select(_events.kind)
    .where(_events.case_id == _ID, _any_of(_events.kind, "step", sorted(STEP_EVENT.values())))
    .distinct()
)
RATED = sa.select(_ratings.step).where(_ratings.case_id == _ID)
VIEW = (
    CASE,
    MATERIALS,
    CHECKPOINTS,
    PICKUP,
    LIVE,
    SHOT,
    HANDED,
    MOVING,
    PREFERENCE,
    HAPPENED,
    RATED,
)


async def applicant_view(db: Database, case_id: int) -> tuple[CaseFile, NextSteps]:
    """As :func:`~zerotrip.notify.journey.applicant_journey`, in one hop."""
    params = {"case_id": case_id}
    rows = await db.reads.fetch(*((stmt, params) for stmt in VIEW))
    cases, materials, checkpoints, pickup, live, shot, handed, moving, pref, happened, rated = rows
    if not cases:
        raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
    found = CaseFile(cases[0], materials, checkpoints)
    rateable: list[str] = []
    if found.case.state != CaseState.withdrawn:
        kinds = {v: k for k, v in STEP_EVENT.items()}
        done = {kinds[r.kind] for r in happened}
        taken = {r.step for r in rated}
        rateable = [s.value for s in RatedStep if s in done and s.value not in taken]
    facts = JourneyFacts(
        pickup_order_id=pickup[0].id if pickup else None,
        live_session_id=live[0].id if live else None,
        live_session_at=live[0].slot_start if live else None,
        photographed=frozenset(r.checkpoint_id for r in shot),
        rateable=tuple(rateable),
        handed_in=frozenset(r.material_code for r in handed),
        delivery_by_courier=not pref or pref[0].method == "courier",
        orders_in_progress=bool(moving),
    )
    return found, next_steps(found, facts)

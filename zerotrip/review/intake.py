"""Evidence entering a case: which checklist item it is for, whether the case takes evidence
now, the capture nonce the camera is opened with, and what the case's evidence list shows."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import CaseState, Checkpoint
from zerotrip.cases.store import get_case, lock_case
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.live import booking
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.media.nonce import IssuedNonce, find_nonce, issue_nonce
from zerotrip.problems import Conflict, NotFound

# The applicant adds evidence while the office waits for it; staff may add it at any time.
UPLOAD_STATES = frozenset(
    {
        CaseState.submitted,
        CaseState.returned,
        CaseState.accepted,
        CaseState.inspecting,
        CaseState.rectifying,
    }
)


async def upload_target(
    db: Database, case_id: int, checkpoint_id: int, *, staff: bool
) -> Checkpoint:
    """The checklist item evidence is added to, if the case takes evidence from this caller."""
    async with db.session() as session:
        case = await get_case(session, case_id)
        checkpoint = await session.get(Checkpoint, checkpoint_id)
    if checkpoint is None or checkpoint.case_id != case_id:
        raise NotFound(f"Case {case_id} has no checklist item {checkpoint_id}.")
    if checkpoint.restricted and not staff:  # identity: taken by staff, not shown
        raise NotFound(f"Case {case_id} has no checklist item {checkpoint_id}.")
    if not staff and case.state not in UPLOAD_STATES:
        raise Conflict(f"Evidence cannot be added while the case is {case.state}.")
    return checkpoint


async def open_camera(
    db: Database, checkpoint: Checkpoint, *, actor: Actor, now: datetime, minutes: int
) -> IssuedNonce:
    """Issue a single-use capture nonce for the checklist item, audited on the case."""
    assert checkpoint.id is not None

    async def work(session: AsyncSession) -> IssuedNonce:
        case = await lock_case(session, checkpoint.case_id)
        issued = issue_nonce(session, checkpoint.case_id, checkpoint.id or 0, now, minutes)
        await session.flush()
        append_event(
            session,
            case,
            actor,
            "evidence.nonce_issued",
            {"checkpoint": checkpoint.id, "nonce": issued.record.id},
        )
        return issued

    return await db.run_in_transaction(work)


async def check_claims(
    db: Database, checkpoint: Checkpoint, *, nonce: str | None, live_session: int | None
) -> None:
    """Refuse a wrong nonce or a foreign live session before the body is read at all."""
    async with db.session() as session:
        if nonce:
            await find_nonce(session, nonce, checkpoint.case_id, checkpoint.id or 0)
        if live_session is not None:
            await booking.load(session, live_session, checkpoint.case_id)


async def trust_verdicts(db: Database, ids: list[int]) -> dict[int, list[TrustVerdict]]:
    """Every trust verdict of the given evidence, by evidence id, in one query."""
    found: dict[int, list[TrustVerdict]] = {i: [] for i in ids}
    if not ids:
        return found
    async with db.session() as session:
        rows = await session.exec(
            select(TrustVerdict).where(col(TrustVerdict.evidence_id).in_(ids))
        )
        for v in rows.all():
            found[v.evidence_id].append(v)
    return found


async def case_evidence_list(db: Database, case_id: int, *, see_restricted: bool) -> list[Evidence]:
    async with db.session() as session:
        await get_case(session, case_id)
        stmt = select(Evidence).where(Evidence.case_id == case_id)
        if not see_restricted:
            stmt = stmt.where(col(Evidence.restricted).is_(False))
        return list((await session.exec(stmt.order_by(col(Evidence.id)))).all())

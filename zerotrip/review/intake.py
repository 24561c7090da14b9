"""Evidence entering a case: which checklist item it is for, whether the case takes evidence
now, whether a live photo's session is live, and what the case's evidence list shows."""

from __future__ import annotations

from sqlmodel import col, select

from zerotrip.cases.models import CaseState, Checkpoint, state_name
from zerotrip.cases.store import get_case
from zerotrip.db import Database
from zerotrip.live import booking
from zerotrip.live.models import LiveState
from zerotrip.media.models import Evidence, TrustVerdict
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
        raise NotFound(
            f"Case {case_id} has no checklist item {checkpoint_id}.",
            zh=f"办件 {case_id} 没有编号为 {checkpoint_id} 的踏勘要点。",
        )
    if checkpoint.restricted and not staff:  # identity: taken by staff, not shown
        raise NotFound(
            f"Case {case_id} has no checklist item {checkpoint_id}.",
            zh=f"办件 {case_id} 没有编号为 {checkpoint_id} 的踏勘要点。",
        )
    if not staff and case.state not in UPLOAD_STATES:
        raise Conflict(
            f"Evidence cannot be added while the case is {case.state}.",
            zh=f"办件当前为“{state_name(case.state)}”，不能添加证据。",
        )
    return checkpoint


async def require_live_session(db: Database, checkpoint: Checkpoint, live_id: int) -> None:
    """Before the body is read: a live photo is taken only while its session (of this case) is
    live, both sides connected. The nonce itself is claimed once, by intake, after hashing."""
    async with db.session() as session:
        live = await booking.load(session, live_id, checkpoint.case_id)
    if live.state != LiveState.live:
        raise Conflict(
            "The live session is not running with the applicant connected.",
            zh="视频踏勘未在进行，或申请人未连线。",
            code="live_session_not_live",
        )


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


async def case_evidence_list(
    db: Database, case_id: int, *, see_restricted: bool, with_verdicts: bool
) -> list[tuple[Evidence, list[TrustVerdict]]]:
    """The case's evidence, oldest first, each with its trust verdicts (staff) or none."""
    async with db.session() as session:
        await get_case(session, case_id)
        stmt = select(Evidence).where(Evidence.case_id == case_id)
        if not see_restricted:
            stmt = stmt.where(col(Evidence.restricted).is_(False))
        rows = list((await session.exec(stmt.order_by(col(Evidence.id)))).all())
    verdicts = await trust_verdicts(db, [e.id or 0 for e in rows]) if with_verdicts else {}
    return [(e, verdicts.get(e.id or 0, [])) for e in rows]

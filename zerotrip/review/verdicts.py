"""Checkpoint verdicts, the overall result they imply, and rectification rounds.

An inspector judges each checkpoint pass / fail / rectify with a comment and the evidence the
judgement rests on. The overall result is the worst verdict (fail > rectify > pass); the
lifecycle's ``record_inspection`` refuses any other
(:func:`zerotrip.cases.lifecycle.inspection_outcome`). A ``rectify`` result opens a new round for
the checkpoints that did not pass (the lifecycle raises their round and clears their verdict),
so the applicant re-submits evidence for exactly those
(:func:`zerotrip.cases.lifecycle.evidence_round`, applied by the ingest pipeline) and the
inspector judges them again with old and new side by side. Every verdict is kept
(``VerdictRecord``) and written to the audit chain.

Evidence whose latest trust verdict is not ``consistent`` (a photo taken 5 km away, an edited
file) is relied on only by an explicit override: a written reason per such item, stored with the
verdict, written to the chain and printed in the signed report next to that evidence.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.inspection_rules import evidence_round
from zerotrip.cases.models import CaseState, Checkpoint, state_name
from zerotrip.cases.store import lock_case
from zerotrip.db import session_now
from zerotrip.kit.actor import Actor
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.problems import IllegalTransition, InvalidInput, NotFound
from zerotrip.review.models import VerdictRecord


class OverrideInput(BaseModel):
    """Why the inspector relies on one item of evidence the trust checks did not find consistent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    evidence_id: int
    reason: str = Field(min_length=4, max_length=2000)


class VerdictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["pass", "fail", "rectify"]
    comment: str = Field(default="", max_length=4000)
    evidence_ids: list[int] = Field(default_factory=list, max_length=100)
    overrides: list[OverrideInput] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _reason_for_failure(self) -> VerdictInput:
        if self.verdict != "pass" and not self.comment:
            raise ValueError("a fail or rectify verdict needs a comment saying what is wrong")
        if len(set(self.evidence_ids)) != len(self.evidence_ids):
            raise ValueError("evidence_ids lists an item twice")
        named = [o.evidence_id for o in self.overrides]
        if len(set(named)) != len(named) or not set(named) <= set(self.evidence_ids):
            raise ValueError("each override names, once, an item of evidence_ids")
        return self


async def checkpoint_of_case(session: AsyncSession, case_id: int, checkpoint_id: int) -> Checkpoint:
    cp = await session.get(Checkpoint, checkpoint_id)
    if cp is None or cp.case_id != case_id:
        raise NotFound(
            f"Case {case_id} has no checkpoint {checkpoint_id}.",
            zh=f"办件 {case_id} 没有编号为 {checkpoint_id} 的踏勘要点。",
        )
    return cp


async def give_verdict(
    session: AsyncSession,
    case_id: int,
    checkpoint_id: int,
    body: VerdictInput,
    *,
    actor: Actor,
    staff_id: int | None,
) -> VerdictRecord:
    """Record one checkpoint verdict in the caller's transaction, with its audit event."""
    case = await lock_case(session, case_id)
    if case.state != CaseState.inspecting:
        raise IllegalTransition(
            f"Verdicts are given while the case is inspecting; it is {case.state}.",
            zh=f"只有踏勘中的办件才能给出结论，办件当前为“{state_name(case.state)}”。",
            state=case.state,
        )
    cp = await checkpoint_of_case(session, case_id, checkpoint_id)
    if body.evidence_ids:
        rows = await session.exec(select(Evidence).where(col(Evidence.id).in_(body.evidence_ids)))
        found = {e.id: e for e in rows.all()}
        wrong = [i for i in body.evidence_ids if i not in found or found[i].case_id != case_id]
        if wrong:
            raise InvalidInput(
                f"Evidence {wrong} does not belong to case {case_id}.",
                zh=f"证据 {wrong} 不属于办件 {case_id}。",
                evidence=wrong,
            )
        elsewhere = [i for i in body.evidence_ids if found[i].checkpoint_id not in (None, cp.id)]
        if elsewhere:
            raise InvalidInput(
                f"Evidence {elsewhere} belongs to another checkpoint.",
                zh=f"证据 {elsewhere} 属于另一个踏勘要点。",
            )
    overrides = await _overrides(session, body)
    now = session_now(session)
    record = VerdictRecord(
        case_id=case_id,
        checkpoint_id=cp.id,
        round=cp.round,
        verdict=body.verdict,
        comment=body.comment,
        evidence_ids=body.evidence_ids,
        overrides=overrides or None,
        given_by=staff_id,
        given_at=now,
    )
    session.add(record)
    cp.verdict, cp.verdict_comment, cp.verdict_by, cp.verdict_at = (
        body.verdict,
        body.comment,
        staff_id,
        now,
    )
    session.add(cp)
    case.updated_at = now
    append_event(
        session,
        case,
        actor,
        "checkpoint.verdict",
        {
            "checkpoint": cp.code,
            "round": cp.round,
            "verdict": body.verdict,
            "comment": body.comment,
            "evidence": body.evidence_ids,
            **({"overrides": overrides} if overrides else {}),
        },
    )
    return record


async def _overrides(session: AsyncSession, body: VerdictInput) -> list[dict[str, Any]]:
    """The overrides the relied-on evidence needs, each with its reason; refuse if one lacks it.

    An item needs one when its latest trust verdict is anything but ``consistent`` (or it has
    none); reasons given for consistent evidence are not kept.
    """
    if not body.evidence_ids:
        return []
    rows = await session.exec(
        select(TrustVerdict)
        .where(col(TrustVerdict.evidence_id).in_(body.evidence_ids))
        .order_by(col(TrustVerdict.id))
    )
    latest = {v.evidence_id: v.verdict for v in rows.all()}  # the newest policy's verdict wins
    reasons = {o.evidence_id: o.reason for o in body.overrides}
    needed = [i for i in body.evidence_ids if latest.get(i) != "consistent"]
    missing = [i for i in needed if i not in reasons]
    if missing:
        raise InvalidInput(
            "The trust checks did not find evidence "
            + ", ".join(f"#{i} ({latest.get(i, 'not assessed')})" for i in missing)
            + " consistent; relying on it needs an override with a written reason.",
            zh="证据 "
            + "、".join(f"#{i}" for i in missing)
            + " 未通过可信度检查；依据它作出结论须写明采信理由。",
            code="override_required",
            evidence=missing,
        )
    return [
        {"evidence_id": i, "verdict": latest.get(i, "not_assessed"), "reason": reasons[i]}
        for i in needed
    ]


async def verdict_history(session: AsyncSession, case_id: int) -> list[VerdictRecord]:
    rows = await session.exec(
        select(VerdictRecord)
        .where(VerdictRecord.case_id == case_id)
        .order_by(col(VerdictRecord.id))
    )
    return list(rows.all())


async def require_open_for_evidence(session: AsyncSession, case_id: int, checkpoint_id: int) -> int:
    """The round new evidence on a checkpoint belongs to; 409 when rectification excludes it."""
    case = await lock_case(session, case_id)
    return evidence_round(case, await checkpoint_of_case(session, case_id, checkpoint_id))

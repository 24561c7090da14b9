"""Handing in an outstanding (容缺) material: the applicant uploads the document or says it
comes with the next courier parcel; a clerk accepts it (the material is received and approval
is no longer blocked by it) or rejects it with a reason (it is outstanding again).

Every change is one transaction under the case lock with its audit event. The document's bytes
are stored by the evidence storage before the hand-in is recorded (``evidence.hand_in``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import (
    OPEN_STATES,
    Case,
    CaseMaterial,
    CaseState,
    HandInState,
    MaterialHandIn,
    MaterialStatus,
)
from zerotrip.cases.store import get_case, lock_case, materials_of
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.kit.reactions import Reactions
from zerotrip.problems import Conflict, InvalidInput, NotFound

PENDING = (HandInState.submitted, HandInState.mail)


@dataclass(frozen=True)
class HandInDecided:
    """The clerk accepted or rejected a hand-in (emitted in that transaction; notify reacts:
    a rejection tells the applicant why, an acceptance withdraws the due-date reminder)."""

    session: AsyncSession
    case: Case
    material: CaseMaterial
    accepted: bool
    reason: str


class StoredDocument(BaseModel):
    sha256: str
    size: int
    media_type: str
    filename: str


class HandInView(BaseModel):
    id: int
    material_code: str
    name_zh: str
    name_en: str
    method: Literal["upload", "mail"]
    state: HandInState
    media_type: str
    size: int
    filename: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str
    has_document: bool

    @classmethod
    def of(cls, h: MaterialHandIn, material: CaseMaterial | None) -> HandInView:
        return cls(
            id=h.id or 0,
            material_code=h.material_code,
            name_zh=material.name_zh if material else h.material_code,
            name_en=material.name_en if material else h.material_code,
            method=h.method,  # type: ignore[arg-type]
            state=HandInState(h.state),
            media_type=h.media_type,
            size=h.size,
            filename=h.filename,
            submitted_at=h.submitted_at,
            decided_at=h.decided_at,
            reason=h.reason,
            has_document=h.sha256 is not None,
        )


class HandInList(BaseModel):
    items: list[HandInView]


class ParcelItem(BaseModel):
    """One document the next pickup parcel carries to the office."""

    code: str
    name_zh: str
    name_en: str
    outstanding: bool  # a 容缺 material the applicant chose to mail (else: a paper original)


async def parcel_contents(db: Database, case_id: int) -> list[ParcelItem]:
    """What the courier collects: paper originals still expected, and the outstanding
    materials the applicant said they will mail with the parcel (not yet decided)."""
    async with db.session() as session:
        materials = await materials_of(session, case_id)
        rows = await session.exec(
            select(MaterialHandIn.material_code).where(
                MaterialHandIn.case_id == case_id, MaterialHandIn.state == HandInState.mail
            )
        )
        mailed = set(rows.all())
    return [
        ParcelItem(code=m.code, name_zh=m.name_zh, name_en=m.name_en, outstanding=m.code in mailed)
        for m in materials
        if (m.paper_original and m.status == MaterialStatus.expected)
        or (m.code in mailed and m.status == MaterialStatus.outstanding)
    ]


async def _outstanding(session: AsyncSession, case: Case, code: str) -> CaseMaterial:
    material = next((m for m in await materials_of(session, case.id or 0) if m.code == code), None)
    if material is None:
        raise NotFound(f"The case lists no material {code!r}.", zh="该办件没有这项材料。")
    if material.status != MaterialStatus.outstanding:
        raise Conflict(
            f"{material.name_en} is not outstanding (it is {material.status}).",
            zh=f"“{material.name_zh}”无需补交。",
            material=code,
        )
    if case.state not in OPEN_STATES or case.state in (CaseState.rejected, CaseState.returned):
        raise Conflict(
            "Materials can be handed in only while the case is open.",
            zh="办件已结束或已退回，不能再补交材料。",
        )
    return material


async def ensure_outstanding(db: Database, case_id: int, code: str) -> None:
    """Refuse before the bytes are stored, so a refused hand-in leaves nothing in storage."""
    async with db.session() as session:
        await _outstanding(session, await get_case(session, case_id), code)


async def _pending(session: AsyncSession, case_id: int, code: str) -> MaterialHandIn | None:
    rows = await session.exec(
        select(MaterialHandIn).where(
            MaterialHandIn.case_id == case_id,
            MaterialHandIn.material_code == code,
            col(MaterialHandIn.state).in_([s.value for s in PENDING]),
        )
    )
    return rows.first()


async def hand_in(
    db: Database,
    case_id: int,
    code: str,
    *,
    document: StoredDocument | None,
    actor: Actor,
    now: datetime,
) -> HandInView:
    """Record an uploaded document (``document``) or a promise to mail it (``None``).

    A pending hand-in of the same material is replaced (the newer upload is what the clerk
    judges); the older one stays on the chain as ``material.handed_in``.
    """

    async def work(session: AsyncSession) -> HandInView:
        case = await lock_case(session, case_id)
        material = await _outstanding(session, case, code)
        earlier = await _pending(session, case_id, code)
        if earlier is not None:
            earlier.state = HandInState.rejected
            earlier.reason = "replaced"
            earlier.decided_at = now
            session.add(earlier)
        row = MaterialHandIn(
            case_id=case_id,
            material_code=code,
            method="upload" if document else "mail",
            state=HandInState.submitted if document else HandInState.mail,
            sha256=document.sha256 if document else None,
            media_type=document.media_type if document else "",
            size=document.size if document else 0,
            filename=document.filename if document else "",
            submitted_at=now,
        )
        session.add(row)
        await session.flush()
        case.updated_at = now
        session.add(case)
        append_event(
            session,
            case,
            actor,
            "material.handed_in",
            {
                "hand_in": row.id,
                "material": code,
                "method": row.method,
                **({"sha256": row.sha256, "size": row.size} if document else {}),
                **({"replaces": earlier.id} if earlier else {}),
            },
            at=now,
        )
        return HandInView.of(row, material)

    return await db.run_in_transaction(work)


async def decide(
    db: Database,
    case_id: int,
    hand_in_id: int,
    *,
    accept: bool,
    reason: str,
    actor: Actor,
    staff_id: int | None,
    now: datetime,
    reactions: Reactions | None = None,
) -> HandInView:
    """The clerk's decision; accepting receives the material, rejecting needs a reason."""
    if not accept and not reason.strip():
        raise InvalidInput(
            "A rejected hand-in needs a reason the applicant can act on.",
            zh="退回补交的材料需写明原因，便于申请人重新补交。",
            errors=[{"field": "reason", "message": "required"}],
        )

    async def work(session: AsyncSession) -> HandInView:
        case = await lock_case(session, case_id)
        row = await session.get(MaterialHandIn, hand_in_id)
        if row is None or row.case_id != case_id:
            raise NotFound(f"No hand-in {hand_in_id} on this case.", zh="找不到这次补交。")
        if row.state not in PENDING:
            raise Conflict(
                "This hand-in was already decided.", zh="这次补交已处理过。", state=row.state
            )
        material = next(
            m for m in await materials_of(session, case_id) if m.code == row.material_code
        )
        row.state = HandInState.accepted if accept else HandInState.rejected
        row.reason = reason.strip()
        row.decided_at, row.decided_by = now, staff_id
        session.add(row)
        if accept:
            material.status = MaterialStatus.received
            material.received_at = now
            session.add(material)
        case.updated_at = now
        session.add(case)
        append_event(
            session,
            case,
            actor,
            "material.hand_in_accepted" if accept else "material.hand_in_rejected",
            {"hand_in": row.id, "material": row.material_code, "reason": row.reason},
            at=now,
        )
        if reactions is not None:
            await reactions.emit(HandInDecided(session, case, material, accept, row.reason))
        return HandInView.of(row, material)

    return await db.run_in_transaction(work)


async def hand_ins_of_case(db: Database, case_id: int) -> HandInList:
    async with db.session() as session:
        await get_case(session, case_id)
        materials = {m.code: m for m in await materials_of(session, case_id)}
        rows = await session.exec(
            select(MaterialHandIn)
            .where(MaterialHandIn.case_id == case_id)
            .order_by(col(MaterialHandIn.id))
        )
        return HandInList(items=[HandInView.of(r, materials.get(r.material_code)) for r in rows])


async def hand_in_document(db: Database, case_id: int, hand_in_id: int) -> MaterialHandIn:
    async with db.session() as session:
        row = await session.get(MaterialHandIn, hand_in_id)
    if row is None or row.case_id != case_id or row.sha256 is None:
        raise NotFound(f"No document for hand-in {hand_in_id}.", zh="找不到补交的文件。")
    return row

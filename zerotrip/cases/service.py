"""Case services: each call is one transaction (retried from the start on a write conflict)
that leaves the case file and its audit chain consistent, whoever calls it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import ApplicantLink
from zerotrip.accounts.service import issue_applicant_link, links_of, revoke_applicant_link
from zerotrip.cases import reads
from zerotrip.cases.audit import ChainReport, append_event, case_events, verify_case
from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.lifecycle import Lifecycle, perform
from zerotrip.cases.models import AuditEvent, Case
from zerotrip.cases.schemas import CaseFile
from zerotrip.cases.store import (
    Application,
    CaseFilter,
    case_with_materials,
    checkpoints_of,
    create_case,
    get_case,
    list_cases,
    lock_case,
    materials_of,
)
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.problems import NotFound


async def case_file(session: AsyncSession, case: Case) -> CaseFile:
    assert case.id is not None
    return CaseFile(
        case, await materials_of(session, case.id), await checkpoints_of(session, case.id)
    )


async def read_case_file(db: Database, case_id: int) -> CaseFile:
    async with db.session() as session:
        case, materials = await case_with_materials(session, case_id)
        return CaseFile(case, materials, await checkpoints_of(session, case_id))


async def find_cases(
    db: Database, flt: CaseFilter, *, today: date, calendar: WorkingCalendar, soon_days: int
) -> tuple[int, list[Any]]:
    async with db.session() as session:
        return await list_cases(session, flt, today=today, calendar=calendar, soon_days=soon_days)


async def open_case(
    db: Database,
    catalogue: Catalogue,
    application: Application,
    *,
    actor: Actor,
    staff_id: int | None,
    link_days: int,
) -> tuple[CaseFile, str]:
    """Create the case and its applicant's first link together: an applicant who applied always
    holds a way back to the case. Returns the case file and the link's token (shown once)."""

    async def work(session: AsyncSession) -> tuple[CaseFile, str]:
        case = await create_case(session, catalogue, application, actor, submitted_by=staff_id)
        issued = await issue_applicant_link(session, case.id, days=link_days, created_by=staff_id)
        append_event(session, case, actor, "link.issued", {"link": issued.link.id})
        return await case_file(session, case), issued.token

    return await db.run_in_transaction(work)


async def take_step(
    db: Database,
    case_id: int,
    action: str,
    params: Any,
    *,
    actor: Actor,
    role: str,
    lifecycle: Lifecycle,
) -> CaseFile:
    """One step of the lifecycle with its reactions, and the case file as the step left it."""

    async def work(session: AsyncSession) -> CaseFile:
        await perform(session, case_id, action, params, actor=actor, role=role, lifecycle=lifecycle)
        # The case file as the step left it, read on the transaction's own connection with
        # compiled statements (no ORM objects: that was a third of a step's time).
        return await reads.case_file_in(db, session, case_id)

    return await db.run_in_transaction(work)


async def audit_trail(db: Database, case_id: int) -> tuple[list[AuditEvent], ChainReport]:
    async with db.snapshot() as session:
        await get_case(session, case_id)
        return await case_events(session, case_id), await verify_case(session, case_id)


async def applicant_links(db: Database, case_id: int) -> list[ApplicantLink]:
    async with db.session() as session:
        await get_case(session, case_id)
        return await links_of(session, case_id)


async def issue_link(
    db: Database,
    case_id: int,
    *,
    actor: Actor,
    staff_id: int | None,
    days: int,
    revoke_others: bool,
) -> tuple[CaseFile, str]:
    """A new applicant link, optionally revoking every other one in the same transaction (a
    lost phone: the new link works, the old ones stop at once). The audit event names both."""

    async def work(session: AsyncSession) -> tuple[CaseFile, str]:
        case = await lock_case(session, case_id)
        revoked = []
        if revoke_others:
            for link in await links_of(session, case_id):
                if link.revoked_at is None:
                    await revoke_applicant_link(session, case_id, link.id)  # type: ignore[arg-type]
                    revoked.append(link.id)
        issued = await issue_applicant_link(session, case_id, days=days, created_by=staff_id)
        append_event(
            session, case, actor, "link.issued", {"link": issued.link.id, "revoked": revoked}
        )
        return await case_file(session, case), issued.token

    return await db.run_in_transaction(work)


async def revoke_link(db: Database, case_id: int, link_id: int, *, actor: Actor) -> ApplicantLink:
    async def work(session: AsyncSession) -> ApplicantLink:
        case = await lock_case(session, case_id)
        link = await revoke_applicant_link(session, case_id, link_id)
        append_event(session, case, actor, "link.revoked", {"link": link_id})
        return link

    return await db.run_in_transaction(work)


async def link_by_id(db: Database, link_id: int) -> ApplicantLink:
    async with db.session() as session:
        link = await session.get(ApplicantLink, link_id)
    if link is None:
        raise NotFound(f"No link {link_id}.", zh=f"没有编号为 {link_id} 的链接。")
    return link

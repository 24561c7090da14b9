"""Review services for the API: reading the review sheet and documents of a case, and the
inspector's and clerk's changes, each change one transaction retried on a write conflict."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.models import Case
from zerotrip.cases.store import checkpoints_of, get_case
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.media.models import Evidence
from zerotrip.problems import NotFound
from zerotrip.review import certificate as certs
from zerotrip.review.annotation_store import annotation_version, latest_annotation, save_annotations
from zerotrip.review.annotations import AnnotationInput
from zerotrip.review.casefile import case_evidence
from zerotrip.review.models import Annotation, Certificate, Report, VerdictRecord
from zerotrip.review.schemas import ReviewSheet
from zerotrip.review.signing import latest_report, reports_of
from zerotrip.review.verdicts import VerdictInput, give_verdict, verdict_history


async def evidence_by_id(db: Database, evidence_id: int) -> Evidence:
    async with db.session() as session:
        evidence = await session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound(f"No evidence {evidence_id}.", zh=f"没有编号为 {evidence_id} 的证据。")
    return evidence


async def annotation_of(db: Database, evidence_id: int, version: int | None) -> Annotation | None:
    """The annotation version asked for (404 if there is no such version), else the latest
    (None if nothing has been drawn)."""
    async with db.session() as session:
        if version:
            return await annotation_version(session, evidence_id, version)
        return await latest_annotation(session, evidence_id)


async def annotate(
    db: Database, evidence: Evidence, body: AnnotationInput, *, actor: Actor, staff_id: int | None
) -> Annotation:
    async def work(session: AsyncSession) -> Annotation:
        assert evidence.id is not None
        return await save_annotations(
            session, evidence.case_id, evidence.id, body, actor=actor, staff_id=staff_id
        )

    return await db.run_in_transaction(work)


async def review_sheet(db: Database, case_id: int, *, see_restricted: bool) -> ReviewSheet:
    async with db.session() as session:
        case = await get_case(session, case_id)
        return ReviewSheet(
            case=case,
            checkpoints=await checkpoints_of(session, case_id),
            entries=await case_evidence(session, case_id, shared=not see_restricted),
            history=await verdict_history(session, case_id),
            report=await latest_report(session, case_id, shared=False),
            certificates=await certs.certificates_of(session, case_id),
            see_restricted=see_restricted,
        )


async def judge(
    db: Database,
    case_id: int,
    checkpoint_id: int,
    body: VerdictInput,
    *,
    actor: Actor,
    staff_id: int | None,
) -> VerdictRecord:
    async def work(session: AsyncSession) -> VerdictRecord:
        return await give_verdict(
            session, case_id, checkpoint_id, body, actor=actor, staff_id=staff_id
        )

    return await db.run_in_transaction(work)


async def latest_signed_report(db: Database, case_id: int, *, shared: bool) -> tuple[Case, Report]:
    async with db.session() as session:
        case = await get_case(session, case_id)
        report = await latest_report(session, case_id, shared=shared)
    if report is None:
        raise NotFound(
            f"No report has been signed for case {case_id} yet.",
            zh=f"办件 {case_id} 尚未签署踏勘报告。",
        )
    return case, report


async def case_documents(
    db: Database, case_id: int, *, shared: bool
) -> tuple[list[Report], list[Certificate]]:
    async with db.session() as session:
        await get_case(session, case_id)
        reports = await reports_of(session, case_id, shared=shared)
        return reports, await certs.certificates_of(session, case_id)


async def latest_certificate(db: Database, case_id: int) -> Certificate:
    async with db.session() as session:
        issued = await certs.certificates_of(session, case_id)
    if not issued:
        raise NotFound(
            f"No certificate has been issued for case {case_id}.",
            zh=f"办件 {case_id} 尚未制发证照。",
        )
    return issued[-1]


async def certificate_by_code(db: Database, code: str) -> Certificate | None:
    async with db.session() as session:
        return await certs.find_certificate(session, code)


async def revoke_certificate(
    db: Database, code: str, reason: str, *, actor: Actor, staff_id: int | None
) -> Certificate:
    async def work(session: AsyncSession) -> Certificate:
        return await certs.revoke(session, code, reason, actor=actor, staff_id=staff_id)

    return await db.run_in_transaction(work)

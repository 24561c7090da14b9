"""Signing the inspection report: gather, render, store, and record it in the chain.

Rendering takes about a second, too long to hold the case's write lock, so it happens outside
the transaction against the chain head read at the start. The transaction then locks the case
and checks the head has not moved (the report describes exactly the chain up to that head); if
it moved, the report is made again. Two copies are signed together: the full one for the office
and the shared one (no restricted evidence) the applicant downloads. The ``report.signed``
event records both hashes and the head the report was signed against.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.models import Case, CaseState
from zerotrip.cases.store import checkpoints_of, get_case, lock_case
from zerotrip.db import Database, session_now
from zerotrip.kit.actor import Actor
from zerotrip.media.interfaces import Storage
from zerotrip.problems import Conflict, IllegalTransition
from zerotrip.review.annotation_store import IMAGE_KINDS
from zerotrip.review.blobs import put_bytes
from zerotrip.review.casefile import case_evidence
from zerotrip.review.flatten import base_bytes, encode_jpeg, flattened, oriented_base
from zerotrip.review.fonts import FontChoice
from zerotrip.review.models import Report, VerdictRecord
from zerotrip.review.report import (
    CheckpointFacts,
    EvidenceFacts,
    ReportData,
    describe_trust,
    render_report,
)
from zerotrip.review.verdicts import verdict_history

SIGNABLE = frozenset(
    {
        CaseState.rectifying,
        CaseState.inspected,
        CaseState.approved,
        CaseState.rejected,
        CaseState.certificate_issued,
        CaseState.delivered,
    }
)


# Told how far signing got (percent, step code): the job queue shows it to the waiting inspector.
Progress = Callable[[int, str], Awaitable[None]]


async def _no_progress(percent: int, step: str) -> None:
    return None


def report_key(case_id: int, sha256: str) -> str:
    return f"reports/{case_id}/{sha256}.pdf"


async def _image(storage: Storage, entry: object, font: FontChoice | None) -> bytes | None:
    ev = entry.evidence  # type: ignore[attr-defined]
    ann = entry.annotation  # type: ignore[attr-defined]
    if ev.kind not in IMAGE_KINDS:
        return None
    try:
        if ann is not None:
            return (
                await flattened(
                    storage,
                    sha256=ev.sha256,
                    blob_key=ev.blob_key,
                    document=ann.document,
                    document_sha256=ann.sha256,
                    font=font,
                )
            )[1]
        data = await base_bytes(storage, ev.sha256, ev.blob_key)
        return await asyncio.to_thread(lambda: encode_jpeg(oriented_base(data)))
    except (KeyError, OSError, ValueError):
        return None  # an unreadable image is listed by its facts, without a picture


async def _overrides_in_force(
    session: AsyncSession, case_id: int
) -> dict[tuple[int | None, int | None], str]:
    """(checkpoint, evidence) -> the override printed beside it, from each checkpoint's latest
    verdict (an older round's reasons do not carry over)."""
    latest: dict[int, VerdictRecord] = {}
    for record in await verdict_history(session, case_id):
        latest[record.checkpoint_id] = record
    return {
        (cp_id, o["evidence_id"]): f"{o['reason']} ({o['verdict']})"
        for cp_id, record in latest.items()
        for o in record.overrides or []
    }


async def gather(
    session: AsyncSession,
    storage: Storage,
    catalogue: Catalogue,
    case: Case,
    *,
    shared: bool,
    inspector: str,
    version: int,
    font: FontChoice | None = None,
    timezone: str = "Asia/Shanghai",
) -> ReportData:
    matter = catalogue.get(case.matter_code)
    entries = await case_evidence(session, case.id, shared=shared)  # type: ignore[arg-type]
    overrides = await _overrides_in_force(session, case.id)  # type: ignore[arg-type]
    checkpoints = []
    for cp in await checkpoints_of(session, case.id):  # type: ignore[arg-type]
        if shared and cp.restricted:
            continue
        facts = CheckpointFacts(
            cp.position, cp.code, cp.title_zh, cp.title_en, cp.verdict, cp.verdict_comment, cp.round
        )
        for entry in (e for e in entries if e.evidence.checkpoint_id == cp.id):
            ev = entry.evidence
            location, trust = describe_trust(entry.trust, ev.capture)
            facts.evidence.append(
                EvidenceFacts(
                    ev.id or 0,
                    ev.sha256,
                    ev.kind + (" · 受限 restricted" if ev.restricted else ""),
                    ev.source,
                    ev.round,
                    ev.captured_at,
                    ev.received_at,
                    location,
                    trust,
                    await _image(storage, entry, font),
                    entry.annotation.version if entry.annotation else None,
                    overrides.get((cp.id, ev.id), "") if cp.verdict else "",
                )
            )
        checkpoints.append(facts)
    coords = f"({case.premises_lat}, {case.premises_lon})" if case.premises_lat is not None else ""
    return ReportData(
        reference=case.reference,
        matter_zh=matter.name_zh if matter else case.matter_code,
        matter_en=matter.name_en if matter else case.matter_code,
        organisation=case.organisation,
        applicant_name=case.applicant_name,
        premises_address=case.premises_address,
        premises_coords=coords,
        state=case.state,
        result=case.inspection_result
        or ("rectify" if case.state == CaseState.rectifying else None),
        inspector=inspector,
        signed_at=session_now(session),
        audit_head=case.audit_head,
        audit_seq=case.audit_seq,
        version=version,
        shared=shared,
        checkpoints=checkpoints,
        zone=ZoneInfo(timezone),
    )


async def _next_version(session: AsyncSession, case_id: int) -> int:
    rows = await session.exec(
        select(Report.version).where(Report.case_id == case_id).order_by(col(Report.version).desc())
    )
    return (rows.first() or 0) + 1


async def _store_pdf(storage: Storage, case_id: int, pdf: bytes) -> tuple[str, str]:
    digest = hashlib.sha256(pdf).hexdigest()
    key = report_key(case_id, digest)
    await put_bytes(storage, key, pdf)
    return key, digest


def _refuse_unsignable(case: Case) -> None:
    if case.state not in SIGNABLE:
        raise IllegalTransition(
            f"A report is signed once the inspection result is recorded; the case is {case.state}.",
            zh="记录检查结果后才能签署报告。",
            state=case.state,
        )


async def check_signable(db: Database, case_id: int) -> None:
    """Refuse at once what :func:`sign_report` would refuse, before any work is queued."""
    async with db.session() as session:
        _refuse_unsignable(await get_case(session, case_id))


async def sign_report(
    db: Database,
    storage: Storage,
    catalogue: Catalogue,
    case_id: int,
    *,
    actor: Actor,
    staff_id: int | None,
    font: FontChoice | None = None,
    progress: Progress = _no_progress,
    timezone: str = "Asia/Shanghai",
) -> list[Report]:
    """Sign the report for the case's current state; returns the full and the shared copy."""
    for _ in range(3):
        await progress(5, "gather")
        async with db.session() as session:
            case = await get_case(session, case_id)
            _refuse_unsignable(case)
            version = await _next_version(session, case_id)
            copies = [
                await gather(
                    session,
                    storage,
                    catalogue,
                    case,
                    shared=shared,
                    inspector=actor.label,
                    version=version,
                    font=font,
                    timezone=timezone,
                )
                for shared in (False, True)
            ]
        pdfs = []
        for n, data in enumerate(copies):
            await progress(30 + 30 * n, "render")
            pdfs.append(await asyncio.to_thread(render_report, data, font))
        await progress(90, "store")
        stored = [await _store_pdf(storage, case_id, pdf) for pdf in pdfs]
        async with db.transaction() as session:
            case = await lock_case(session, case_id)
            if case.audit_head != copies[0].audit_head:
                continue  # the case changed while we rendered: sign what it is now
            rows = [
                Report(
                    case_id=case_id,
                    version=version,
                    shared=data.shared,
                    sha256=digest,
                    blob_key=key,
                    size=len(pdf),
                    audit_head=data.audit_head,
                    audit_seq=data.audit_seq,
                    signed_by=staff_id,
                    signed_label=actor.label,
                    signed_at=data.signed_at,
                )
                for data, pdf, (key, digest) in zip(copies, pdfs, stored, strict=True)
            ]
            for row in rows:
                session.add(row)
            append_event(
                session,
                case,
                actor,
                "report.signed",
                {
                    "version": version,
                    "sha256": rows[0].sha256,
                    "shared_sha256": rows[1].sha256,
                    "signed_against": copies[0].audit_head,
                    "signed_against_seq": copies[0].audit_seq,
                },
            )
            return rows
    raise Conflict(
        "The case kept changing while the report was being signed; try again.",
        zh="签署报告期间办件有变动，请重试。",
    )


async def latest_report(session: AsyncSession, case_id: int, *, shared: bool) -> Report | None:
    rows = await session.exec(
        select(Report)
        .where(Report.case_id == case_id, Report.shared == shared)
        .order_by(col(Report.version).desc())
        .limit(1)
    )
    return rows.first()


async def reports_of(session: AsyncSession, case_id: int, *, shared: bool) -> list[Report]:
    rows = await session.exec(
        select(Report)
        .where(Report.case_id == case_id, Report.shared == shared)
        .order_by(col(Report.version))
    )
    return list(rows.all())

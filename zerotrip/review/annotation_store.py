"""Saving and reading annotation versions.

A save names the version it was edited from (``base_version``); if someone saved in between the
save is refused with 409 instead of silently overwriting their shapes. Each save is a new row
and an ``annotation.saved`` audit event carrying the hash of the canonical document, so the
bundle verifier can tie every exported annotation file to the chain.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.store import lock_case
from zerotrip.db import session_now
from zerotrip.kit.actor import Actor
from zerotrip.media.models import Evidence
from zerotrip.problems import Conflict, InvalidInput, NotFound
from zerotrip.review.annotations import AnnotationInput, document_hash, to_document
from zerotrip.review.models import Annotation

IMAGE_KINDS = frozenset({"photo", "still"})


async def evidence_of_case(session: AsyncSession, case_id: int, evidence_id: int) -> Evidence:
    evidence = await session.get(Evidence, evidence_id)
    if evidence is None or evidence.case_id != case_id:
        raise NotFound(
            f"Case {case_id} has no evidence {evidence_id}.",
            zh=f"办件 {case_id} 没有编号为 {evidence_id} 的证据。",
        )
    return evidence


async def latest_annotation(session: AsyncSession, evidence_id: int) -> Annotation | None:
    rows = await session.exec(
        select(Annotation)
        .where(Annotation.evidence_id == evidence_id)
        .order_by(col(Annotation.version).desc())
        .limit(1)
    )
    return rows.first()


async def annotation_version(session: AsyncSession, evidence_id: int, version: int) -> Annotation:
    rows = await session.exec(
        select(Annotation).where(
            Annotation.evidence_id == evidence_id, Annotation.version == version
        )
    )
    found = rows.first()
    if found is None:
        raise NotFound(
            f"Evidence {evidence_id} has no annotation version {version}.",
            zh=f"证据 {evidence_id} 没有第 {version} 版标注。",
        )
    return found


async def save_annotations(
    session: AsyncSession,
    case_id: int,
    evidence_id: int,
    body: AnnotationInput,
    *,
    actor: Actor,
    staff_id: int | None,
) -> Annotation:
    """Store a new version in the caller's transaction, with its audit event."""
    case = await lock_case(session, case_id)
    evidence = await evidence_of_case(session, case_id, evidence_id)
    if evidence.kind not in IMAGE_KINDS:
        kind = "录像" if evidence.kind == "recording" else "视频"
        raise InvalidInput(
            f"Evidence {evidence_id} is a {evidence.kind}; only images are annotated.",
            zh=f"证据 {evidence_id} 是{kind}，只有图片可以标注。",
        )
    latest = await latest_annotation(session, evidence_id)
    current = latest.version if latest else 0
    if body.base_version != current:
        raise Conflict(
            f"These shapes were edited from version {body.base_version}, but version {current} "
            "has been saved since; reload and edit again.",
            zh=f"这些标注是在第 {body.base_version} 版上修改的，此后已保存了第 {current} 版，"
            "请刷新后重新编辑。",
            latest_version=current,
        )
    document = to_document(
        body.items, source=f"urn:zerotrip:evidence:{evidence_id}", sha256=evidence.sha256
    )
    digest = document_hash(document)
    row = Annotation(
        case_id=case_id,
        evidence_id=evidence_id,
        version=current + 1,
        document=document,
        sha256=digest,
        shapes=len(body.items),
        created_by=staff_id,
        created_at=session_now(session),
    )
    session.add(row)
    append_event(
        session,
        case,
        actor,
        "annotation.saved",
        {
            "evidence": evidence_id,
            "evidence_sha256": evidence.sha256,
            "version": row.version,
            "sha256": digest,
            "shapes": row.shapes,
        },
    )
    return row

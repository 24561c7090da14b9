"""A case's evidence as the review sees it: each item with its latest annotation version and its
latest trust verdict, optionally only what may be shared outside the office.

``shared=True`` leaves out restricted (identity) evidence and everything attached to restricted
checkpoints; reports and bundles handed to the applicant or anyone else are built from that.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.store import checkpoints_of
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.review.models import Annotation


@dataclass
class EvidenceEntry:
    evidence: Evidence
    annotation: Annotation | None  # the latest version, if any
    trust: TrustVerdict | None  # the latest verdict, if any
    annotations: list[Annotation]  # every version, oldest first


async def case_evidence(
    session: AsyncSession, case_id: int, *, shared: bool
) -> list[EvidenceEntry]:
    restricted_cps = {c.id for c in await checkpoints_of(session, case_id) if c.restricted}
    rows = await session.exec(
        select(Evidence).where(Evidence.case_id == case_id).order_by(col(Evidence.id))
    )
    evidence = [
        e
        for e in rows.all()
        if not shared or not (e.restricted or e.checkpoint_id in restricted_cps)
    ]
    ids = [e.id for e in evidence]
    versions: dict[int, list[Annotation]] = {}
    trust: dict[int, TrustVerdict] = {}
    if ids:
        anns = await session.exec(
            select(Annotation)
            .where(col(Annotation.evidence_id).in_(ids))
            .order_by(col(Annotation.version))
        )
        for a in anns.all():
            versions.setdefault(a.evidence_id, []).append(a)
        verdicts = await session.exec(
            select(TrustVerdict)
            .where(col(TrustVerdict.evidence_id).in_(ids))
            .order_by(col(TrustVerdict.created_at), col(TrustVerdict.id))
        )
        for v in verdicts.all():
            trust[v.evidence_id] = v  # the last one wins: the newest policy
    return [
        EvidenceEntry(
            e,
            versions.get(e.id, [None])[-1] if e.id in versions else None,  # type: ignore[list-item]
            trust.get(e.id),  # type: ignore[arg-type]
            versions.get(e.id, []),  # type: ignore[arg-type]
        )
        for e in evidence
    ]

"""Gathering what the trust checks need, and judging stored evidence again under a newer policy.

Reuse is looked up in the database: the same bytes anywhere else, and pictures of OTHER cases
whose dHash is within the configured distance (an earlier application for the same premises is
named as such). Re-judging reads only what ingest stored, so it works long after the upload, and
it adds a verdict row for the current policy version; an older verdict is never rewritten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case
from zerotrip.cases.store import lock_case
from zerotrip.config import Settings
from zerotrip.db import Database, session_now
from zerotrip.kit.actor import Actor
from zerotrip.media.judge import stored_analysis, verdict_payload
from zerotrip.media.models import CaptureNonce, Evidence, TrustVerdict
from zerotrip.media.phash import hamming
from zerotrip.media.trust import POLICY_VERSION, Facts, assess
from zerotrip.problems import NotFound

SIMILAR_SCAN_LIMIT = 50_000


async def find_reuse(
    db: Database, case_id: int, checkpoint_id: int | None, sha: str, dhash: Any, threshold: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Earlier evidence with the same bytes, and pictures of other cases with a close dHash."""
    async with db.session() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
        exact_rows = await session.exec(
            select(Evidence.id, Evidence.case_id, Evidence.checkpoint_id, Case.reference)
            .join(Case, col(Case.id) == Evidence.case_id)
            .where(Evidence.sha256 == sha)
            .order_by(col(Evidence.id))
            .limit(10)
        )
        exact = [
            {
                "evidence_id": row[0],
                "reference": row[3],
                "same_case": row[1] == case_id,
            }
            for row in exact_rows.all()
            if row[1] != case_id or row[2] != checkpoint_id
        ]
        similar: list[dict[str, Any]] = []
        if isinstance(dhash, int):
            rows = await session.exec(
                select(
                    Evidence.id,
                    Evidence.dhash,
                    Evidence.sha256,
                    Case.reference,
                    Case.premises_address,
                )
                .join(Case, col(Case.id) == Evidence.case_id)
                .where(Evidence.case_id != case_id, col(Evidence.dhash).is_not(None))
                .order_by(col(Evidence.id).desc())
                .limit(SIMILAR_SCAN_LIMIT)
            )
            for ev_id, other, other_sha, reference, address in rows.all():
                distance = hamming(dhash, other)
                if distance <= threshold and other_sha != sha:
                    similar.append(
                        {
                            "evidence_id": ev_id,
                            "reference": reference,
                            "distance": distance,
                            "same_premises": address.strip() == case.premises_address.strip(),
                        }
                    )
            similar.sort(key=lambda s: s["distance"])
    premises = None
    if case.premises_lat is not None and case.premises_lon is not None:
        premises = (case.premises_lat, case.premises_lon)
    return exact, similar, premises  # type: ignore[return-value]


async def gather_facts(
    db: Database,
    settings: Settings,
    *,
    case_id: int,
    checkpoint_id: int | None,
    sha: str,
    origin: str,
    received_at: datetime,
    analysis: dict[str, Any],
    capture: dict | None,
    nonce_issued_at: datetime | None,
) -> Facts:
    exact, similar, premises = await find_reuse(
        db, case_id, checkpoint_id, sha, analysis.get("dhash"), settings.evidence_dhash_distance
    )
    return Facts(
        origin=origin,
        received_at=received_at,
        analysis=analysis,
        capture=capture,
        premises=premises,
        office_zone=settings.timezone,
        max_age_hours=settings.evidence_max_age_hours,
        site_radius_m=settings.evidence_site_radius_m,
        exact_duplicates=exact,
        similar=similar,
        nonce_issued_at=nonce_issued_at,
    )


async def reassess(
    db: Database, settings: Settings, evidence_id: int, actor: Actor
) -> TrustVerdict:
    """The verdict of ``evidence_id`` under the current policy, adding it if there is none yet."""
    async with db.session() as session:
        evidence = await session.get(Evidence, evidence_id)
        if evidence is None:
            raise NotFound(f"No evidence {evidence_id}.", zh=f"没有编号为 {evidence_id} 的证据。")
        nonce = (
            await session.exec(select(CaptureNonce).where(CaptureNonce.evidence_id == evidence_id))
        ).first()
    judged = assess(
        await gather_facts(
            db,
            settings,
            case_id=evidence.case_id,
            checkpoint_id=evidence.checkpoint_id,
            sha=evidence.sha256,
            origin=evidence.source,
            received_at=evidence.received_at,
            analysis=stored_analysis(evidence),
            capture=evidence.capture,
            nonce_issued_at=nonce.issued_at if nonce else None,
        )
    )

    async def work(session: AsyncSession) -> TrustVerdict:
        case = await lock_case(session, evidence.case_id)
        existing = (
            await session.exec(
                select(TrustVerdict).where(
                    TrustVerdict.evidence_id == evidence_id,
                    TrustVerdict.policy_version == POLICY_VERSION,
                )
            )
        ).first()
        if existing is not None:
            return existing
        verdict = TrustVerdict(
            evidence_id=evidence_id,
            policy_version=judged["policy_version"],
            verdict=judged["verdict"],
            findings=judged["findings"],
            created_at=session_now(session),
        )
        session.add(verdict)
        append_event(session, case, actor, "evidence.verdict", verdict_payload(evidence_id, judged))
        return verdict

    return await db.run_in_transaction(work)

"""Writing evidence onto the case file: the row, its verdict and its audit events, under the
case lock; and the record of a refused file.

Both run in :meth:`zerotrip.db.Database.run_in_transaction`, so a retried attempt builds its
rows afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.inspection_rules import evidence_round
from zerotrip.cases.models import Checkpoint
from zerotrip.cases.store import lock_case
from zerotrip.db import session_now
from zerotrip.kit.actor import SYSTEM, Actor
from zerotrip.media import nonce as nonces
from zerotrip.media.judge import verdict_payload
from zerotrip.media.models import CaptureNonce, Evidence, TrustVerdict
from zerotrip.media.sniff import Sniffed


@dataclass(frozen=True)
class Upload:
    """One call to intake, checked once: where the file goes and what the client claimed."""

    case_id: int
    checkpoint_id: int | None
    origin: str
    actor: Actor
    capture: dict[str, Any] | None  # the client's claims without the nonce secret
    nonce: str | None
    live_session_id: int | None
    video_offset_ms: int | None
    restricted: bool


@dataclass(frozen=True)
class Received:
    """The received file as intake measured it: hash, size, sniffed format, receipt time."""

    sha: str
    size: int
    sniffed: Sniffed
    at: datetime


@dataclass(frozen=True)
class Claim:
    """The outcome of the claim step: the evidence a retry repeats, or the nonce reserved."""

    existing: Evidence | None
    nonce_id: int | None = None
    nonce_issued_at: datetime | None = None


async def record(
    session: AsyncSession,
    upload: Upload,
    claim: Claim,
    fields: dict[str, Any],
    judged: dict[str, Any],
    derived: dict[str, str],
) -> Evidence:
    """Step 5 of intake: one transaction; an upload of the same bytes that got here first wins."""
    case = await lock_case(session, upload.case_id)
    if upload.checkpoint_id is not None:  # rectification: only reopened items, new round
        checkpoint = await session.get(Checkpoint, upload.checkpoint_id)
        assert checkpoint is not None  # checked by the claim; checkpoints are never deleted
        fields = {**fields, "round": evidence_round(case, checkpoint)}
    nonce = None
    if claim.nonce_id is not None:
        nonce = await session.get(CaptureNonce, claim.nonce_id, with_for_update=True)
        assert nonce is not None
        if nonce.evidence_id is not None:
            done = await session.get(Evidence, nonce.evidence_id)
            assert done is not None
            return done
    elif (done := await _same_upload(session, fields)) is not None:
        return done
    evidence = Evidence(**fields)
    session.add(evidence)
    await session.flush()
    assert evidence.id is not None
    now = session_now(session)
    if nonce is not None:
        nonces.consume(nonce, evidence.id, now)
        session.add(nonce)
    session.add(
        TrustVerdict(
            evidence_id=evidence.id,
            policy_version=judged["policy_version"],
            verdict=judged["verdict"],
            findings=judged["findings"],
            created_at=now,
        )
    )
    append_event(
        session, case, upload.actor, "evidence.received",
        {
            "evidence": evidence.id,
            "checkpoint": upload.checkpoint_id,
            "sha256": evidence.sha256,
            "size": evidence.size,
            "media_type": evidence.media_type,
            "origin": evidence.source,
            "nonce": claim.nonce_id,
            "live_session": upload.live_session_id,
            "capture": upload.capture,
            "received_at": evidence.received_at,
            "restricted": evidence.restricted,
        },
    )  # fmt: skip
    append_event(session, case, SYSTEM, "evidence.verdict", verdict_payload(evidence.id, judged))
    if derived:
        append_event(
            session, case, SYSTEM, "evidence.derived",
            {"evidence": evidence.id, **derived},
        )  # fmt: skip
    return evidence


async def _same_upload(session: AsyncSession, fields: dict[str, Any]) -> Evidence | None:
    """Without a nonce, the same bytes for the same checkpoint are the same evidence."""
    rows = await session.exec(
        select(Evidence).where(
            Evidence.case_id == fields["case_id"],
            Evidence.checkpoint_id == fields["checkpoint_id"],
            Evidence.sha256 == fields["sha256"],
        )
    )
    return rows.first()


async def record_refusal(
    session: AsyncSession,
    upload: Upload,
    claim: Claim,
    received: Received,
    analysis: dict[str, Any],
) -> None:
    """Put a refused file on the case's chain (its original is kept by hash, and this event
    accounts for it) and give the nonce claim back so the camera can try again."""
    case = await lock_case(session, upload.case_id)
    if claim.nonce_id is not None:
        nonce = await session.get(CaptureNonce, claim.nonce_id, with_for_update=True)
        if nonce is not None:
            nonces.release(nonce)
            session.add(nonce)
    append_event(
        session, case, upload.actor, "evidence.refused",
        {"sha256": received.sha, "size": received.size,
         "media_type": received.sniffed.media_type, "checkpoint": upload.checkpoint_id,
         "origin": upload.origin, "reason": analysis["code"]},
    )  # fmt: skip

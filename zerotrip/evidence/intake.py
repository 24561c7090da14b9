"""Evidence intake: one fully received file to a stored, judged Evidence row on the case's chain.

Each step runs once, in this order:

1. **claim**, in one short transaction: the checkpoint must be the case's and open for evidence,
   and the capture nonce (if any) is locked, checked (this case, checkpoint and live session,
   unexpired, unused) and claimed for these bytes. A retry of the same bytes gets the evidence
   already recorded; the losers of a race for one nonce are refused here, before anything is
   written to storage, so they leave nothing behind;
2. **store** the original write-once under its SHA-256, before any parser sees it;
3. **analyse** it in a bounded worker; a file that is no usable picture is recorded on the chain
   as ``evidence.refused`` (its original stays, accounted for by that event), the nonce claim is
   given back, and the caller gets a 422;
4. **judge**: reuse lookups and the trust checks (:mod:`zerotrip.media.trust`);
5. **record**, in one transaction under the case lock: the Evidence row, its verdict, the nonce
   consumed, and the events ``evidence.received``, ``evidence.verdict``, ``evidence.derived``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.inspection_rules import evidence_round
from zerotrip.cases.models import Case, Checkpoint
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.evidence.judging import gather_facts
from zerotrip.evidence.recording import Claim, Received, Upload, record, record_refusal
from zerotrip.kit.actor import Actor
from zerotrip.media import nonce as nonces
from zerotrip.media.ingest import (
    ORIGINS,
    analyse,
    analysis_meta,
    analysis_workdir,
    evidence_kind,
    refusal_zh,
    refused,
    store_derived,
    store_original,
)
from zerotrip.media.interfaces import Storage
from zerotrip.media.keys import original_key
from zerotrip.media.models import Evidence
from zerotrip.media.phash import to_signed
from zerotrip.media.receive import hash_file
from zerotrip.media.sniff import sniff_file
from zerotrip.media.trust import assess
from zerotrip.media.worker import AnalysisPools
from zerotrip.problems import Forbidden, InvalidInput, NotFound


async def ingest_file(
    db: Database,
    storage: Storage,
    settings: Settings,
    *,
    pools: AnalysisPools,
    case_id: int,
    checkpoint_id: int | None,
    path: Path,
    origin: str,
    actor: Actor,
    capture: dict | None = None,
    live_session_id: int | None = None,
    video_offset_ms: int | None = None,
    restricted: bool = False,
    digest: tuple[str, int] | None = None,
    analysis: dict[str, Any] | None = None,
) -> Evidence:
    """Claim, store, analyse, judge and record one file; see the module docstring.

    ``capture`` is what the client said about the capture (its ``nonce``, if any, is checked and
    spent, never kept); ``digest`` the SHA-256 and size when the caller computed them while
    receiving; ``analysis`` what the caller already knows of a file it made itself (see
    :mod:`zerotrip.media.frames`: no worker analyses it again). The file at ``path`` is removed
    in every case.
    """
    path = Path(path)
    try:
        upload = _upload(
            case_id, checkpoint_id, origin, actor, capture, live_session_id, video_offset_ms,
            restricted,
        )  # fmt: skip
        sha, size = digest or await asyncio.to_thread(hash_file, path)
        received = Received(sha, size, await asyncio.to_thread(sniff_file, path), db.clock.now())
        claim = await db.run_in_transaction(lambda session: _claim(session, upload, received))
        if claim.existing is not None:
            return claim.existing
        await store_original(storage, sha, path)
        async with analysis_workdir(settings) as workdir:
            if analysis is None:
                analysis = await analyse(pools, origin, path, received.sniffed, workdir)
            if refused(analysis):
                await db.run_in_transaction(
                    lambda session: record_refusal(session, upload, claim, received, analysis)
                )
                raise InvalidInput(
                    analysis["detail"], zh=refusal_zh(analysis), code=analysis["code"]
                )
            derived, facts = await asyncio.gather(  # disk writes and database reads overlap
                store_derived(storage, sha, analysis),
                gather_facts(
                    db, settings, case_id=case_id, checkpoint_id=checkpoint_id, sha=sha,
                    origin=origin, received_at=received.at, analysis=analysis,
                    capture=upload.capture, nonce_issued_at=claim.nonce_issued_at,
                ),
            )  # fmt: skip
        judged = assess(facts)
        fields = _fields(upload, received, analysis, judged, derived)
        return await db.run_in_transaction(
            lambda session: record(session, upload, claim, fields, judged, derived)
        )
    finally:
        path.unlink(missing_ok=True)


def _upload(
    case_id: int,
    checkpoint_id: int | None,
    origin: str,
    actor: Actor,
    capture: dict | None,
    live_session_id: int | None,
    video_offset_ms: int | None,
    restricted: bool,
) -> Upload:
    """The call's arguments checked once; the nonce secret split from what is kept."""
    if origin not in ORIGINS:
        raise InvalidInput(
            f"origin must be one of {', '.join(ORIGINS)}.",
            zh=f"来源须为以下之一：{', '.join(ORIGINS)}。",
        )
    claims = dict(capture or {})
    token = claims.pop("nonce", None)
    if origin == "live_photo" and (not token or live_session_id is None):
        raise Forbidden(
            "A live photo needs the live session and the nonce it issued with its request.",
            zh="视频踏勘中的拍照须附带该次视频踏勘随拍照请求发出的拍摄凭证。",
            code="live_photo_unbound",
        )
    return Upload(
        case_id=case_id,
        checkpoint_id=checkpoint_id,
        origin=origin,
        actor=actor,
        capture=claims or None,
        nonce=token if isinstance(token, str) or token is None else str(token),
        live_session_id=live_session_id,
        video_offset_ms=video_offset_ms,
        restricted=restricted,
    )


async def _claim(session: AsyncSession, upload: Upload, received: Received) -> Claim:
    """Step 1: check where the file goes and reserve the nonce for its bytes (see above)."""
    if upload.checkpoint_id is not None:
        case = await session.get(Case, upload.case_id)
        checkpoint = await session.get(Checkpoint, upload.checkpoint_id)
        if case is None or checkpoint is None or checkpoint.case_id != upload.case_id:
            raise NotFound(
                f"Case {upload.case_id} has no checklist item {upload.checkpoint_id}.",
                zh=f"办件 {upload.case_id} 没有编号为 {upload.checkpoint_id} 的踏勘要点。",
            )
        evidence_round(case, checkpoint)  # refused now, not after storing
    if upload.nonce is not None and upload.checkpoint_id is not None:
        record = await nonces.find_nonce(
            session, upload.nonce, upload.case_id, upload.checkpoint_id, for_update=True
        )
        nonces.check_binding(record, upload.origin, upload.live_session_id)
        if record.evidence_id is not None:
            done = await session.get(Evidence, record.evidence_id)
            if done is not None and done.sha256 == received.sha:
                return Claim(existing=done)
        nonces.claim(record, received.sha, received.at)
        session.add(record)
        return Claim(existing=None, nonce_id=record.id, nonce_issued_at=record.issued_at)
    if upload.nonce is not None:
        raise Forbidden(
            "A capture nonce belongs to a checklist item.",
            zh="拍摄凭证须对应一个踏勘要点。",
            code="nonce_invalid",
        )
    same = await session.exec(
        select(Evidence).where(
            Evidence.case_id == upload.case_id,
            Evidence.checkpoint_id == upload.checkpoint_id,
            Evidence.sha256 == received.sha,
        )
    )
    return Claim(existing=same.first())


def _fields(
    upload: Upload,
    received: Received,
    analysis: dict[str, Any],
    judged: dict[str, Any],
    derived: dict[str, str],
) -> dict[str, Any]:
    """The Evidence row's columns (the round is set under the case lock when recording)."""
    dhash = analysis.get("dhash")
    return dict(
        case_id=upload.case_id,
        checkpoint_id=upload.checkpoint_id,
        kind=evidence_kind(upload.origin, received.sniffed),
        source=upload.origin,
        sha256=received.sha,
        blob_key=original_key(received.sha),
        media_type=received.sniffed.media_type,
        size=received.size,
        width=analysis.get("width"),
        height=analysis.get("height"),
        duration_s=analysis.get("duration_s"),
        received_at=received.at,
        captured_at=judged["captured_at"],
        actor_kind=upload.actor.kind,
        actor_id=upload.actor.id,
        live_session_id=upload.live_session_id,
        video_offset_ms=upload.video_offset_ms,
        restricted=upload.restricted,
        capture=upload.capture,
        meta=analysis_meta(analysis, judged, derived),
        dhash=to_signed(dhash) if isinstance(dhash, int) else None,
    )

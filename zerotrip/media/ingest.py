"""Evidence intake: one function from "a fully written temp file" to a stored, judged Evidence row.

Order matters and is deliberate:

1. hash and sniff the bytes (415 for anything not an accepted image/video, before any decoder);
2. store the original write-once under its SHA-256, BEFORE parsing, so nothing a decoder does
   can change what was received;
3. analyse in a bounded worker process (pixels, memory, wall clock); refusals become 422;
4. store the derived display copy and thumbnail (regenerable caches, no metadata);
5. look for reuse (same bytes or a close dHash in another case) and run the trust checks;
6. one transaction: the Evidence row, its verdict, the nonce marked used, and the audit events
   ``evidence.received``, ``evidence.verdict`` and ``evidence.derived`` on the case's chain.

A retry (same capture nonce, or the same bytes for the same checkpoint) returns the existing row.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import aiofiles  # type: ignore[import-untyped]
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.lifecycle import evidence_round
from zerotrip.cases.models import Checkpoint
from zerotrip.cases.store import lock_case
from zerotrip.config import Settings
from zerotrip.db import Database, retry_on_conflict
from zerotrip.kit.actor import SYSTEM, Actor
from zerotrip.kit.clock import utcnow
from zerotrip.media.interfaces import Storage
from zerotrip.media.judge import gather_facts, verdict_payload
from zerotrip.media.keys import display_key, original_key, thumb_key
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.media.nonce import check_usable, consume, find_nonce
from zerotrip.media.phash import to_signed
from zerotrip.media.receive import hash_file, incoming_dir
from zerotrip.media.sniff import Sniffed, sniff_file
from zerotrip.media.trust import assess
from zerotrip.media.worker import AnalysisPools, Limits
from zerotrip.problems import InvalidInput, NotFound

ORIGINS = ("capture", "gallery", "live_still", "live_photo", "recording")
# Analysis outcomes that mean "this is not a usable picture": refused with a 422.
REFUSALS = {"pixel_limit", "undecodable", "no_video", "memory_limit", "exif_unreadable"}


def analysis_limits(settings: Settings) -> Limits:
    return Limits(
        timeout_s=settings.evidence_analysis_timeout_s,
        memory_bytes=settings.evidence_analysis_memory_mb * 1024 * 1024,
        max_pixels=settings.evidence_max_pixels,
    )


def analysis_pools(settings: Settings) -> AnalysisPools:
    """The pools a service analyses evidence in (built once by the composition root)."""
    return AnalysisPools(settings.evidence_workers, analysis_limits(settings))


def evidence_kind(origin: str, sniffed: Sniffed) -> str:
    if origin in ("live_still", "live_photo"):
        return "still"
    if origin == "recording":
        return "recording"
    return "video" if sniffed.kind == "video" else "photo"


async def _existing_retry(
    db: Database, case_id: int, checkpoint_id: int | None, sha: str, capture: dict | None
) -> tuple[Evidence | None, datetime | None]:
    """The evidence this upload repeats, if it is a retry (raise if the nonce forbids it),
    and when the nonce that came with it was issued; 404 for a checkpoint of another case."""
    async with db.session() as session:
        await _checked_checkpoint(session, case_id, checkpoint_id)
        token = (capture or {}).get("nonce")
        if token and checkpoint_id is not None:
            record = await find_nonce(session, token, case_id, checkpoint_id)
            if record.evidence_id is not None:
                done = await session.get(Evidence, record.evidence_id)
                if done is not None and done.sha256 == sha:
                    return done, record.issued_at
            check_usable(record, utcnow())
            return None, record.issued_at
        stmt = select(Evidence).where(
            Evidence.case_id == case_id,
            Evidence.checkpoint_id == checkpoint_id,
            Evidence.sha256 == sha,
        )
        return (await session.exec(stmt)).first(), None


async def _checked_checkpoint(
    session: AsyncSession, case_id: int, checkpoint_id: int | None
) -> Any:
    if checkpoint_id is None:
        return None
    checkpoint = await session.get(Checkpoint, checkpoint_id)
    if checkpoint is None or checkpoint.case_id != case_id:
        raise NotFound(f"Case {case_id} has no checklist item {checkpoint_id}.")
    return checkpoint


def _public_capture(capture: dict | None) -> dict[str, Any] | None:
    """What the client said about the capture, minus the nonce secret."""
    if not capture:
        return None
    return {k: v for k, v in capture.items() if k != "nonce"}


async def _refuse(
    db: Database,
    case_id: int,
    actor: Actor,
    sha: str,
    size: int,
    sniffed: Sniffed,
    analysis: dict[str, Any],
) -> None:
    """Record the refused upload on the case's chain (its original is kept by hash), then 422."""

    async def attempt() -> None:
        async with db.transaction() as session:
            case = await lock_case(session, case_id)
            append_event(
                session,
                case,
                actor,
                "evidence.refused",
                {
                    "sha256": sha,
                    "size": size,
                    "media_type": sniffed.media_type,
                    "reason": analysis["code"],
                },
            )

    await retry_on_conflict(attempt)
    raise InvalidInput(analysis["detail"], code=analysis["code"])


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
) -> Evidence:
    """Store, analyse and judge one uploaded file; see the module docstring for the steps.

    ``digest`` is the SHA-256 and size when the caller computed them while receiving the file.
    """
    if origin not in ORIGINS:
        raise InvalidInput(f"origin must be one of {', '.join(ORIGINS)}.")
    path = Path(path)
    workdir: Path | None = None
    try:
        sha, size = digest or await asyncio.to_thread(hash_file, path)
        sniffed = await asyncio.to_thread(sniff_file, path)
        received_at = utcnow()
        existing, nonce_issued_at = await _existing_retry(db, case_id, checkpoint_id, sha, capture)
        if existing is not None:
            return existing
        await storage.put_file(original_key(sha), path)
        workdir = Path(
            tempfile.mkdtemp(
                prefix="analysis-", dir=incoming_dir(settings.media_dir or settings.data_dir)
            )
        )
        pool = pools.lane(origin)
        analysis = await pool.run(path, sniffed.kind, sniffed.pillow_format, workdir)
        if not analysis.get("ok") and analysis.get("code") in REFUSALS:
            await _refuse(db, case_id, actor, sha, size, sniffed, analysis)
        derived, facts = await asyncio.gather(  # disk writes and database reads overlap
            store_derived(storage, sha, analysis),
            gather_facts(
                db,
                settings,
                case_id=case_id,
                checkpoint_id=checkpoint_id,
                sha=sha,
                origin=origin,
                received_at=received_at,
                analysis=analysis,
                capture=capture,
                nonce_issued_at=nonce_issued_at,
            ),
        )
        judged = assess(facts)
        meta = _meta(analysis, judged, derived)
        fields: dict[str, Any] = dict(
            case_id=case_id,
            checkpoint_id=checkpoint_id,
            kind=evidence_kind(origin, sniffed),
            source=origin,
            sha256=sha,
            blob_key=original_key(sha),
            media_type=sniffed.media_type,
            size=size,
            width=analysis.get("width"),
            height=analysis.get("height"),
            duration_s=analysis.get("duration_s"),
            received_at=received_at,
            captured_at=judged["captured_at"],
            actor_kind=actor.kind,
            actor_id=actor.id,
            live_session_id=live_session_id,
            video_offset_ms=video_offset_ms,
            restricted=restricted,
            capture=_public_capture(capture),
            meta=meta,
            dhash=to_signed(analysis["dhash"]) if isinstance(analysis.get("dhash"), int) else None,
        )
        return await retry_on_conflict(
            lambda: _record(db, fields, judged, derived, actor, capture, checkpoint_id)
        )
    finally:
        path.unlink(missing_ok=True)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


async def store_derived(storage: Storage, sha: str, analysis: dict[str, Any]) -> dict[str, str]:
    """Install the display copy and thumbnail the analysis made; their hashes by name."""
    if not analysis.get("ok"):
        return {}
    await asyncio.gather(
        storage.replace_file(display_key(sha), Path(analysis["display"]["path"])),
        storage.replace_file(thumb_key(sha), Path(analysis["thumb"]["path"])),
    )
    return {"display": analysis["display"]["sha256"], "thumb": analysis["thumb"]["sha256"]}


def _meta(
    analysis: dict[str, Any], judged: dict[str, Any], derived: dict[str, str]
) -> dict[str, Any]:
    keep = ("format", "facts", "xmp_tools", "icc", "embedded_thumb_dhash", "dhash_unoriented")
    meta = {k: analysis.get(k) for k in keep if analysis.get(k) is not None}
    if not analysis.get("ok"):
        meta["analysis_error"] = {"code": analysis.get("code"), "detail": analysis.get("detail")}
    meta["time_source"] = judged["time_source"]
    meta["distance_m"] = judged["distance_m"]
    meta["derived"] = derived
    return meta


async def _record(
    db: Database,
    fields: dict[str, Any],
    judged: dict[str, Any],
    derived: dict[str, str],
    actor: Actor,
    capture: dict | None,
    checkpoint_id: int | None,
) -> Evidence:
    async with db.transaction() as session:
        case = await lock_case(session, fields["case_id"])
        checkpoint = await _checked_checkpoint(session, fields["case_id"], checkpoint_id)
        if checkpoint is not None:  # rectification: only reopened items, in their new round
            fields["round"] = evidence_round(case, checkpoint)
        nonce = None
        now = utcnow()
        if (token := (capture or {}).get("nonce")) and checkpoint_id is not None:
            nonce = await find_nonce(
                session, token, fields["case_id"], checkpoint_id, for_update=True
            )
            if nonce.evidence_id is not None:
                done = await session.get(Evidence, nonce.evidence_id)
                if done is not None and done.sha256 == fields["sha256"]:
                    return done  # a concurrent retry won the race
            check_usable(nonce, now)
        evidence = Evidence(**fields)
        session.add(evidence)
        await session.flush()
        assert evidence.id is not None
        if nonce is not None:
            consume(nonce, evidence.id, now)
            session.add(nonce)
        findings = judged["findings"]
        session.add(
            TrustVerdict(
                evidence_id=evidence.id,
                policy_version=judged["policy_version"],
                verdict=judged["verdict"],
                findings=findings,
                created_at=now,
            )
        )
        append_event(
            session,
            case,
            actor,
            "evidence.received",
            {
                "evidence": evidence.id,
                "checkpoint": checkpoint_id,
                "sha256": evidence.sha256,
                "size": evidence.size,
                "media_type": evidence.media_type,
                "origin": evidence.source,
                "nonce": nonce.id if nonce else None,
                "capture": _public_capture(capture),
                "received_at": evidence.received_at,
                "restricted": evidence.restricted,
            },
        )
        append_event(
            session,
            case,
            SYSTEM,
            "evidence.verdict",
            verdict_payload(evidence.id, judged),
        )
        if derived:
            append_event(
                session,
                case,
                SYSTEM,
                "evidence.derived",
                {"evidence": evidence.id, **derived},
            )
        return evidence


async def rederive(
    storage: Storage, settings: Settings, evidence: Evidence, *, pools: AnalysisPools
) -> dict[str, str]:
    """Make the display copy and thumbnail again from the stored original (they are caches)."""
    assert settings.media_dir is not None
    workdir = Path(tempfile.mkdtemp(prefix="rederive-", dir=incoming_dir(settings.media_dir)))
    try:
        source = workdir / "original"
        async with aiofiles.open(source, "wb") as out:
            async for chunk in storage.read(evidence.blob_key):
                await out.write(chunk)
        sniffed = await asyncio.to_thread(sniff_file, source)
        pool = pools.lane(evidence.source)
        result = await pool.run(source, sniffed.kind, sniffed.pillow_format, workdir)
        if not result.get("ok"):
            raise InvalidInput(result.get("detail", "The original cannot be decoded."))
        return await store_derived(storage, evidence.sha256, result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

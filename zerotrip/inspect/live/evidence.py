"""Where stills and recordings become evidence of the case: the one function the live session
calls, so the media pipeline can take over without touching the session code."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from zerotrip.cases.audit import Actor, append_event, utcnow
from zerotrip.cases.store import lock_case
from zerotrip.config import Settings
from zerotrip.db import Database, retry_on_conflict
from zerotrip.media.interfaces import Storage
from zerotrip.media.models import Evidence

KINDS = {"live_still": ("still", "image/jpeg"), "recording": ("recording", "video/x-matroska")}


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def store_live_evidence(
    db: Database,
    storage: Storage,
    settings: Settings,
    *,
    case_id: int,
    checkpoint_id: int | None,
    path: Path,
    origin: str,
    actor: Actor,
    capture: dict[str, Any] | None = None,
    live_session_id: int | None = None,
    video_offset_ms: int | None = None,
    meta: dict[str, Any] | None = None,
    restricted: bool = False,
) -> Evidence:
    """Store ``path`` write-once by SHA-256 and record it (with an audit event) in one step."""
    kind, media_type = KINDS[origin]
    sha, size = await asyncio.to_thread(_sha256, path)
    key = f"originals/{sha[:2]}/{sha}"
    await storage.put_file(key, path)

    async def record() -> Evidence:
        async with db.transaction() as session:
            case = await lock_case(session, case_id)
            evidence = Evidence(
                case_id=case_id,
                checkpoint_id=checkpoint_id,
                kind=kind,
                source=origin,
                sha256=sha,
                blob_key=key,
                media_type=media_type,
                size=size,
                width=(meta or {}).get("width"),
                height=(meta or {}).get("height"),
                duration_s=(meta or {}).get("duration_s"),
                received_at=utcnow(),
                actor_kind=actor.kind,
                actor_id=actor.id,
                live_session_id=live_session_id,
                video_offset_ms=video_offset_ms,
                capture=capture,
                meta=meta,
                restricted=restricted,
            )
            session.add(evidence)
            await session.flush()
            append_event(
                session,
                case,
                actor,
                "evidence.added",
                {"evidence": evidence.id, "sha256": sha, "origin": origin, "size": size},
            )
            return evidence

    return await retry_on_conflict(record)

"""Where stills and recordings become evidence of the case: the media pipeline's ``ingest_file``
(hash, write-once storage, bounded analysis, trust checks, audit events), behind the one
function the live session calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zerotrip.cases.audit import Actor
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.media.ingest import ingest_file
from zerotrip.media.interfaces import Storage
from zerotrip.media.models import Evidence


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
    restricted: bool = False,
) -> Evidence:
    """Ingest ``path`` (consumed: the pipeline removes it) as ``live_still`` or ``recording``."""
    return await ingest_file(
        db,
        storage,
        settings,
        case_id=case_id,
        checkpoint_id=checkpoint_id,
        path=path,
        origin=origin,
        actor=actor,
        capture=capture,
        live_session_id=live_session_id,
        video_offset_ms=video_offset_ms,
        restricted=restricted,
    )

"""Recording segments become evidence: a segment the recorder closed, or one left behind by a
process that died (Matroska stays readable up to its last written cluster)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from zerotrip.db import Database
from zerotrip.kit.actor import SYSTEM_LIVE
from zerotrip.live import booking
from zerotrip.live.interfaces import IngestFile
from zerotrip.live.recorder import Segment
from zerotrip.media.models import Evidence

log = logging.getLogger("zerotrip.live")


def segment_facts(segment: Segment) -> dict[str, Any]:
    return {
        "codec": segment.codec,
        "width": segment.width,
        "height": segment.height,
        "duration_s": segment.duration_ms / 1000,
        "frames": segment.frames,
        "audio_tracks": segment.audio_tracks,
        "audio_titles": segment.audio_titles,
        "audio_packets": segment.audio_packets,
        "voice_packets": segment.voice_packets,
        "segment": segment.index,
        "closed_because": segment.reason,
    }


class RecordingArchive:
    def __init__(self, db: Database, ingest: IngestFile) -> None:
        self.db = db
        self.ingest = ingest

    async def store(
        self, live_id: int, case_id: int, segment: Segment, fix: dict[str, Any] | None = None
    ) -> Evidence | None:
        """A closed segment as evidence, with the phone's latest location fix of the session
        (its trust checks judge where it was made, as for a still); on failure the file stays
        where it is (a later recovery takes it) and None is returned."""
        facts = segment_facts(segment)
        try:
            evidence = await self.ingest(
                case_id=case_id, checkpoint_id=None, path=segment.path,
                origin="recording", actor=SYSTEM_LIVE, live_session_id=live_id,
                video_offset_ms=segment.start_offset_ms, capture={**facts, **(fix or {})},
            )  # fmt: skip
            await booking.counted(
                self.db, live_id, SYSTEM_LIVE, "live.recording_finalized",
                {"evidence": evidence.id, "sha256": evidence.sha256, **facts},
                segments=1, recording_ms=segment.duration_ms,
            )  # fmt: skip
        except Exception:
            log.exception("live %s: segment %s kept at %s", live_id, segment.index, segment.path)
            return None
        return evidence

    async def recover(self, live_id: int, path: Path, file_name: str) -> Evidence:
        """A segment found after a crash, marked as recovered."""
        async with self.db.session() as session:
            live = await booking.load(session, live_id)
        evidence = await self.ingest(
            case_id=live.case_id, checkpoint_id=None, path=path, origin="recording",
            actor=SYSTEM_LIVE, live_session_id=live_id,
            capture={"recovered_after_crash": True, "file": file_name},
        )  # fmt: skip
        await booking.counted(
            self.db, live_id, SYSTEM_LIVE, "live.recording_finalized",
            {"evidence": evidence.id, "sha256": evidence.sha256, "recovered": True},
            segments=1,
        )  # fmt: skip
        return evidence

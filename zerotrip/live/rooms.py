"""The live sessions running in this process: opening rooms on first join, capturing stills
into evidence, and finalizing every recording when the process shuts down."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from zerotrip.cases.models import Case, Checkpoint
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.actor import SYSTEM_LIVE
from zerotrip.kit.clock import Clock
from zerotrip.kit.reactions import Reactions
from zerotrip.live import booking, passthrough
from zerotrip.live.room import Participant, Room
from zerotrip.live.signalling import APPLICANT
from zerotrip.media.ingest import ingest_file
from zerotrip.media.interfaces import Storage
from zerotrip.media.models import Evidence
from zerotrip.media.worker import AnalysisPools
from zerotrip.problems import NotFound, RateLimited

log = logging.getLogger("zerotrip.live")


class Rooms:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        storage: Storage,
        clock: Clock,
        pools: AnalysisPools,
        reactions: Reactions,
    ) -> None:
        passthrough.install()
        self.settings = settings
        self.db = db
        self.storage = storage
        self.clock = clock
        self.pools = pools
        self.reactions = reactions
        self.rooms: dict[int, Room] = {}
        self._lock = asyncio.Lock()

    async def open(self, live_id: int) -> Room:
        """The room of a session, opened on first join."""
        async with self._lock:
            room = self.rooms.get(live_id)
            if room is not None and not room.closed:
                return room
            if len(self.rooms) >= self.settings.live_max_sessions:
                raise RateLimited("This server is running as many live sessions as it can.")
            async with self.db.session() as session:
                live = await booking.load(session, live_id)
                case = await session.get(Case, live.case_id)
            assert case is not None
            room = Room(self, live_id, live.case_id, (case.premises_lat, case.premises_lon))
            self.rooms[live_id] = room
            self.pools.warm("live_still", "recording")  # no start-up wait later
            return room

    def forget(self, room: Room) -> None:
        if self.rooms.get(room.live_id) is room:
            del self.rooms[room.live_id]

    async def close_all(self, reason: str) -> None:
        """Shutdown: mark sessions interrupted (they can be rejoined after a restart) and
        finalize every recording."""
        for room in list(self.rooms.values()):
            try:
                await room.interrupt(reason)
            except Exception:
                log.exception("live %s: shutting down", room.live_id)
                await room.close(reason)

    async def recover_orphans(self) -> int:
        """After a crash: segments left in the working folder (Matroska stays readable up to
        the last written cluster) become evidence, marked as recovered. Returns how many."""
        root = Path(self.settings.data_dir) / "live"
        found = sorted(await asyncio.to_thread(lambda: list(root.glob("*/segment-*.mkv"))))
        recovered = 0
        for path in found:
            if not path.parent.name.isdigit() or int(path.parent.name) in self.rooms:
                continue
            live_id = int(path.parent.name)
            try:
                async with self.db.session() as session:
                    live = await booking.load(session, live_id)
                evidence = await ingest_file(
                    self.db, self.storage, self.settings, pools=self.pools,
                    case_id=live.case_id, checkpoint_id=None, path=path, origin="recording",
                    actor=SYSTEM_LIVE, live_session_id=live_id,
                    capture={"recovered_after_crash": True, "file": path.name},
                )  # fmt: skip
                await booking.counted(
                    self.db, live_id, SYSTEM_LIVE, "live.recording_finalized",
                    {"evidence": evidence.id, "sha256": evidence.sha256, "recovered": True},
                    segments=1,
                )  # fmt: skip
                recovered += 1
            except Exception:
                log.exception("live: could not recover %s", path)
        return recovered

    async def checkpoint(self, case_id: int, checkpoint_id: int) -> Checkpoint:
        async with self.db.session() as session:
            checkpoint = await session.get(Checkpoint, checkpoint_id)
        if checkpoint is None or checkpoint.case_id != case_id:
            raise NotFound(f"No checkpoint {checkpoint_id} in this case.")
        return checkpoint

    async def evidence_of(self, case_id: int, evidence_id: int, checkpoint_id: int) -> Evidence:
        async with self.db.session() as session:
            evidence = await session.get(Evidence, evidence_id)
        if (
            evidence is None
            or evidence.case_id != case_id
            or evidence.checkpoint_id != checkpoint_id
        ):
            raise NotFound(f"No evidence {evidence_id} for that checkpoint of this case.")
        return evidence

    async def capture_still(
        self, room: Room, participant: Participant, checkpoint_id: int
    ) -> dict[str, Any]:
        """Click to stored JPEG: keyframe request, one decode, evidence, audit, both screens."""
        clicked = time.monotonic()
        checkpoint = await self.checkpoint(room.case_id, checkpoint_id)
        still = await room.stills.grab()
        grabbed = time.monotonic()
        path = room.workdir / f"still-{uuid.uuid4().hex}.jpg"
        await asyncio.to_thread(_write, path, still.jpeg)
        offset = room.recorder.offset_ms(still.arrival)
        capture: dict[str, Any] = {
            "source": "server keyframe",
            "fresh_keyframe": still.fresh,
            "taken_at": int(time.time() * 1000 - (time.monotonic() - still.arrival) * 1000),
            **(room.last_fix or {}),
        }
        evidence = await ingest_file(
            self.db, self.storage, self.settings, pools=self.pools,
            case_id=room.case_id, checkpoint_id=checkpoint_id, path=path,
            origin="live_still", actor=participant.actor, live_session_id=room.live_id,
            video_offset_ms=offset, capture=capture, restricted=checkpoint.restricted,
        )  # fmt: skip
        latency_ms = round((time.monotonic() - clicked) * 1000, 1)
        room.still_latencies_ms.append(latency_ms)
        await booking.counted(
            self.db, room.live_id, participant.actor, "live.still_captured",
            {"evidence": evidence.id, "checkpoint": checkpoint_id, "sha256": evidence.sha256,
             "video_offset_ms": offset},
            stills=1,
        )  # fmt: skip
        message = {
            "type": "still",
            "evidence_id": evidence.id,
            "checkpoint_id": checkpoint_id,
            "width": still.width,
            "height": still.height,
            "video_offset_ms": offset,
            "latency_ms": latency_ms,
            "grab_ms": round((grabbed - clicked) * 1000, 1),  # keyframe request, decode, JPEG
            "url": f"/api/live/sessions/{room.live_id}/stills/{evidence.id}",
        }
        applicant = room.participants.get(APPLICANT)
        if applicant is not None:
            await applicant.send(message)
        return message


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

"""The inspector's click to a stored JPEG: keyframe request, one decode, evidence tied to the
checkpoint and the video offset, an audit event, and the still shown on both screens."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zerotrip.db import Database
from zerotrip.live import booking, references
from zerotrip.live.interfaces import IngestFile
from zerotrip.live.participant import Participant, Seats
from zerotrip.live.signalling import Capture
from zerotrip.live.stills import StillGrabber


class StillCapture:
    def __init__(
        self,
        live_id: int,
        case_id: int,
        *,
        grabber: StillGrabber,
        seats: Seats,
        db: Database,
        ingest: IngestFile,
        workdir: Path,
        video_offset_ms: Callable[[float], int | None],
        last_fix: Callable[[], dict[str, Any] | None],
    ) -> None:
        self.live_id = live_id
        self.case_id = case_id
        self.grabber = grabber
        self.seats = seats
        self.db = db
        self.ingest = ingest
        self.workdir = workdir
        self.video_offset_ms = video_offset_ms
        self.last_fix = last_fix
        self.latencies_ms: list[float] = []

    async def on_capture(self, participant: Participant, message: Capture) -> dict[str, Any]:
        checkpoint_id = message.checkpoint_id
        clicked = time.monotonic()
        checkpoint = await references.checkpoint_of_case(self.db, self.case_id, checkpoint_id)
        name = f"still-{uuid.uuid4().hex}"
        path, derived = self.workdir / f"{name}.jpg", self.workdir / name
        try:
            return await self._capture(participant, checkpoint, clicked, path, derived)
        finally:
            await asyncio.to_thread(shutil.rmtree, derived, True)

    async def _capture(
        self, participant: Participant, checkpoint: Any, clicked: float, path: Path, derived: Path
    ) -> dict[str, Any]:
        """Decode the keyframe once: the JPEG, its display copy and thumbnail all come from
        that one decoded frame, in the grabbing thread; no worker analyses the JPEG again."""
        checkpoint_id = checkpoint.id
        still = await self.grabber.grab(derived=derived)
        grabbed = time.monotonic()
        await asyncio.to_thread(_write, path, still.jpeg)
        offset = self.video_offset_ms(still.arrival)
        capture: dict[str, Any] = {
            "source": "server keyframe",
            "fresh_keyframe": still.fresh,
            "taken_at": int(time.time() * 1000 - (time.monotonic() - still.arrival) * 1000),
            **(self.last_fix() or {}),
        }
        evidence = await self.ingest(
            case_id=self.case_id, checkpoint_id=checkpoint_id, path=path,
            origin="live_still", actor=participant.actor, live_session_id=self.live_id,
            video_offset_ms=offset, capture=capture, restricted=checkpoint.restricted,
            analysis=still.analysis,
        )  # fmt: skip
        latency_ms = round((time.monotonic() - clicked) * 1000, 1)
        self.latencies_ms.append(latency_ms)
        await booking.counted(
            self.db, self.live_id, participant.actor, "live.still_captured",
            {"evidence": evidence.id, "checkpoint": checkpoint_id, "sha256": evidence.sha256,
             "video_offset_ms": offset},
            stills=1,
        )  # fmt: skip
        shown = {
            "type": "still",
            "evidence_id": evidence.id,
            "checkpoint_id": checkpoint_id,
            "width": still.width,
            "height": still.height,
            "video_offset_ms": offset,
            "latency_ms": latency_ms,
            "grab_ms": round((grabbed - clicked) * 1000, 1),  # keyframe request, decode, JPEG
            "url": f"/api/live/sessions/{self.live_id}/stills/{evidence.id}",
        }
        applicant = self.seats.get("applicant")
        if applicant is not None:
            await applicant.send(shown)
        return shown


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

"""A session's recording as staff watch it: its segments laid on one timeline (each at its
offset in the session's recording), and chapter marks read back from the case's audit trail
(stills, photo requests, pointers, prompts, challenge codes, and where the inspector moved on
to another checkpoint), so the playback shows what happened when.

The marks come from the audit trail rather than a table of their own: they are already there,
hash-chained, each with the video offset it was recorded at."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel
from sqlmodel import select

from zerotrip.cases.models import AuditEvent, Case, Checkpoint
from zerotrip.db import Database
from zerotrip.live import booking
from zerotrip.media.keys import original_key
from zerotrip.media.models import Evidence
from zerotrip.problems import NotFound

# audit kind -> chapter kind
MARKS = {
    "live.still_captured": "still",
    "live.photo_requested": "photo",
    "live.pointer": "pointer",
    "live.prompt": "prompt",
    "live.challenge_issued": "challenge",
    "live.challenge_answered": "challenge",
}
EXTENSIONS = {"video/x-matroska": "mkv", "video/webm": "webm", "video/mp4": "mp4"}


class Segment(BaseModel):
    evidence_id: int
    index: int
    start_s: float  # on the session's recording timeline
    duration_s: float
    codec: str | None
    width: int | None
    height: int | None
    audio_tracks: list[str]
    audio_titles: list[str] = []  # who speaks on each track (a guest by name)
    file_name: str
    url: str  # plays in the page
    download_url: str  # the same bytes, saved under ``file_name``


class PointerShape(BaseModel):
    """A pointer as the phone showed it: fractions of the frame."""

    shape: str  # circle | arrow
    x: float
    y: float
    x2: float | None = None
    y2: float | None = None


class Chapter(BaseModel):
    at_s: float
    kind: str  # still | photo | pointer | prompt | challenge | checkpoint
    label: str  # short text in the data's own words (a prompt's text, a code and its result)
    checkpoint_id: int | None = None
    pointer: PointerShape | None = None  # a pointer's shape, drawn again over the playback


class RecordingView(BaseModel):
    session_id: int
    case_id: int
    case_reference: str
    duration_s: float
    segments: list[Segment]
    chapters: list[Chapter]


def file_name(reference: str, live_id: int, index: int, media_type: str) -> str:
    """e.g. ``ZT261130-1C34CF-live-12-part-02.mkv``: what a saved copy is called."""
    safe = re.sub(r"[^A-Za-z0-9-]", "", reference) or "case"
    return f"{safe}-live-{live_id}-part-{index:02d}.{EXTENSIONS.get(media_type, 'bin')}"


async def recording_view(db: Database, live_id: int) -> RecordingView:
    async with db.session() as session:
        live = await booking.load(session, live_id)
        case = await session.get(Case, live.case_id)
        assert case is not None
        rows = (
            await session.exec(
                select(Evidence)
                .where(Evidence.live_session_id == live_id, Evidence.kind == "recording")
                .order_by(Evidence.id)
            )
        ).all()
        events = (
            await session.exec(
                select(AuditEvent.kind, AuditEvent.payload)
                .where(AuditEvent.case_id == live.case_id, AuditEvent.kind.in_(list(MARKS)))
                .order_by(AuditEvent.seq)
            )
        ).all()
        titles = {
            cp.id: cp.title_zh
            for cp in (
                await session.exec(select(Checkpoint).where(Checkpoint.case_id == live.case_id))
            ).all()
        }
    segments = [_segment(case.reference, live_id, n, ev) for n, ev in enumerate(rows, 1)]
    segments.sort(key=lambda s: s.start_s)
    duration = max((s.start_s + s.duration_s for s in segments), default=0.0)
    marks = [json.loads(payload) | {"_kind": kind} for kind, payload in events]
    return RecordingView(
        session_id=live_id,
        case_id=live.case_id,
        case_reference=case.reference,
        duration_s=duration,
        segments=segments,
        chapters=_chapters([m for m in marks if m.get("session") == live_id], titles),
    )


def _segment(reference: str, live_id: int, n: int, ev: Evidence) -> Segment:
    facts = ev.capture or {}
    index = int(facts.get("segment", n))
    base = f"/api/live/sessions/{live_id}/recording/{ev.id}"
    return Segment(
        evidence_id=ev.id or 0,
        index=index,
        start_s=(ev.video_offset_ms or 0) / 1000,
        duration_s=float(ev.duration_s or facts.get("duration_s") or 0),
        codec=facts.get("codec"),
        width=ev.width or facts.get("width"),
        height=ev.height or facts.get("height"),
        audio_tracks=list(facts.get("audio_tracks") or []),
        audio_titles=list(facts.get("audio_titles") or facts.get("audio_tracks") or []),
        file_name=file_name(reference, live_id, index, ev.media_type),
        url=base,
        download_url=f"{base}?download=1",
    )


def _chapters(marks: list[dict[str, Any]], titles: dict[int | None, str]) -> list[Chapter]:
    """Each mark with an offset, plus a "checkpoint" chapter where the checkpoint changes."""
    out: list[Chapter] = []
    current: int | None = None
    for mark in marks:
        offset = mark.get("video_offset_ms")
        if not isinstance(offset, int):
            continue  # before the recording's first frame: nowhere to put it
        kind = MARKS[mark["_kind"]]
        at = offset / 1000
        checkpoint = mark.get("checkpoint")
        if isinstance(checkpoint, int) and checkpoint != current:
            current = checkpoint
            out.append(Chapter(at_s=at, kind="checkpoint", label=titles.get(checkpoint, ""),
                               checkpoint_id=checkpoint))  # fmt: skip
        shape = None
        if kind == "pointer":
            shape = PointerShape.model_validate(
                {k: mark[k] for k in ("shape", "x", "y", "x2", "y2") if k in mark}
            )
        out.append(Chapter(at_s=at, kind=kind, label=_label(kind, mark, titles),
                           checkpoint_id=checkpoint if isinstance(checkpoint, int) else None,
                           pointer=shape))  # fmt: skip
    out.sort(key=lambda c: c.at_s)
    return out


def _label(kind: str, mark: dict[str, Any], titles: dict[int | None, str]) -> str:
    if kind == "prompt":
        return str(mark.get("text", ""))[:80]
    if kind == "challenge":
        return f"{mark.get('code', '')} {mark.get('result') or ''}".strip()
    if kind == "pointer":
        return str(mark.get("shape", ""))
    return titles.get(mark.get("checkpoint"), "")


async def segment_file(db: Database, live_id: int, evidence_id: int) -> tuple[str, str, str]:
    """The storage key, media type and file name of one of the session's segments."""
    async with db.session() as session:
        evidence = await session.get(Evidence, evidence_id)
        live = await booking.load(session, live_id)
        case = await session.get(Case, live.case_id)
    if evidence is None or evidence.live_session_id != live_id or evidence.kind != "recording":
        raise NotFound(
            f"No recording {evidence_id} in this session.",
            zh=f"本次视频踏勘中没有编号为 {evidence_id} 的录像。",
        )
    assert case is not None
    index = int((evidence.capture or {}).get("segment", 0))
    name = file_name(case.reference, live_id, index, evidence.media_type)
    return original_key(evidence.sha256), evidence.media_type, name

"""Server-side recording from the hub's ENCODED packets: no decode, no re-encode.

aiortc's MediaRecorder always re-encodes (53-88% of a core for 720p), fixes the resolution at
the first (low, ramp-up) frame and leaves plain mp4 unreadable after a crash (research/aiortc.md
section 7). Here packets are muxed with PyAV into Matroska, which stays readable up to the last
written cluster if the process dies. The recording is cut into segments that each start on a
keyframe (requested with a PLI), so a crash loses at most the open segment's tail, and every
closed segment becomes evidence at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from zerotrip.inspect.live.passthrough import PacketInfo

log = logging.getLogger("zerotrip.live")

VIDEO_TB = Fraction(1, 90000)
AUDIO_ENCODERS = {"opus": "libopus"}
CONTAINER = "matroska"
SUFFIX = ".mkv"


@dataclass
class Segment:
    index: int
    path: Path
    codec: str
    width: int
    height: int
    start_offset_ms: int  # from the start of the whole recording
    started_at: float  # monotonic arrival of its first keyframe
    frames: int = 0
    audio_packets: int = 0
    last_video_pts: int = 0
    reason: str = ""

    @property
    def duration_ms(self) -> int:
        return int(self.last_video_pts * 1000 / 90000)


def frame_size(codec: str, data: bytes) -> tuple[int, int]:
    """Width and height of a keyframe: read from the VP8 header, else decode it once."""
    if codec == "vp8" and len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[6:8], "little") & 0x3FFF
        height = int.from_bytes(data[8:10], "little") & 0x3FFF
        return width, height
    decoder = av.CodecContext.create(codec, "r")
    for frame in decoder.decode(av.Packet(data)):
        return frame.width, frame.height
    raise ValueError(f"cannot read the size of a {codec} keyframe")


@dataclass
class _Open:
    segment: Segment
    container: Any
    video: Any
    audio: Any | None
    audio_base: int | None = None
    last_audio_pts: int = -1
    video_base: int = 0
    last_video_pts: int = -1


@dataclass
class SegmentRecorder:
    """Writes one session's video (and the applicant's audio) into rotating Matroska files."""

    workdir: Path
    segment_seconds: float
    on_segment: Callable[[Segment], Awaitable[None]]
    request_keyframe: Callable[[], None]
    audio_codec: Callable[[], str | None] = lambda: None
    origin: float | None = None  # monotonic time of the recording's first keyframe
    segments: list[Segment] = field(default_factory=list)
    _open: _Open | None = None
    _rotate_due: bool = False
    _closed: bool = False
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.request_keyframe()

    def offset_ms(self, arrival: float) -> int | None:
        """Where a moment falls in the recording (for stills and challenge codes)."""
        if self.origin is None:
            return None
        return max(0, int((arrival - self.origin) * 1000))

    def write_video(self, packet: av.Packet) -> None:
        if self._closed:
            return
        info: PacketInfo = packet.opaque
        current = self._open
        if current is not None and (
            info.codec != current.segment.codec or (self._rotate_due and packet.is_keyframe)
        ):
            self._close("rotate" if info.codec == current.segment.codec else "codec change")
            current = None
        if current is None:
            if not packet.is_keyframe:
                return
            try:
                current = self._open_segment(packet, info)
            except (ValueError, av.FFmpegError) as exc:
                log.warning("recorder: cannot start a segment: %s", exc)
                return
        if (
            not self._rotate_due
            and info.arrival - current.segment.started_at >= self.segment_seconds
        ):
            self._rotate_due = True
            self.request_keyframe()
        pts = packet.pts - current.video_base
        if pts <= current.last_video_pts:
            pts = current.last_video_pts + 1
        self._mux(current, current.video, packet, pts, VIDEO_TB)
        current.last_video_pts = pts
        current.segment.frames += 1
        current.segment.last_video_pts = pts

    def write_audio(self, packet: av.Packet) -> None:
        current = self._open
        if self._closed or current is None or current.audio is None:
            return
        info: PacketInfo = packet.opaque
        rate = packet.time_base.denominator
        if current.audio_base is None:
            lead = int((info.arrival - current.segment.started_at) * rate)
            if lead < 0:
                return
            current.audio_base = packet.pts - lead
        pts = packet.pts - current.audio_base
        if pts <= current.last_audio_pts:
            return
        self._mux(current, current.audio, packet, pts, packet.time_base)
        current.last_audio_pts = pts
        current.segment.audio_packets += 1

    def _open_segment(self, packet: av.Packet, info: PacketInfo) -> _Open:
        width, height = frame_size(info.codec, bytes(packet))
        if self.origin is None:
            self.origin = info.arrival
        index = len(self.segments) + 1
        path = self.workdir / f"segment-{index:04d}{SUFFIX}"
        container = av.open(str(path), "w", format=CONTAINER)
        try:
            video = container.add_stream(info.codec)
            video.width, video.height = width, height
            audio = None
            audio_codec = self.audio_codec()
            if audio_codec in AUDIO_ENCODERS:
                audio = container.add_stream(AUDIO_ENCODERS[audio_codec], rate=48000)
        except BaseException:
            container.close()
            raise
        segment = Segment(
            index=index,
            path=path,
            codec=info.codec,
            width=width,
            height=height,
            start_offset_ms=int((info.arrival - self.origin) * 1000),
            started_at=info.arrival,
        )
        self.segments.append(segment)
        self._rotate_due = False
        self._open = _Open(segment, container, video, audio, video_base=packet.pts)
        return self._open

    def _mux(self, current: _Open, stream: Any, packet: av.Packet, pts: int, tb: Fraction) -> None:
        # The hub shares the packet with the relay: mux a copy (muxing rewrites timestamps).
        copy = av.Packet(bytes(packet))
        copy.pts = copy.dts = pts
        copy.time_base = tb
        copy.is_keyframe = packet.is_keyframe
        copy.stream = stream
        try:
            current.container.mux(copy)
        except av.FFmpegError as exc:
            log.warning("recorder: dropping a packet that cannot be muxed: %s", exc)

    def _close(self, reason: str) -> None:
        current, self._open = self._open, None
        if current is None:
            return
        current.segment.reason = reason
        try:
            current.container.close()
        except av.FFmpegError as exc:
            log.warning("recorder: closing %s: %s", current.segment.path, exc)
        task = asyncio.ensure_future(self.on_segment(current.segment))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def cut(self, reason: str) -> None:
        """Close the open segment (its source ended or dropped); a rejoin opens the next one."""
        self._close(reason)

    async def finalize(self, reason: str) -> list[Segment]:
        """Close the open segment and wait until every segment has been handed over."""
        self._closed = True
        self._close(reason)
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        return self.segments

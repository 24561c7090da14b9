"""Server-side recording from the hub's ENCODED packets: no decode, no re-encode.

aiortc's MediaRecorder always re-encodes (53-88% of a core for 720p), fixes the resolution at
the first (low, ramp-up) frame and leaves plain mp4 unreadable after a crash (research/aiortc.md
section 7). Here packets are muxed with PyAV into Matroska, which stays readable up to the last
written cluster if the process dies. The recording is cut into segments that each start on a
keyframe (requested with a PLI), so a crash loses at most the open segment's tail, and every
closed segment becomes evidence at once.

Each audio source is its own named track (a lane): the applicant's microphone and the
inspector's voice, so the record holds what the inspector asked for as well as what was heard on
site. A Matroska file cannot gain a track once written, so when a source's codec becomes known
(the inspector joins after the recording started) the open segment is cut at the next keyframe.
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

from zerotrip.live.passthrough import PacketInfo

log = logging.getLogger("zerotrip.live")

VIDEO_TB = Fraction(1, 90000)
AUDIO_ENCODERS = {"opus": "libopus"}
CONTAINER = "matroska"
SUFFIX = ".mkv"
APPLICANT_LANE = "applicant"
INSPECTOR_LANE = "inspector"


@dataclass(frozen=True)
class AudioLane:
    """One audio source recorded as its own track, titled ``name`` so a player tells them
    apart; ``codec`` says what it sends (negotiated or seen), None while unknown."""

    name: str
    codec: Callable[[], str | None]
    title: Callable[[], str] | None = None  # who speaks, when not the lane's name (a guest)

    def titled(self) -> str:
        return (self.title() if self.title is not None else "") or self.name


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
    audio: dict[str, int] = field(default_factory=dict)  # packets per audio track, in file order
    titles: dict[str, str] = field(default_factory=dict)  # each audio track's title (who speaks)
    last_video_pts: int = 0
    reason: str = ""

    @property
    def duration_ms(self) -> int:
        return int(self.last_video_pts * 1000 / 90000)

    @property
    def audio_packets(self) -> int:
        """The applicant's microphone."""
        return self.audio.get(APPLICANT_LANE, 0)

    @property
    def voice_packets(self) -> int:
        """The inspector's voice."""
        return self.audio.get(INSPECTOR_LANE, 0)

    @property
    def audio_tracks(self) -> list[str]:
        return list(self.audio)

    @property
    def audio_titles(self) -> list[str]:
        """The tracks' titles in file order: the lane's name, or the guest's name."""
        return [self.titles.get(lane, lane) for lane in self.audio]


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
class _Track:
    """An audio lane's stream in the open segment, aligned on its own first packet's arrival."""

    stream: Any
    codec: str
    title: str = ""
    base: int | None = None
    last_pts: int = -1


@dataclass
class _Open:
    segment: Segment
    container: Any
    video: Any
    audio: dict[str, _Track]
    video_base: int = 0
    last_video_pts: int = -1


@dataclass
class SegmentRecorder:
    """Writes one session's video and its audio lanes into rotating Matroska files."""

    workdir: Path
    segment_seconds: float
    on_segment: Callable[[Segment], Awaitable[None]]
    request_keyframe: Callable[[], None]
    audio_lanes: tuple[AudioLane, ...] = ()
    origin: float | None = None  # monotonic time of the recording's first keyframe
    segments: list[Segment] = field(default_factory=list)
    _open: _Open | None = None
    _rotate_due: str = ""  # why the open segment closes at the next keyframe
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
            codec_changed = info.codec != current.segment.codec
            self._close("codec change" if codec_changed else self._rotate_due)
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
            self._rotate_at_next_keyframe("rotate")
        pts = packet.pts - current.video_base
        if pts <= current.last_video_pts:
            pts = current.last_video_pts + 1
        self._mux(current, current.video, packet, pts, VIDEO_TB)
        current.last_video_pts = pts
        current.segment.frames += 1
        current.segment.last_video_pts = pts

    def audio_sink(self, lane: str) -> Callable[[av.Packet], None]:
        """What a hub calls with each packet of the source recorded as ``lane``."""

        def sink(packet: av.Packet) -> None:
            self.write_audio(lane, packet)

        return sink

    def write_audio(self, lane: str, packet: av.Packet) -> None:
        current = self._open
        track = current.audio.get(lane) if current is not None else None
        if self._closed or current is None or track is None:
            return
        info: PacketInfo = packet.opaque
        if info.codec != track.codec:  # renegotiated: this stream cannot hold it
            self.lanes_changed()
            return
        rate = packet.time_base.denominator
        if track.base is None:
            lead = int((info.arrival - current.segment.started_at) * rate)
            if lead < 0:
                return
            track.base = packet.pts - lead
        pts = packet.pts - track.base
        if pts <= track.last_pts:
            return
        self._mux(current, track.stream, packet, pts, packet.time_base)
        track.last_pts = pts
        current.segment.audio[lane] += 1

    def lanes_changed(self) -> None:
        """A participant (re)negotiated: if the open segment lacks a track that can now be
        recorded, or holds one whose codec changed, cut it at the next keyframe."""
        current = self._open
        if self._closed or current is None or self._rotate_due:
            return
        held = {lane: (track.codec, track.title) for lane, track in current.audio.items()}
        if held != self._lane_codecs():
            self._rotate_at_next_keyframe("audio tracks changed")

    def _lane_codecs(self) -> dict[str, tuple[str, str]]:
        """Each recordable lane's codec and title (a new guest's voice is a new track)."""
        return {
            lane.name: (codec, lane.titled())
            for lane in self.audio_lanes
            if (codec := lane.codec()) in AUDIO_ENCODERS
        }

    def _rotate_at_next_keyframe(self, reason: str) -> None:
        self._rotate_due = reason
        self.request_keyframe()

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
            audio: dict[str, _Track] = {}
            for lane, (codec, title) in self._lane_codecs().items():
                stream = container.add_stream(AUDIO_ENCODERS[codec], rate=48000)
                stream.metadata["title"] = title  # Matroska track name: who is speaking
                audio[lane] = _Track(stream, codec, title)
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
            audio=dict.fromkeys(audio, 0),
            titles={lane: track.title for lane, track in audio.items()},
        )
        self.segments.append(segment)
        self._rotate_due = ""
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

    def rotate(self, reason: str) -> None:
        """Close the open segment at the next keyframe (one is asked for), as the periodic
        rotation does: the recording goes on without a gap."""
        if not self._closed and self._open is not None and not self._rotate_due:
            self._rotate_at_next_keyframe(reason)

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

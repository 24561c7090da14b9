"""Stills from the live video: on the inspector's click, ask the phone for a keyframe, decode
that one frame in a worker thread and encode a JPEG (research/aiortc.md 11.3, option B: nothing
is decoded until someone asks, so a still costs one keyframe decode, ~5-20 ms)."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from zerotrip.live.hub import Hub
from zerotrip.live.passthrough import PacketInfo
from zerotrip.media.frames import analyse_frame
from zerotrip.problems import Conflict

JPEG_QUALITY = 90


@dataclass(frozen=True)
class Still:
    jpeg: bytes
    width: int
    height: int
    arrival: float  # monotonic arrival of the keyframe it shows
    requested_at: float
    fresh: bool  # False: the keyframe requested did not come in time, the last one was used
    analysis: dict[str, Any] | None = field(default=None, repr=False)  # see media/frames.py


def encode_jpeg(
    codec: str, data: bytes, derived: Path | None = None
) -> tuple[bytes, int, int, dict[str, Any] | None]:
    """Decode one keyframe and encode it as a JPEG (blocking: run it in a thread); with
    ``derived``, also its display copy and thumbnail from the same decoded frame, there."""
    decoder = av.CodecContext.create(codec, "r")
    frames = list(decoder.decode(av.Packet(data)))
    if not frames:
        frames = list(decoder.decode(None))
    if not frames:
        raise ValueError(f"the {codec} keyframe did not decode")
    frame = frames[-1]
    out = io.BytesIO()
    image = frame.to_image()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    analysis = analyse_frame(image, derived) if derived is not None else None
    return out.getvalue(), frame.width, frame.height, analysis


class StillGrabber:
    """Waits for the next keyframe of a video hub after a request."""

    def __init__(self, hub: Hub, timeout_s: float) -> None:
        self.hub = hub
        self.timeout_s = timeout_s
        self._waiters: list[asyncio.Future[av.Packet]] = []
        hub.add_sink(self._on_packet)

    def _on_packet(self, packet: av.Packet) -> None:
        if packet.is_keyframe and self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(packet)

    async def grab(self, attempts: int = 2, derived: Path | None = None) -> Still:
        """The next keyframe as a JPEG (and, with ``derived``, its analysis: see
        :func:`encode_jpeg`); a keyframe that does not decode (damaged on the way) is skipped
        for the one after it."""
        requested = time.monotonic()
        for _ in range(attempts):
            packet, fresh = await self._next_keyframe()
            info: PacketInfo = packet.opaque
            try:
                jpeg, width, height, analysis = await asyncio.to_thread(
                    encode_jpeg, info.codec, bytes(packet), derived
                )
            except (av.FFmpegError, ValueError):
                continue
            return Still(jpeg, width, height, info.arrival, requested, fresh, analysis)
        raise Conflict(
            "The video from the phone could not be decoded; try again.",
            zh="无法解码手机传来的视频，请重试。",
        )

    async def _next_keyframe(self) -> tuple[av.Packet, bool]:
        waiter: asyncio.Future[av.Packet] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.hub.request_keyframe("still", force=True)
        try:
            return await asyncio.wait_for(waiter, self.timeout_s), True
        except TimeoutError:
            packet = self.hub.last_keyframe
            if packet is None:
                raise Conflict(
                    "No video has arrived from the applicant yet.", zh="尚未收到申请人的视频画面。"
                ) from None
            return packet, False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def close(self) -> None:
        self.hub.remove_sink(self._on_packet)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()

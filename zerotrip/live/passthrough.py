"""Receive ENCODED media from aiortc: the receiver's decoder worker replaced by one that wraps
each reassembled frame as an ``av.Packet`` instead of decoding it.

aiortc (pinned at 1.16.0) decodes every received frame in a thread per receiver and has no
public switch to stop that; decoding 720p costs 6-14% of a core per stream and re-encoding for
a viewer ~70% (research/aiortc.md sections 1-2). Swapping the module-level ``decoder_worker``
makes ``RemoteStreamTrack.recv()`` yield packets, which an ``RTCRtpSender`` only packetizes.

Private internals used here, all pinned by ``tests/live/test_aiortc_contract.py``:

* ``aiortc.rtcrtpreceiver.decoder_worker(loop, input_q, output_q, decode_error)`` — the name the
  receiver looks up when ``receive()`` starts its thread, and its argument list, where
  ``output_q`` is the ``RemoteStreamTrack._queue`` of the receiver's track;
* the input queue carries ``(codec, JitterFrame)`` tuples and ``None`` at the end;
* ``RTCRtpReceiver._send_rtcp_pli(media_ssrc)`` to ask the sender for a keyframe;
* ``RTCRtpSender._send_keyframe()`` (called on an incoming PLI/FIR) to forward a viewer's
  keyframe request upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import aiortc
import av
from aiortc import rtcrtpreceiver

PINNED_AIORTC = "1.16.0"


@dataclass(frozen=True, slots=True)
class PacketInfo:
    """What the relay needs to know about a packet, carried in ``av.Packet.opaque``."""

    codec: str  # lower-case codec name: vp8 | h264 | opus | pcmu | ...
    kind: str  # audio | video
    arrival: float  # time.monotonic() when the frame was reassembled


def is_keyframe(codec: str, data: bytes) -> bool:
    """Whether an encoded frame can be decoded on its own (a relay may start there)."""
    if not data:
        return False
    if codec == "vp8":
        return data[0] & 0x01 == 0  # frame tag: inverse keyframe flag
    if codec == "h264":
        return any(nal_type in (5, 7) for nal_type in _h264_nal_types(data))
    return True  # audio: every packet stands alone


def _h264_nal_types(data: bytes) -> list[int]:
    types = []
    start = data.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(data):
        types.append(data[start + 3] & 0x1F)
        start = data.find(b"\x00\x00\x01", start + 3)
    return types


def wrap(codec_name: str, kind: str, clock_rate: int, data: bytes, timestamp: int) -> av.Packet:
    """One reassembled frame as a timestamped packet with its keyframe flag set."""
    packet = av.Packet(data)
    packet.pts = timestamp
    packet.dts = timestamp
    packet.time_base = Fraction(1, clock_rate)
    packet.is_keyframe = is_keyframe(codec_name, data)
    packet.opaque = PacketInfo(codec_name, kind, time.monotonic())
    return packet


# A track queue carrying this attribute gets encoded packets. Other receivers in the process
# (tests' client peers, the bench's transcoding reference) keep aiortc's decoding worker.
ENCODED_MARK = "_zerotrip_encoded"
_ORIGINAL_WORKER = rtcrtpreceiver.decoder_worker


def mark_encoded(pc: Any) -> None:
    """Make ``pc``'s receivers yield packets; call after ``setRemoteDescription``."""
    for transceiver in pc.getTransceivers():
        track = transceiver.receiver.track
        if track is not None:
            setattr(track._queue, ENCODED_MARK, True)


def dispatching_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue,
    output_q: asyncio.Queue,
    decode_error: threading.Event,
) -> None:
    """Drop-in for ``decoder_worker``: encoded passthrough for marked tracks, else decode."""
    if getattr(output_q, ENCODED_MARK, False):
        passthrough_worker(input_q, output_q, loop)
    else:
        _ORIGINAL_WORKER(loop, input_q, output_q, decode_error)


def passthrough_worker(
    input_q: queue.Queue, output_q: asyncio.Queue, loop: asyncio.AbstractEventLoop
) -> None:
    """Hand each reassembled frame to the track as a packet, in the event loop; never decode.

    The receiver puts frames on ``input_q`` from the event loop. Passing them through this
    thread cost two thread hand-offs and a task per frame (about a fifth of the server's CPU
    with 10 sessions), so once the loop runs ``switch`` the queue's ``put`` forwards directly
    and this thread only waits for the end. A receiver stopped before ``switch`` could run joins
    this thread from the loop, so the thread then finishes the hand-over itself.
    """
    done = threading.Event()
    switched = threading.Event()  # the loop took the queue over: only the end is left to wait for
    finished = threading.Event()  # the thread forwarded the end itself; switch must not run

    def forward(item: Any) -> None:  # in the loop
        if item is None:
            output_q.put_nowait(None)
            done.set()
            return
        codec, encoded_frame = item
        output_q.put_nowait(_packet(codec, encoded_frame))

    def direct_put(item: Any, block: bool = True, timeout: float | None = None) -> None:
        forward(item)

    def switch() -> None:  # in the loop: no put can interleave with the hand-over
        if finished.is_set():
            return
        while True:
            try:
                forward(input_q.get_nowait())
            except queue.Empty:
                break
        input_q.put = direct_put  # type: ignore[method-assign]
        switched.set()

    loop.call_soon_threadsafe(switch)
    while not switched.is_set() and not done.wait(0.05):
        with input_q.mutex:
            stopping = bool(input_q.queue) and input_q.queue[-1] is None
        if stopping:  # the loop is blocked joining this thread: drain and end from here
            finished.set()
            items = []
            while True:
                try:
                    items.append(input_q.get_nowait())
                except queue.Empty:
                    break
            with contextlib.suppress(RuntimeError):  # the loop may be closing
                for item in items:
                    loop.call_soon_threadsafe(forward, item)
            return
    done.wait()  # no polling for the rest of the stream


def _packet(codec: Any, encoded_frame: Any) -> av.Packet:
    kind, name = (part.lower() for part in codec.mimeType.split("/"))
    return wrap(name, kind, codec.clockRate, encoded_frame.data, encoded_frame.timestamp)


def install() -> None:
    """Make every receiver created from now on yield encoded packets. Idempotent."""
    if aiortc.__version__ != PINNED_AIORTC:
        raise RuntimeError(
            f"zerotrip's encoded relay is pinned to aiortc {PINNED_AIORTC}, "
            f"found {aiortc.__version__}; re-run tests/live/test_aiortc_contract.py"
        )
    rtcrtpreceiver.decoder_worker = dispatching_worker  # type: ignore[assignment]


def installed() -> bool:
    return rtcrtpreceiver.decoder_worker is dispatching_worker


async def request_keyframe(receiver: Any) -> bool:
    """Send a PLI for every SSRC the receiver is hearing; False if none is known yet."""
    sources = receiver.getSynchronizationSources()
    for source in sources:
        await receiver._send_rtcp_pli(source.source)
    return bool(sources)


def on_keyframe_request(sender: Any, callback: Any) -> None:
    """Call ``callback()`` whenever the viewer behind ``sender`` asks for a keyframe (PLI/FIR).

    The default only flags the sender's encoder, which packets never pass through.
    """
    sender._send_keyframe = callback

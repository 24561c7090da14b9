"""The hub of one published track: reads every encoded packet from the moment the track
arrives and fans it out to subscribers (the inspector's sender) and sinks (recorder, stills).

Rules from research/aiortc.md section 2 and 11.1:

* a received track is never left unread (an unread 720p track grows memory by ~43 MB/s);
* an encoded stream must never lose single frames, so each subscriber has a bounded queue and on
  overflow drops everything up to the next keyframe and asks the publisher for one (PLI);
* a new subscriber starts at a keyframe, so joining sends a PLI upstream, repeated (at most every
  250 ms) while it still waits, as a PLI can be lost and a camera sends no keyframe unasked;
* a publisher that drops and rejoins restarts its timestamps at zero, so the hub rebases them to
  keep one monotonic timeline for subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from zerotrip.live.passthrough import PacketInfo, request_keyframe

log = logging.getLogger("zerotrip.live")

Sink = Callable[[av.Packet], None]
CLOCK_RATES = {"video": 90000, "audio": 48000}
KEYFRAME_REQUEST_GAP_S = 0.25  # do not flood the publisher with PLIs


@dataclass
class HubStats:
    packets_in: int = 0
    bytes_in: int = 0
    keyframes_in: int = 0
    packets_out: int = 0
    dropped: int = 0
    overflows: int = 0
    keyframe_requests: int = 0


class Subscription:
    """One subscriber's bounded queue of packets; starts and restarts at keyframes."""

    def __init__(self, hub: Hub, maxsize: int) -> None:
        self.hub = hub
        self.maxsize = maxsize
        self.queue: deque[av.Packet | None] = deque()
        self.ready = asyncio.Event()
        self.waiting_for_keyframe = True
        self.closed = False

    def offer(self, packet: av.Packet) -> None:
        stats = self.hub.stats
        if self.waiting_for_keyframe:
            if not packet.is_keyframe:
                stats.dropped += 1
                # The request made on joining may have been lost or answered before this
                # subscriber was there; a camera sends no keyframe unasked for minutes.
                self.hub.request_keyframe("waiting")
                return
            self.waiting_for_keyframe = False
        if len(self.queue) >= self.maxsize:
            # The subscriber is too slow: decoding would break on a missing frame, so resync.
            stats.dropped += len(self.queue)
            stats.overflows += 1
            self.queue.clear()
            if not packet.is_keyframe:
                self.waiting_for_keyframe = True
                stats.dropped += 1
                self.hub.request_keyframe("overflow")
                return
        self.queue.append(packet)
        self.ready.set()

    def end(self) -> None:
        self.closed = True
        self.queue.append(None)
        self.ready.set()

    async def next(self) -> av.Packet | None:
        while not self.queue:
            self.ready.clear()
            await self.ready.wait()
        packet = self.queue.popleft()
        if packet is not None:
            self.hub.stats.packets_out += 1
        return packet


class HubTrack(MediaStreamTrack):
    """What an inspector's (or applicant's) ``RTCRtpSender`` reads: the hub's packets."""

    def __init__(self, hub: Hub, maxsize: int) -> None:
        super().__init__()
        self.kind = hub.kind
        self.subscription = hub.subscribe(maxsize)

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self.subscription.next()
        if packet is None:
            self.stop()
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            self.subscription.hub.unsubscribe(self.subscription)
        super().stop()


class Hub:
    """Fan-out of one logical track (the applicant's camera, mic, or the inspector's voice)."""

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        self.codec: str | None = None
        self.stats = HubStats()
        self.subscriptions: set[Subscription] = set()
        self.sinks: list[Sink] = []
        self._receiver: Any = None
        self._owner: Any = None  # the peer connection the current source belongs to
        self._reader: asyncio.Task[None] | None = None
        self._offset = 0  # added to source pts so the timeline never goes back
        self._last_pts: int | None = None
        self._last_arrival = 0.0
        self._rebase_next = False
        self._last_request = 0.0
        self._keyframe_pending = False
        self.last_keyframe: av.Packet | None = None
        self.on_source_ended: Callable[[], Awaitable[None]] | None = None

    @property
    def receiver(self) -> Any:
        """The ``RTCRtpReceiver`` of the current source (its stats), or None."""
        return self._receiver

    @property
    def live(self) -> bool:
        return self._reader is not None and not self._reader.done()

    def attach(self, track: MediaStreamTrack, receiver: Any, owner: Any = None) -> None:
        """Start reading a newly received track at once (replacing any previous source)."""
        self.detach()
        self._receiver = receiver
        self._owner = owner
        self._rebase_next = self._last_pts is not None
        self._reader = asyncio.create_task(self._read(track), name=f"hub-{self.name}")

    def detach(self, owner: Any = None) -> None:
        """Stop reading the current source (only if it belongs to ``owner``, when given)."""
        if owner is not None and owner is not self._owner:
            return
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        self._reader = None
        self._receiver = None
        self._owner = None

    def subscribe(self, maxsize: int) -> Subscription:
        subscription = Subscription(self, maxsize)
        self.subscriptions.add(subscription)
        self.request_keyframe("subscribe")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    def add_sink(self, sink: Sink) -> None:
        self.sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        with contextlib.suppress(ValueError):
            self.sinks.remove(sink)

    def request_keyframe(self, reason: str, *, force: bool = False) -> None:
        """Ask the publisher for a keyframe (PLI), at most every 250 ms unless forced.

        Before the first packet the publisher's SSRC is unknown: the request waits, and is
        dropped if the first frame is a keyframe anyway.
        """
        if self.kind != "video":
            return
        if self._receiver is None or self.stats.packets_in == 0:
            self._keyframe_pending = True
            return
        now = time.monotonic()
        if not force and now - self._last_request < KEYFRAME_REQUEST_GAP_S:
            return
        self._last_request = now
        self._keyframe_pending = False
        self.stats.keyframe_requests += 1
        log.debug("hub %s: keyframe requested (%s)", self.name, reason)
        task = asyncio.ensure_future(request_keyframe(self._receiver))
        task.add_done_callback(_ignore_result)

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                packet = await track.recv()
                if isinstance(packet, av.Packet):
                    self.publish(packet)
        except MediaStreamError:
            pass
        finally:
            if self._reader is asyncio.current_task():
                self._receiver = None
                if self.on_source_ended is not None:
                    await self.on_source_ended()

    def publish(self, packet: av.Packet) -> None:
        """Hand one encoded packet to every subscriber and sink (on the event loop)."""
        info: PacketInfo = packet.opaque
        self.codec = info.codec
        rate = CLOCK_RATES.get(self.kind, 90000)
        if packet.time_base != Fraction(1, rate):
            rate = packet.time_base.denominator
        if self._rebase_next and self._last_pts is not None:
            gap = max(1, int((info.arrival - self._last_arrival) * rate))
            self._offset = self._last_pts + gap - packet.pts
            self._rebase_next = False
        packet.pts = packet.dts = packet.pts + self._offset
        self._last_pts = packet.pts
        self._last_arrival = info.arrival
        stats = self.stats
        stats.packets_in += 1
        stats.bytes_in += packet.size
        if packet.is_keyframe:
            stats.keyframes_in += 1
            self._keyframe_pending = False
            if self.kind == "video":
                self.last_keyframe = packet
        elif self._keyframe_pending:
            self.request_keyframe("pending", force=True)
        for subscription in self.subscriptions:
            subscription.offer(packet)
        for sink in self.sinks:
            try:
                sink(packet)
            except Exception:  # a broken sink must not stop the relay
                log.exception("hub %s: sink failed", self.name)

    def close(self) -> None:
        self.detach()
        for subscription in list(self.subscriptions):
            subscription.end()
        self.subscriptions.clear()
        self.sinks.clear()
        self.last_keyframe = None


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("keyframe request failed: %s", task.exception())

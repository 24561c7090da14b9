"""Graceful step-down of one room: when the phone's uplink cannot carry usable video, the session
goes on with audio and full-resolution photos on request, and back to video when the link
recovers.

Each second the room's :class:`StepDown` reads the server's side (the video bitrate arriving
at the hub, the loss aiortc's receiver counted) and the phone's latest report (its
``RTCPeerConnection.getStats``: bitrate sent, loss the server reported back, whether its
encoder is short of bandwidth) and feeds them to a :class:`~zerotrip.live.link.LinkJudge`. While
the video is paused the phone measures its uplink with short upload probes over the signalling
socket (16 KB parts; the server times their arrival). Each change is audited with its reason and
figures and sent to both sides, who say why in their own language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.actor import SYSTEM_LIVE
from zerotrip.live import booking
from zerotrip.live.hub import Hub
from zerotrip.live.link import AUDIO_PHOTOS, VIDEO, LinkJudge, LinkRules, Reading, Transition
from zerotrip.live.participant import Participant, Seats
from zerotrip.live.signalling import APPLICANT, Probe
from zerotrip.problems import Conflict

log = logging.getLogger("zerotrip.live")

SAMPLE_EVERY_S = 1.0
PHONE_FRESH_S = 3.0  # a phone report older than this is not the link's present state
AUDIT_KINDS = {AUDIO_PHOTOS: "live.step_down", VIDEO: "live.step_up"}


def rules_of(settings: Settings) -> LinkRules:
    return LinkRules(
        down_kbps=settings.live_stepdown_kbps,
        down_loss=settings.live_stepdown_loss,
        down_after_s=settings.live_stepdown_seconds,
        up_kbps=settings.live_stepup_kbps,
        up_after_s=settings.live_stepup_seconds,
    )


@dataclass
class _Counters:
    at: float
    bytes_in: int
    received: int
    lost: int


@dataclass
class _ProbeRun:
    serial: int
    parts: int
    first_at: float
    last_at: float
    bytes_after_first: int = 0
    seen: int = 1


class StepDown:
    def __init__(
        self,
        live_id: int,
        *,
        seats: Seats,
        db: Database,
        video: Hub,
        audio: Hub,
        rules: LinkRules,
        video_offset_ms: Callable[[float], int | None],
    ) -> None:
        self.live_id = live_id
        self.seats = seats
        self.db = db
        self.video = video
        self.audio = audio
        self.judge = LinkJudge(rules)
        self.video_offset_ms = video_offset_ms
        self.last_change: dict[str, Any] | None = None  # as last told to both sides
        self.changes: list[dict[str, Any]] = []  # this room's transitions, for the bench
        self.recent: deque[Reading] = deque(maxlen=40)  # what was judged lately (diagnosis)
        self._phone: dict[str, Any] = {}
        self._phone_at = 0.0
        self._counters: _Counters | None = None
        self._probe: _ProbeRun | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def mode(self) -> str:
        return self.judge.mode

    def start(self) -> None:
        if self._task is None:
            name = f"stepdown-{self.live_id}"
            self._task = asyncio.create_task(self._sample_forever(), name=name)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def ensure_video(self) -> None:
        """Stills come from the video: refused (in both languages) while it is paused."""
        if self.mode != VIDEO:
            raise Conflict(
                "The video is paused on a weak connection: ask the applicant for a photo.",
                zh="网络较差，视频已暂停：请改为请申请人拍照上传。",
                code="video-stepped-down",
            )

    def video_restarted(self) -> None:
        """The phone made a new connection: its video ramps up again, not judged meanwhile."""
        self.judge.video_restarted(time.monotonic())
        self._counters = None

    async def catch_up(self, participant: Participant) -> None:
        """Whoever (re)joins learns the current mode and why."""
        if self.last_change is not None:
            await participant.send(self.last_change)

    # --- what the phone says -----------------------------------------------------------------

    def on_phone_stats(self, stats: dict[str, Any]) -> None:
        self._phone = stats
        self._phone_at = time.monotonic()

    async def on_probe(self, participant: Participant, message: Probe) -> dict[str, Any] | None:
        """One part of an upload probe; the last part gives a reading (and maybe a change)."""
        now = time.monotonic()
        run = self._probe
        if message.part == 0 or run is None or run.serial != message.probe:
            self._probe = run = _ProbeRun(message.probe, message.parts, now, now)
            if message.part != 0:
                return None  # joined a probe midway: wait for the next one
        else:
            run.seen += 1
            run.last_at = now
            run.bytes_after_first += len(message.pad)
        if run.seen < run.parts:
            return None
        self._probe = None
        spread = max(run.last_at - run.first_at, 0.002)
        kbps = run.bytes_after_first * 8 / spread / 1000
        await self._feed(Reading(at=now, probe_kbps=kbps, server_loss=await self._audio_loss()))
        return {"type": "probe_result", "probe": message.probe, "kbps": round(kbps),
                "mode": self.mode}  # fmt: skip

    # --- the server's side ---------------------------------------------------------------------

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            try:
                reading = await self._server_reading()
                if reading is not None:
                    await self._feed(reading)
            except Exception:  # a failed sample must not stop judging the next one
                log.exception("live %s: link sample failed", self.live_id)

    async def _server_reading(self) -> Reading | None:
        if APPLICANT not in self.seats or self.mode != VIDEO or not self.video.live:
            self._counters = None
            return None
        now = time.monotonic()
        phone = self._phone if now - self._phone_at <= PHONE_FRESH_S else {}
        if not phone:
            # Only a phone that reports can be stepped down (it pauses its video and probes);
            # without its word, loss seen here may as well be this server short of CPU.
            self._counters = None
            return None
        received, lost = await _receiver_counts(self.video)
        counters = _Counters(now, self.video.stats.bytes_in, received, lost)
        last, self._counters = self._counters, counters
        if last is None or counters.at - last.at < 0.2 or counters.received < last.received:
            return None  # the first sample, or a new source whose counts start again
        kbps = (counters.bytes_in - last.bytes_in) * 8 / (counters.at - last.at) / 1000
        expected = (counters.received - last.received) + (counters.lost - last.lost)
        loss = max(0.0, (counters.lost - last.lost) / expected) if expected > 0 else None
        return Reading(
            at=now,
            server_kbps=kbps,
            server_loss=loss,
            phone_kbps=_number(phone.get("kbps")),
            phone_loss=_number(phone.get("loss")),
            phone_limited=phone.get("limited_by") == "bandwidth",
            phone_cpu_bound=phone.get("limited_by") == "cpu",
            phone_estimate_kbps=_number(phone.get("estimate_kbps")),
        )

    async def _audio_loss(self) -> float | None:
        received, lost = await _receiver_counts(self.audio)
        return lost / (received + lost) if received + lost > 0 else None

    async def _feed(self, reading: Reading) -> None:
        self.recent.append(reading)
        async with self._lock:  # the sampler and a probe never change the mode together
            transition = self.judge.feed(reading)
            if transition is not None:
                await self._announce(transition)

    async def _announce(self, transition: Transition) -> None:
        offset = self.video_offset_ms(time.monotonic())
        payload = {"mode": transition.mode, "reason": transition.reason, **transition.figures}
        log.info("live %s: link %s (%s)", self.live_id, transition.mode, payload)
        self.changes.append({**payload, "at": time.monotonic()})
        await booking.audited(
            self.db, self.live_id, SYSTEM_LIVE, AUDIT_KINDS[transition.mode],
            {**payload, "video_offset_ms": offset},
        )  # fmt: skip
        self.last_change = {"type": "link_mode", **payload}
        for participant in self.seats.everyone():
            with contextlib.suppress(Exception):  # a closing socket must not stop the other
                await participant.send(self.last_change)


async def _receiver_counts(hub: Hub) -> tuple[int, int]:
    """Packets received and lost on the hub's current source, as aiortc's receiver counts."""
    receiver = hub.receiver
    if receiver is None:
        return 0, 0
    received = lost = 0
    report = await receiver.getStats()
    for stats in report.values():
        if getattr(stats, "type", "") == "inbound-rtp":
            received += stats.packetsReceived or 0
            lost += max(0, stats.packetsLost or 0)
    return received, lost


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

"""Whether the phone's uplink can carry usable video, judged from both ends' figures with
hysteresis: a pure state machine (readings in, at most one transition out), so the rules are
tested without a network and the room only feeds it.

- In ``video`` mode a reading is *bad* when the loss reaches the step-down loss, or when the video
  bitrate is under the step-down bitrate while the phone's bandwidth estimate is under it too
  (a still scene also sends little, but its estimate stays high; without an estimate, the
  encoder's "limited by bandwidth"), or while the server receives under a quarter of what the
  phone says it sends and what it did receive has gaps (or nothing arrived at all): a busy
  server reads late but loses nothing, and that is not the link's fault.
  Without the phone's word a low bitrate alone is not judged (a still scene sends little too).
  Bad for the step-down time: ``audio_photos``.
- In ``audio_photos`` mode no video flows, so only the phone's upload probes count: a probe at or
  above the step-up bitrate with little loss is *good*; good for the step-up time (and never
  sooner than twice the step-down time after the last change): back to ``video``. Any bad probe
  restarts the count. The step-up bitrate is four times the step-down one, so a link near a
  threshold does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VIDEO = "video"
AUDIO_PHOTOS = "audio_photos"


@dataclass(frozen=True)
class LinkRules:
    down_kbps: float = 150
    down_loss: float = 0.10
    down_after_s: float = 2.0
    up_kbps: float = 1000
    up_after_s: float = 6.0
    up_loss: float = 0.02
    warm_up_s: float = 8.0  # a new video stream ramps up its bitrate: not judged before this


@dataclass(frozen=True)
class Reading:
    """One moment's figures; ``None`` where that end said nothing (recently)."""

    at: float  # monotonic seconds
    server_kbps: float | None = None  # video received by the server
    server_loss: float | None = None  # fraction lost on the way to the server
    phone_kbps: float | None = None  # video the phone sent
    phone_loss: float | None = None  # fraction lost, as the server's reports told the phone
    phone_limited: bool = False  # the phone's encoder: limited by bandwidth
    phone_cpu_bound: bool = False  # the phone's encoder: limited by its own CPU
    phone_estimate_kbps: float | None = None  # the phone's bandwidth estimate (its congestion
    # control's availableOutgoingBitrate: stays high on a good link, whatever the scene)
    probe_kbps: float | None = None  # an upload probe (audio_photos mode)

    @property
    def loss(self) -> float | None:
        known = [x for x in (self.server_loss, self.phone_loss) if x is not None]
        return max(known) if known else None

    @property
    def kbps(self) -> float | None:
        known = [x for x in (self.server_kbps, self.phone_kbps) if x is not None]
        return min(known) if known else None

    def figures(self) -> dict[str, Any]:
        loss = self.loss
        kbps = self.probe_kbps if self.probe_kbps is not None else self.kbps
        return {
            "kbps": None if kbps is None else round(kbps),
            "loss": None if loss is None else round(loss, 3),
        }


@dataclass(frozen=True)
class Transition:
    mode: str
    reason: str  # low_bitrate | packet_loss | recovered
    figures: dict[str, Any]


@dataclass
class LinkJudge:
    rules: LinkRules = field(default_factory=LinkRules)
    mode: str = VIDEO
    changed_at: float = float("-inf")
    video_since: float | None = None  # first video reading of the current stream
    _bad_since: float | None = None
    _good_since: float | None = None
    _reason: str = ""

    def video_restarted(self, at: float) -> None:
        """A new video stream (a new connection): its ramp-up is not judged."""
        self.video_since = at
        self._bad_since = None

    def feed(self, reading: Reading) -> Transition | None:
        if self.mode == VIDEO:
            return self._judge_video(reading)
        return self._judge_probe(reading)

    def _judge_video(self, reading: Reading) -> Transition | None:
        if reading.probe_kbps is not None:
            return None  # a late probe from before the last step-up
        if self.video_since is None:
            self.video_since = reading.at
        if reading.at - self.video_since < self.rules.warm_up_s:
            return None
        reason = self._bad_video(reading)
        if reason is None:
            self._bad_since = None
            return None
        if self._bad_since is None:
            self._bad_since = reading.at
            self._reason = reason
        if reason == "packet_loss":
            self._reason = reason  # the more telling one, once seen
        if reading.at - self._bad_since < self.rules.down_after_s:
            return None
        return self._change(AUDIO_PHOTOS, self._reason, reading)

    def _bad_video(self, reading: Reading) -> str | None:
        rules = self.rules
        loss = reading.loss
        if loss is not None and loss >= rules.down_loss:
            return "packet_loss"
        kbps = reading.kbps
        phone, server = reading.phone_kbps, reading.server_kbps
        # Far less arrives than was sent (not a second's misalignment of the two windows), and
        # not merely late: when every packet that did arrive came without a gap (loss 0), the
        # server was slow to read them (a busy process), the link did not lose them.
        arrived_whole = reading.server_loss is not None and reading.server_loss == 0
        lost_on_the_way = (
            phone is not None and server is not None and server < phone / 4 and not arrived_whole
        )
        estimate = reading.phone_estimate_kbps
        if estimate is not None:  # the congestion control's word beats the encoder's flag,
            short = estimate < rules.down_kbps or lost_on_the_way  # which a ramp-up also sets
        else:
            short = reading.phone_limited or lost_on_the_way
        if reading.phone_cpu_bound and not lost_on_the_way:
            return None  # a busy phone sends little on a good link: pausing video fixes nothing
        if kbps is not None and kbps < rules.down_kbps and short:
            return "low_bitrate"
        return None

    def _judge_probe(self, reading: Reading) -> Transition | None:
        rules = self.rules
        if reading.probe_kbps is None:
            loss = reading.loss  # the audio's loss, while no video flows
            if loss is not None and loss >= rules.down_loss:
                self._good_since = None
            return None
        loss = reading.loss
        good = reading.probe_kbps >= rules.up_kbps and (loss is None or loss <= rules.up_loss)
        if not good:
            self._good_since = None
            return None
        if self._good_since is None:
            self._good_since = reading.at
        settled = reading.at - self.changed_at >= 2 * rules.down_after_s
        if reading.at - self._good_since < rules.up_after_s or not settled:
            return None
        return self._change(VIDEO, "recovered", reading)

    def _change(self, mode: str, reason: str, reading: Reading) -> Transition:
        self.mode = mode
        self.changed_at = reading.at
        self._bad_since = self._good_since = None
        self.video_since = None
        return Transition(mode, reason, reading.figures())

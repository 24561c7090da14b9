"""What the inspector and the phone say to each other through the server: prompts, remote
camera controls, geolocation fixes and the distance to the premises, challenge codes, and
requests for full-resolution photos.

A room owns one :class:`Guidance` and hands it what it needs (the seats, the database, the
clock, the recording's timeline); it never sees the room."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from zerotrip.db import Database
from zerotrip.evidence.nonces import issue_capture_nonce
from zerotrip.kit.clock import Clock
from zerotrip.live import booking, references
from zerotrip.live.participant import Participant, Seats
from zerotrip.live.presence import distance_to_premises, new_challenge_code
from zerotrip.live.signalling import (
    APPLICANT,
    GUEST,
    Bare,
    Capabilities,
    ChallengeResult,
    Consent,
    Control,
    ControlResult,
    Fix,
    PhotoRequest,
    PhotoUploaded,
    Pointer,
    Prompt,
    PromptShown,
)
from zerotrip.problems import Conflict, InvalidInput

Reply = dict[str, Any]
# How the live page names each remote control of the applicant's phone.
CONTROL_NAMES_ZH = {"switch_camera": "切换摄像头", "torch": "手电筒", "zoom": "变焦"}


class Guidance:
    def __init__(
        self,
        live_id: int,
        case_id: int,
        premises: tuple[float | None, float | None],
        *,
        seats: Seats,
        db: Database,
        clock: Clock,
        video_offset_ms: Callable[[float], int | None],
        nonce_minutes: int,
    ) -> None:
        self.live_id = live_id
        self.case_id = case_id
        self.premises = premises
        self.seats = seats
        self.db = db
        self.clock = clock
        self.video_offset_ms = video_offset_ms
        self.nonce_minutes = nonce_minutes
        self.capabilities: dict[str, Any] = {}
        self.last_fix: dict[str, Any] | None = None  # the phone's latest geolocation
        self.presence: dict[str, Any] | None = None  # ... as last shown to the console
        self.consented = False  # the applicant accepted the recording notice in this room

    async def catch_up(self, inspector: Participant) -> None:
        """A console that (re)joins learns what the phone already told."""
        if self.capabilities:
            await inspector.send({"type": "capabilities", **self.capabilities})
        if self.presence:
            await inspector.send(self.presence)

    async def on_fix(self, participant: Participant, message: Fix) -> None:
        distance = distance_to_premises(message.lat, message.lon, *self.premises)
        self.last_fix = {
            "lat": message.lat,
            "lon": message.lon,
            "accuracy": message.accuracy,
            "fix_at": int(time.time() * 1000),
        }
        await booking.record_fix(
            self.db, self.live_id, message.lat, message.lon, message.accuracy, distance
        )
        self.presence = {
            "type": "presence", "lat": message.lat, "lon": message.lon,
            "accuracy": message.accuracy, "distance_m": distance,
            "at": self.clock.now().isoformat(),
        }  # fmt: skip
        await self.seats.to_inspector(self.presence)

    async def on_capabilities(self, participant: Participant, message: Capabilities) -> None:
        self.capabilities = message.model_dump(exclude={"type", "id"})
        await self.seats.to_inspector({"type": "capabilities", **self.capabilities})

    async def on_prompt(self, participant: Participant, message: Prompt) -> Reply:
        prompt_id = secrets.token_hex(6)
        offset = self.video_offset_ms(time.monotonic())
        await booking.audited(
            self.db, self.live_id, participant.actor, "live.prompt",
            {"prompt": prompt_id, "text": message.text, "video_offset_ms": offset},
        )  # fmt: skip
        await self.seats.to_applicant(
            {"type": "prompt", "prompt_id": prompt_id, "text": message.text}
        )
        if participant.role == GUEST:  # the inspector runs the session: they see it too
            await self.seats.to_inspector(
                {"type": "guest_prompt", "prompt_id": prompt_id, "text": message.text,
                 "name": participant.name}
            )  # fmt: skip
        return {"type": "prompt_sent", "prompt_id": prompt_id}

    async def on_prompt_shown(self, participant: Participant, message: PromptShown) -> None:
        shown = {"type": "prompt_shown", "prompt_id": message.prompt_id}
        await self.seats.to_inspector(shown)
        guest = self.seats.get(GUEST)  # the second party may have sent it
        if guest is not None:
            await guest.send(shown)

    async def on_control(self, participant: Participant, message: Control) -> Reply:
        supported = {
            "switch_camera": bool(self.capabilities.get("switch_camera")),
            "torch": bool(self.capabilities.get("torch")),
            "zoom": bool(self.capabilities.get("zoom")),
        }
        if not supported[message.action]:
            raise Conflict(
                f"The applicant's phone does not support {message.action}.",
                zh=f"申请人的手机不支持{CONTROL_NAMES_ZH.get(message.action, message.action)}。",
            )
        await self.seats.to_applicant(
            {"type": "control", "action": message.action, "value": message.value}
        )
        return {"type": "control_sent", "action": message.action}

    async def on_control_result(self, participant: Participant, message: ControlResult) -> None:
        await self.seats.to_inspector(
            {"type": "control_result", **message.model_dump(exclude={"type"})}
        )

    async def on_photo_request(self, participant: Participant, message: PhotoRequest) -> Reply:
        checkpoint = await references.checkpoint_of_case(
            self.db, self.case_id, message.checkpoint_id
        )
        if checkpoint.restricted:  # the applicant cannot upload there: take a still instead
            raise Conflict(
                "Identity evidence is taken as a still, not asked for as a photo.",
                zh="身份核验资料以视频截图获取，不能请申请人拍照。",
            )
        if APPLICANT not in self.seats:
            raise Conflict(
                "The applicant is not connected.", zh="申请人尚未连线。", code="applicant-absent"
            )
        # The one-time nonce binds the photo to this request of this session (only the phone
        # receives it); the upload is accepted as a live photo only while the session is live.
        issued = await issue_capture_nonce(
            self.db, case_id=self.case_id, checkpoint_id=message.checkpoint_id,
            actor=participant.actor, now=self.clock.now(), minutes=self.nonce_minutes,
            live_session_id=self.live_id,
        )  # fmt: skip
        await booking.audited(
            self.db, self.live_id, participant.actor, "live.photo_requested",
            {"checkpoint": message.checkpoint_id,
             "video_offset_ms": self.video_offset_ms(time.monotonic())},
        )  # fmt: skip
        await self.seats.to_applicant(
            {"type": "photo_request", "checkpoint_id": message.checkpoint_id,
             "case_id": self.case_id, "session_id": self.live_id, "nonce": issued.token}
        )  # fmt: skip
        return {"type": "photo_requested", "checkpoint_id": message.checkpoint_id}

    async def on_photo_uploaded(self, participant: Participant, message: PhotoUploaded) -> None:
        evidence = await references.session_photo(
            self.db, self.live_id, self.case_id, message.evidence_id, message.checkpoint_id
        )
        await self.seats.to_inspector(
            {"type": "photo", "evidence_id": evidence.id, "checkpoint_id": evidence.checkpoint_id,
             "width": evidence.width, "height": evidence.height}
        )  # fmt: skip

    async def on_challenge(self, participant: Participant, message: Bare) -> Reply:
        if APPLICANT not in self.seats:
            raise Conflict(
                "The applicant is not connected.", zh="申请人尚未连线。", code="applicant-absent"
            )
        code = new_challenge_code()
        offset = self.video_offset_ms(time.monotonic())
        challenge = await booking.issue_challenge(
            self.db, self.live_id, participant.actor, participant.staff_id, code, offset
        )
        await self.seats.to_applicant({"type": "challenge", "code": code})
        return {"type": "challenge_issued", "challenge_id": challenge.id, "code": code}

    async def on_challenge_result(
        self, participant: Participant, message: ChallengeResult
    ) -> Reply:
        offset = self.video_offset_ms(time.monotonic())
        challenge = await booking.answer_challenge(
            self.db, self.live_id, participant.actor, message.challenge_id,
            message.shown, offset,
        )  # fmt: skip
        with contextlib.suppress(Conflict):
            await self.seats.to_applicant({"type": "challenge_done", "result": challenge.result})
        return {"type": "challenge_answered", "challenge_id": challenge.id,
                "result": challenge.result}  # fmt: skip

    async def on_consent(self, participant: Participant, message: Consent) -> Reply:
        """The phone shows the recording notice before its camera starts; the acceptance is
        on the case's audit trail before any of its picture reaches the recording."""
        await booking.audited(
            self.db, self.live_id, participant.actor, "live.recording_consent",
            {"accepted": True, "notice": message.notice or "recording-v1"},
        )  # fmt: skip
        self.consented = True
        return {"type": "consent_recorded"}

    async def on_pointer(self, participant: Participant, message: Pointer) -> Reply:
        """Shown over the phone's preview for a few seconds; audited with where it falls in
        the recording, so the playback can show it again."""
        if message.shape == "arrow" and (message.x2 is None or message.y2 is None):
            raise InvalidInput(
                "An arrow needs its end point (x2, y2).", zh="箭头需要终点坐标（x2, y2）。"
            )
        if APPLICANT not in self.seats:
            raise Conflict(
                "The applicant is not connected.", zh="申请人尚未连线。", code="applicant-absent"
            )
        offset = self.video_offset_ms(time.monotonic())
        shape = message.model_dump(exclude={"type", "id"}, exclude_none=True)
        await booking.audited(
            self.db, self.live_id, participant.actor, "live.pointer",
            {**shape, "video_offset_ms": offset},
        )  # fmt: skip
        await self.seats.to_applicant({"type": "pointer", **shape})
        return {"type": "pointer_sent", "video_offset_ms": offset}

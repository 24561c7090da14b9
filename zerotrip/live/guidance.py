"""What the inspector and the phone say to each other through the server: prompts, remote
camera controls, geolocation fixes and the distance to the premises, challenge codes, and
requests for full-resolution photos. Mixed into :class:`zerotrip.live.room.Room`."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiortc import RTCPeerConnection

from zerotrip.kit.actor import Actor
from zerotrip.live import booking
from zerotrip.live.presence import distance_to_premises, new_challenge_code
from zerotrip.live.signalling import APPLICANT, INSPECTOR, Message
from zerotrip.problems import Conflict, NotFound

if TYPE_CHECKING:
    from zerotrip.live.hub import HubTrack
    from zerotrip.live.recorder import SegmentRecorder
    from zerotrip.live.rooms import Rooms

Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(eq=False)
class Participant:
    role: str
    actor: Actor
    staff_id: int | None
    send: Send
    hangup: Callable[[], Awaitable[Any]] | None = None  # closes the participant's socket
    pc: RTCPeerConnection | None = None
    outgoing: list[HubTrack] = field(default_factory=list)
    video_codec: str | None = None
    gone: bool = False


class Guidance:
    rooms: Rooms
    live_id: int
    case_id: int
    premises: tuple[Any, Any]
    participants: dict[str, Participant]
    capabilities: dict[str, Any]
    last_fix: dict[str, Any] | None
    presence: dict[str, Any] | None
    recorder: SegmentRecorder

    async def on_fix(self, participant: Participant, message: Any) -> None:
        distance = distance_to_premises(message.lat, message.lon, *self.premises)
        self.last_fix = {
            "lat": message.lat,
            "lon": message.lon,
            "accuracy": message.accuracy,
            "fix_at": int(time.time() * 1000),
        }
        await booking.record_fix(
            self.rooms.db, self.live_id, message.lat, message.lon, message.accuracy, distance
        )
        self.presence = {
            "type": "presence", "lat": message.lat, "lon": message.lon,
            "accuracy": message.accuracy, "distance_m": distance,
            "at": self.rooms.clock.now().isoformat(),
        }  # fmt: skip
        await self._to_inspector(self.presence)

    async def on_capabilities(self, participant: Participant, message: Any) -> None:
        self.capabilities = message.model_dump(exclude={"type", "id"})
        inspector = self.participants.get(INSPECTOR)
        if inspector is not None:
            await inspector.send({"type": "capabilities", **self.capabilities})

    async def _to_applicant(self, payload: dict[str, Any]) -> Participant:
        applicant = self.participants.get(APPLICANT)
        if applicant is None:
            raise Conflict("The applicant is not connected.", code="applicant-absent")
        await applicant.send(payload)
        return applicant

    async def _to_inspector(self, payload: dict[str, Any]) -> None:
        inspector = self.participants.get(INSPECTOR)
        if inspector is not None:
            await inspector.send(payload)

    async def on_prompt(self, participant: Participant, message: Any) -> dict[str, Any]:
        prompt_id = secrets.token_hex(6)
        await self._to_applicant({"type": "prompt", "prompt_id": prompt_id, "text": message.text})
        return {"type": "prompt_sent", "prompt_id": prompt_id}

    async def on_prompt_shown(self, participant: Participant, message: Any) -> None:
        await self._to_inspector({"type": "prompt_shown", "prompt_id": message.prompt_id})

    async def on_control(self, participant: Participant, message: Any) -> dict[str, Any]:
        supported = {
            "switch_camera": bool(self.capabilities.get("switch_camera")),
            "torch": bool(self.capabilities.get("torch")),
            "zoom": bool(self.capabilities.get("zoom")),
        }
        if not supported[message.action]:
            raise Conflict(f"The applicant's phone does not support {message.action}.")
        await self._to_applicant(
            {"type": "control", "action": message.action, "value": message.value}
        )
        return {"type": "control_sent", "action": message.action}

    async def on_control_result(self, participant: Participant, message: Any) -> None:
        await self._to_inspector({"type": "control_result", **message.model_dump(exclude={"type"})})

    async def on_photo_request(self, participant: Participant, message: Any) -> dict[str, Any]:
        await self.rooms.checkpoint(self.case_id, message.checkpoint_id)
        await self._to_applicant(
            {"type": "photo_request", "checkpoint_id": message.checkpoint_id,
             "case_id": self.case_id, "session_id": self.live_id}
        )  # fmt: skip
        return {"type": "photo_requested", "checkpoint_id": message.checkpoint_id}

    async def on_photo_uploaded(self, participant: Participant, message: Any) -> None:
        evidence = await self.rooms.evidence_of(
            self.case_id, message.evidence_id, message.checkpoint_id
        )
        if evidence.source != "live_photo" or evidence.live_session_id != self.live_id:
            # Only a photo taken for this session goes to the console as its answer.
            raise NotFound(f"Evidence {evidence.id} is not a photo taken in this session.")
        await self._to_inspector(
            {"type": "photo", "evidence_id": evidence.id, "checkpoint_id": evidence.checkpoint_id,
             "width": evidence.width, "height": evidence.height}
        )  # fmt: skip

    async def on_challenge(self, participant: Participant, message: Message) -> dict[str, Any]:
        if APPLICANT not in self.participants:
            raise Conflict("The applicant is not connected.", code="applicant-absent")
        code = new_challenge_code()
        offset = self.recorder.offset_ms(time.monotonic())
        challenge = await booking.issue_challenge(
            self.rooms.db, self.live_id, participant.actor, participant.staff_id, code, offset
        )
        await self._to_applicant({"type": "challenge", "code": code})
        return {"type": "challenge_issued", "challenge_id": challenge.id, "code": code}

    async def on_challenge_result(self, participant: Participant, message: Any) -> dict[str, Any]:
        offset = self.recorder.offset_ms(time.monotonic())
        challenge = await booking.answer_challenge(
            self.rooms.db, self.live_id, participant.actor, message.challenge_id,
            message.shown, offset,
        )  # fmt: skip
        with contextlib.suppress(Conflict):
            await self._to_applicant({"type": "challenge_done", "result": challenge.result})
        return {"type": "challenge_answered", "challenge_id": challenge.id,
                "result": challenge.result}  # fmt: skip

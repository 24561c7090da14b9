"""The second party of a live session: a supervisor or an invited expert (the guest seat).

The guest watches the phone's camera, hears the applicant and the inspector, talks (its voice
is a hub of its own, relayed to the console and recorded as a named track) and may send
prompts. A guest's coming and going is audited but does not move the session's state, which is
about the applicant and the inspector. Everyone is told who is present (the phone shows that a
third person is watching)."""

from __future__ import annotations

import contextlib
from typing import Any

from aiortc import RTCPeerConnection
from aiortc.sdp import SessionDescription

from zerotrip.db import Database
from zerotrip.live import booking
from zerotrip.live.hub import Hub, HubTrack
from zerotrip.live.participant import Participant, Seats
from zerotrip.live.passthrough import on_keyframe_request
from zerotrip.live.peers import video_preferences
from zerotrip.live.signalling import APPLICANT, GUEST, INSPECTOR
from zerotrip.problems import Conflict, Gone

ROLE_ORDER = (APPLICANT, INSPECTOR, GUEST)


def audio_lines(sdp: str) -> int:
    """How many audio m-lines an (already validated) offer has."""
    return sum(1 for media in SessionDescription.parse(sdp).media if media.kind == "audio")


class Party:
    """Admits and lets go of the guest, and keeps everyone told who is present."""

    def __init__(
        self, live_id: int, *, seats: Seats, db: Database, video: Hub, mic: Hub, voice: Hub,
        guest_voice: Hub,
    ) -> None:  # fmt: skip
        self.live_id = live_id
        self.seats = seats
        self.db = db
        self.video = video
        self.mic = mic
        self.voice = voice
        self.guest_voice = guest_voice

    def guest(self) -> Participant | None:
        return self.seats.get(GUEST)

    @property
    def guest_name(self) -> str:
        guest = self.seats.get(GUEST)
        return guest.name if guest is not None else ""

    def present(self) -> list[dict[str, Any]]:
        return [
            {"role": p.role, "name": p.name}
            for role in ROLE_ORDER
            if (p := self.seats.get(role)) is not None and not p.gone
        ]

    async def tell_everyone(self, newcomer: Participant | None = None) -> None:
        """Everyone learns who is present (a newcomer learns it from its welcome)."""
        message = {"type": "participants", "present": self.present()}
        for participant in self.seats.everyone():
            if participant is not newcomer:
                await participant.send(message)

    async def admit(self, participant: Participant) -> None:
        current = self.seats.get(GUEST)
        if current is not None and not current.gone:
            raise Conflict(
                f"{current.name or 'Another guest'} is already taking part in this session.",
                zh=f"{current.name or '另一位专家'}已在本次视频踏勘中，同一时间只能有一位第三方。",
                code="guest-present",
            )
        await booking.audited(
            self.db, self.live_id, participant.actor, "live.guest_joined",
            {"name": participant.name, "invitation": participant.invitation_id},
        )  # fmt: skip
        self.seats.seat(participant)
        await self.tell_everyone(newcomer=participant)

    async def departed(self, participant: Participant, reason: str, closed: bool) -> None:
        """After the room let go of the guest's peer: audit it and tell the others."""
        if not closed:
            await booking.audited(
                self.db, self.live_id, participant.actor, "live.guest_left",
                {"name": participant.name, "reason": reason},
            )  # fmt: skip
            await self.tell_everyone()

    async def session_ending(self, reason: str) -> None:
        """The session ends with the guest still in it: its leaving is on the trail too (the
        teardown that follows lets everyone go without a word of its own)."""
        guest = self.guest()
        if guest is not None and not guest.gone:
            with contextlib.suppress(Gone):  # ended elsewhere meanwhile: that event says it
                await booking.audited(
                    self.db, self.live_id, guest.actor, "live.guest_left",
                    {"name": guest.name, "reason": f"session ended: {reason}"},
                )  # fmt: skip

    def guest_transceivers(self, participant: Participant, pc: RTCPeerConnection, queue: int):
        """The guest receives the camera, the applicant's microphone (on the line that carries
        its own voice up) and, on a third line if offered, the inspector's voice."""
        camera = HubTrack(self.video, queue)
        mic = HubTrack(self.mic, queue)
        participant.outgoing += [camera, mic]
        video_tx = pc.addTransceiver(camera, direction="sendonly")
        video_tx.setCodecPreferences(video_preferences(self.video.codec))
        on_keyframe_request(video_tx.sender, lambda: self.video.request_keyframe("viewer"))
        pc.addTransceiver(mic, direction="sendrecv")

    def extra_voice(self, participant: Participant, pc: RTCPeerConnection, queue: int) -> None:
        """A further audio line the participant offered carries the voice it does not have:
        the guest's to the inspector, the inspector's to the guest."""
        hub = self.voice if participant.role == GUEST else self.guest_voice
        track = HubTrack(hub, queue)
        participant.outgoing.append(track)
        pc.addTransceiver(track, direction="sendonly")

    def inbound(self, role: str, kind: str) -> Hub | None:
        """Where a guest's received track goes (None: not the guest's)."""
        if role != GUEST:
            return None
        return self.guest_voice if kind == "audio" else None

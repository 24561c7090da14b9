"""Who is in a room: one participant per role (the applicant's phone, the inspector's console),
each with the socket it is reached through and its server-side peer connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiortc import RTCPeerConnection

from zerotrip.kit.actor import Actor
from zerotrip.live.signalling import APPLICANT, INSPECTOR
from zerotrip.problems import Conflict

if TYPE_CHECKING:
    from zerotrip.live.hub import HubTrack

Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(eq=False)
class Participant:
    """A connected participant as the room sees it (not the test/bench client that plays one)."""

    role: str
    actor: Actor
    staff_id: int | None
    send: Send
    hangup: Callable[[], Awaitable[Any]] | None = None  # closes the participant's socket
    pc: RTCPeerConnection | None = None
    outgoing: list[HubTrack] = field(default_factory=list)
    video_codec: str | None = None
    gone: bool = False
    name: str = ""  # shown to the others (the guest's name; staff: their display name)
    invitation_id: int | None = None  # a guest who came by invitation


class Seats:
    """The room's participants by role, shared by the room and the collaborators that message
    them (guidance, still capture), so none of those needs the room itself."""

    def __init__(self) -> None:
        self.by_role: dict[str, Participant] = {}

    def __contains__(self, role: str) -> bool:
        return role in self.by_role

    def __len__(self) -> int:
        return len(self.by_role)

    def both(self) -> bool:
        """The applicant and the inspector are both connected (a guest does not count)."""
        return APPLICANT in self.by_role and INSPECTOR in self.by_role

    def either(self) -> bool:
        return APPLICANT in self.by_role or INSPECTOR in self.by_role

    def get(self, role: str) -> Participant | None:
        return self.by_role.get(role)

    def roles(self) -> list[str]:
        return sorted(self.by_role)

    def everyone(self) -> list[Participant]:
        return list(self.by_role.values())

    def seat(self, participant: Participant) -> None:
        self.by_role[participant.role] = participant

    def unseat(self, participant: Participant) -> None:
        if self.by_role.get(participant.role) is participant:
            del self.by_role[participant.role]

    def clear(self) -> None:
        self.by_role.clear()

    def other(self, role: str) -> Participant | None:
        return self.by_role.get(INSPECTOR if role == APPLICANT else APPLICANT)

    async def to_applicant(self, payload: dict[str, Any]) -> Participant:
        """Send to the phone; refuse when it is not connected (the inspector must know)."""
        applicant = self.by_role.get(APPLICANT)
        if applicant is None:
            raise Conflict(
                "The applicant is not connected.", zh="申请人尚未连线。", code="applicant-absent"
            )
        await applicant.send(payload)
        return applicant

    async def to_inspector(self, payload: dict[str, Any]) -> None:
        """Send to the console if it is connected (a notice nobody sees is not an error)."""
        inspector = self.by_role.get(INSPECTOR)
        if inspector is not None:
            await inspector.send(payload)

"""Typed views of the live domain, as the API returns them (and its OpenAPI schema shows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from zerotrip.live.models import LiveSession


class BookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_start: datetime
    slot_end: datetime
    note: str = Field(default="", max_length=500)


class IceServer(BaseModel):
    """A STUN/TURN server as the browser's ``RTCPeerConnection`` takes it."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class SessionView(BaseModel):
    """A live session: its booking, its state, who is connected and the ICE servers to use."""

    id: int
    case_id: int
    state: str
    slot_start: datetime
    slot_end: datetime
    note: str
    booked_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    rejoin_until: datetime | None
    end_reason: str
    recording_segments: int
    recording_ms: int
    stills: int
    connected: list[str] = Field(default_factory=list)
    ice_servers: list[IceServer] = Field(default_factory=list)

    @classmethod
    def of(
        cls, live: LiveSession, connected: list[str], ice_servers: list[dict[str, Any]]
    ) -> SessionView:
        return cls(
            id=live.id or 0,
            case_id=live.case_id,
            state=live.state,
            slot_start=live.slot_start,
            slot_end=live.slot_end,
            note=live.note,
            booked_at=live.booked_at,
            started_at=live.started_at,
            ended_at=live.ended_at,
            rejoin_until=live.rejoin_until,
            end_reason=live.end_reason,
            recording_segments=live.recording_segments,
            recording_ms=live.recording_ms,
            stills=live.stills,
            connected=connected,
            ice_servers=[IceServer.model_validate(server) for server in ice_servers],
        )


@dataclass(frozen=True)
class Viewer:
    """Who asks about a session: staff see every case's; an applicant's link only its case's
    (another case's session looks absent)."""

    staff: bool
    case_id: int | None = None

    def may_see(self, case_id: int) -> bool:
        return self.staff or self.case_id == case_id

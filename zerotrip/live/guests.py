"""The guest desk: inviting an outside expert into a session, revoking the invitation, a
browser redeeming it, and turning a guest key into a participant of the room. Every step is
on the case's audit trail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.kit.clock import Clock
from zerotrip.live import booking
from zerotrip.live.invitations import (
    GuestPass,
    InvitationRequest,
    Invitations,
    InvitationView,
)
from zerotrip.live.models import FINISHED
from zerotrip.live.participant import Participant, Send
from zerotrip.live.signalling import GUEST
from zerotrip.problems import Gone

GUEST_PAGE = "/live/{live_id}/guest"


class GuestDesk:
    def __init__(self, settings: Settings, db: Database, clock: Clock) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.invitations = Invitations()

    async def _running(self, live_id: int) -> None:
        async with self.db.session() as session:
            live = await booking.load(session, live_id)
        if live.state in FINISHED:
            raise Gone(f"Live session {live_id} has {live.state}.", zh="这次视频踏勘已经结束。")

    async def invite(
        self, live_id: int, actor: Actor, request: InvitationRequest
    ) -> InvitationView:
        await self._running(live_id)
        minutes = request.minutes or self.settings.live_invitation_minutes
        now = self.clock.now()
        invitation, token = self.invitations.create(
            live_id, request.name, actor, now, timedelta(minutes=minutes)
        )
        await booking.audited(
            self.db, live_id, actor, "live.invitation_created",
            {"invitation": invitation.id, "name": invitation.name,
             "expires_at": invitation.expires_at.isoformat()},
        )  # fmt: skip
        link = GUEST_PAGE.format(live_id=live_id) + f"#{token}"
        return invitation.view(now, link)

    def list(self, live_id: int) -> list[InvitationView]:
        now = self.clock.now()
        return [i.view(now) for i in self.invitations.of_session(live_id)]

    async def revoke(
        self, live_id: int, invitation_id: int, actor: Actor, kick: Callable[[int], Awaitable[Any]]
    ) -> InvitationView:
        """Revoke; a guest who came by it is let go at once (``kick``)."""
        invitation = self.invitations.get(live_id, invitation_id)
        if not invitation.revoked:
            invitation.revoked = True
            await booking.audited(
                self.db, live_id, actor, "live.invitation_revoked",
                {"invitation": invitation.id, "name": invitation.name},
            )  # fmt: skip
            await kick(invitation.id)
        return invitation.view(self.clock.now())

    async def redeem(self, live_id: int, token: str) -> GuestPass:
        await self._running(live_id)
        invitation, key = self.invitations.redeem(live_id, token, self.clock.now())
        await booking.audited(
            self.db, live_id, Actor("guest", f"invitation:{invitation.id}", invitation.name),
            "live.invitation_used", {"invitation": invitation.id, "name": invitation.name},
        )  # fmt: skip
        return GuestPass(
            session_id=live_id, name=invitation.name, guest_key=key,
            expires_at=invitation.expires_at,
        )  # fmt: skip

    def participant(
        self, live_id: int, key: str, send: Send, hangup: Callable[[], Awaitable[Any]]
    ) -> Participant:
        """The invited expert, from the key its browser was given."""
        invitation = self.invitations.by_key(live_id, key, self.clock.now())
        actor = Actor("guest", f"invitation:{invitation.id}", invitation.name)
        return Participant(
            GUEST, actor, None, send, hangup, name=invitation.name, invitation_id=invitation.id
        )

    def forget(self, live_id: int) -> None:
        self.invitations.forget_session(live_id)

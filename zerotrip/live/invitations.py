"""One-time invitation links for an outside expert without an account.

An invitation is scoped to one session, lapses after ``live_invitation_minutes`` or when the
session ends, and can be revoked. Its token binds one browser: the first redemption trades it
for a guest key (kept by that browser for rejoins); any later redemption is refused as used.
Only hashes of the token and the key are kept. Invitations live with the process that runs the
session's room (a session's routes answer only there): a restart makes the inspector invite
again, which is acceptable for links that last one call."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from zerotrip.kit.actor import Actor
from zerotrip.problems import Gone, NotFound, Unauthenticated

GUEST_KEY_PREFIX = "zg_"  # tells a guest key from a staff or applicant token


class InvitationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)  # shown to the others and on the recording
    minutes: int | None = Field(default=None, ge=1, le=24 * 60)


class RedeemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=8, max_length=200)


class InvitationView(BaseModel):
    id: int
    session_id: int
    name: str
    created_at: datetime
    expires_at: datetime
    state: str  # open | used | revoked | expired
    link: str | None = None  # only in the answer that created it (the token is not kept)


class GuestPass(BaseModel):
    """What a redeemed invitation gives the browser: the key it joins (and rejoins) with."""

    session_id: int
    name: str
    guest_key: str
    expires_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Invitation:
    id: int
    live_id: int
    name: str
    created_by: Actor
    created_at: datetime
    expires_at: datetime
    token_hash: str
    key_hash: str | None = None  # set when a browser redeemed it
    revoked: bool = False

    def state(self, now: datetime) -> str:
        if self.revoked:
            return "revoked"
        if self.key_hash is not None:
            return "used"
        if now >= self.expires_at:
            return "expired"
        return "open"

    def view(self, now: datetime, link: str | None = None) -> InvitationView:
        return InvitationView(
            id=self.id, session_id=self.live_id, name=self.name, created_at=self.created_at,
            expires_at=self.expires_at, state=self.state(now), link=link,
        )  # fmt: skip


class Invitations:
    """The invitations of the sessions this process serves."""

    def __init__(self) -> None:
        self._by_id: dict[int, Invitation] = {}
        self._ids = itertools.count(1)

    def create(
        self, live_id: int, name: str, actor: Actor, now: datetime, lifetime: timedelta
    ) -> tuple[Invitation, str]:
        token = secrets.token_urlsafe(24)
        invitation = Invitation(
            id=next(self._ids), live_id=live_id, name=name.strip(), created_by=actor,
            created_at=now, expires_at=now + lifetime, token_hash=_digest(token),
        )  # fmt: skip
        self._by_id[invitation.id] = invitation
        return invitation, token

    def of_session(self, live_id: int) -> list[Invitation]:
        return [i for i in self._by_id.values() if i.live_id == live_id]

    def get(self, live_id: int, invitation_id: int) -> Invitation:
        invitation = self._by_id.get(invitation_id)
        if invitation is None or invitation.live_id != live_id:
            raise NotFound(
                f"No invitation {invitation_id} in this session.", zh="此视频踏勘没有这份邀请。"
            )
        return invitation

    def redeem(self, live_id: int, token: str, now: datetime) -> tuple[Invitation, str]:
        """Bind the invitation to the browser that presents it first; refuse any other use."""
        digest = _digest(token)
        found = next(
            (i for i in self._by_id.values() if hmac.compare_digest(i.token_hash, digest)), None
        )
        if found is None:
            raise NotFound("This invitation link is not valid.", zh="邀请链接无效。")
        if found.live_id != live_id:
            raise NotFound(
                "This invitation is for another session.", zh="此邀请链接不属于这次视频踏勘。"
            )
        _ensure_open(found, now)
        key = GUEST_KEY_PREFIX + secrets.token_urlsafe(24)
        found.key_hash = _digest(key)
        return found, key

    def by_key(self, live_id: int, key: str, now: datetime) -> Invitation:
        """The invitation a guest key was issued for (a rejoin from the bound browser)."""
        digest = _digest(key)
        found = next(
            (
                i
                for i in self._by_id.values()
                if i.key_hash is not None and hmac.compare_digest(i.key_hash, digest)
            ),
            None,
        )
        if found is None or found.live_id != live_id:
            raise Unauthenticated("This guest key is not valid here.", zh="访客凭证无效。")
        if found.revoked:
            raise Gone("The invitation was revoked.", zh="邀请已被撤销。", code="revoked")
        if now >= found.expires_at:
            raise Gone("The invitation has expired.", zh="邀请链接已过期。", code="expired")
        return found

    def forget_session(self, live_id: int) -> list[Invitation]:
        """The session ended: its invitations end with it."""
        gone = self.of_session(live_id)
        for invitation in gone:
            del self._by_id[invitation.id]
        return gone


def _ensure_open(invitation: Invitation, now: datetime) -> None:
    state = invitation.state(now)
    if state == "revoked":
        raise Gone("The invitation was revoked.", zh="邀请链接已被撤销。", code="revoked")
    if state == "used":
        raise Gone(
            "The invitation link has already been used in another browser.",
            zh="邀请链接已被使用，每个链接只能在一个浏览器中打开。",
            code="used",
        )
    if state == "expired":
        raise Gone("The invitation link has expired.", zh="邀请链接已过期。", code="expired")

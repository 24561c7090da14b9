"""Capture nonces: short-lived, single-use tokens tying an in-page photo to our capture screen.

The page asks for one when the camera opens for a checkpoint and sends it with the photo; a live
room issues one with its request for a full-resolution photo, bound to that session. The server
keeps only the token's SHA-256. An upload claims the nonce for its bytes before anything is
stored, and using it binds it to the evidence it brought in; presenting it again with the same
photo returns that evidence (a safe retry), with any other photo it is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.media.models import CaptureNonce
from zerotrip.problems import Conflict, Forbidden, Gone

NONCE_BYTES = 24
MAX_NONCE_LENGTH = 64


@dataclass(frozen=True)
class IssuedNonce:
    token: str
    record: CaptureNonce


def nonce_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_nonce(
    session: AsyncSession,
    case_id: int,
    checkpoint_id: int,
    now: datetime,
    minutes: int,
    live_session_id: int | None = None,
) -> IssuedNonce:
    token = secrets.token_urlsafe(NONCE_BYTES)
    record = CaptureNonce(
        case_id=case_id,
        checkpoint_id=checkpoint_id,
        nonce_hash=nonce_hash(token),
        issued_at=now,
        expires_at=now + timedelta(minutes=minutes),
        live_session_id=live_session_id,
    )
    session.add(record)
    return IssuedNonce(token, record)


async def find_nonce(
    session: AsyncSession, token: str, case_id: int, checkpoint_id: int, *, for_update: bool = False
) -> CaptureNonce:
    """The nonce record for ``token``, checked to belong to this case and checkpoint."""
    if not token or len(token) > MAX_NONCE_LENGTH:
        raise Forbidden(
            "The capture nonce is missing or not valid.",
            zh="拍摄凭证缺失或无效，请重新打开相机。",
            code="nonce_invalid",
        )
    stmt = select(CaptureNonce).where(CaptureNonce.nonce_hash == nonce_hash(token))
    if for_update:
        stmt = stmt.with_for_update()
    record = (await session.exec(stmt)).first()
    if record is None or record.case_id != case_id or record.checkpoint_id != checkpoint_id:
        raise Forbidden(
            "The capture nonce is not valid for this checklist item.",
            zh="拍摄凭证与该踏勘要点不符，请重新打开相机。",
            code="nonce_invalid",
        )
    return record


def check_binding(record: CaptureNonce, origin: str, live_session_id: int | None) -> None:
    """Raise unless the nonce was issued for this kind of capture: a live room's nonce only for
    a ``live_photo`` naming that session, a capture screen's nonce only for anything else."""
    if origin == "live_photo" and record.live_session_id is None:
        raise Forbidden(
            "A live photo needs the nonce the live session issued with its request.",
            zh="视频踏勘中的拍照须附带该次视频踏勘随拍照请求发出的拍摄凭证。",
            code="live_photo_unbound",
        )
    if record.live_session_id != live_session_id:
        raise Forbidden(
            "The capture nonce was issued for another live session.",
            zh="拍摄凭证属于另一次视频踏勘。",
            code="nonce_invalid",
        )


def claim(record: CaptureNonce, sha256: str, now: datetime) -> None:
    """Reserve an unused, unexpired nonce for the upload of ``sha256``; refuse other bytes.

    Claiming again with the same bytes (a retry, or a retry after a crash between steps) is
    allowed: storage is keyed by the same hash, and recording happens once.
    """
    if record.claimed_sha256 == sha256:
        return
    check_usable(record, now)
    record.claimed_sha256, record.claimed_at = sha256, now


def release(record: CaptureNonce) -> None:
    """Give a claim back (the file was refused): the camera may try again with this nonce."""
    if record.evidence_id is None:
        record.claimed_sha256, record.claimed_at = None, None


def check_usable(record: CaptureNonce, now: datetime) -> None:
    """Raise unless the nonce is unused, unclaimed and unexpired."""
    if record.used_at is not None or record.claimed_sha256 is not None:
        raise Conflict(
            "This capture nonce was already used for another photo; open the camera again.",
            zh="该拍摄凭证已用于另一张照片，请重新打开相机。",
            code="nonce_used",
        )
    if now > record.expires_at:
        raise Gone(
            "The capture screen was open too long; open the camera again.",
            zh="拍摄界面打开时间过长，请重新打开相机。",
            code="nonce_expired",
        )


def consume(record: CaptureNonce, evidence_id: int, now: datetime) -> None:
    record.used_at = now
    record.evidence_id = evidence_id

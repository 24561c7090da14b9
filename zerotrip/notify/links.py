"""The case link inside a message, without ever storing it.

Each message gets its own applicant link whose token is derived from the service's secret key
and the message id (HMAC-SHA256). Only the token's SHA-256 is stored, as for every applicant
link, so a copy of the database opens no case; and a retried send derives the same token, so a
retry never issues a second link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import ApplicantLink
from zerotrip.accounts.service import APPLICANT_PREFIX, token_digest


def message_token(secret_key: str, notification_id: int) -> str:
    mac = hmac.new(secret_key.encode(), f"notification:{notification_id}".encode(), hashlib.sha256)
    return APPLICANT_PREFIX + base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


async def issue_message_link(
    session: AsyncSession,
    case_id: int,
    notification_id: int,
    *,
    secret_key: str,
    now: datetime,
    days: int,
) -> ApplicantLink:
    link = ApplicantLink(
        case_id=case_id,
        token_hash=token_digest(message_token(secret_key, notification_id)),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(link)
    await session.flush()
    return link


def case_url(public_url: str, secret_key: str, notification_id: int) -> str:
    return f"{public_url.rstrip('/')}/a/{message_token(secret_key, notification_id)}"

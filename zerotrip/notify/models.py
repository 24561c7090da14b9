"""Messages to applicants: what was said, to whom, by which channel, and whether it went out."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Notification(SQLModel, table=True):
    """One message about one step of a case. Its link token is never stored (see links.py)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_case", "case_id", "id"),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    topic: str = Field(max_length=48)
    dedupe_key: str = Field(max_length=160)
    channel: str = Field(max_length=16)  # record | email | sms
    recipient: str = Field(default="", max_length=254)
    # What was sent, in the recipient's ``language``; ``texts`` has it in every language
    # ({"zh": {"subject", "body"}, "en": ...}) for staff to read in theirs (None: older rows).
    language: str = Field(default="zh", max_length=8, sa_column_kwargs={"server_default": "zh"})
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # holds a {link} placeholder
    texts: dict[str, dict[str, str]] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    link_id: int | None = Field(default=None, foreign_key="applicant_links.id")
    status: str = Field(
        default="queued", max_length=16
    )  # queued | sent | recorded | failed | withdrawn
    attempts: int = 0
    last_error: str = Field(default="", max_length=1000)
    provider_ref: str = Field(default="", max_length=128, index=True)
    delivery_status: str = Field(default="", max_length=32)  # from the SMS gateway's callback
    created_at: datetime
    not_before: datetime | None = None
    sent_at: datetime | None = None

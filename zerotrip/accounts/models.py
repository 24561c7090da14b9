"""Tables of who may act: staff accounts, their sessions and tokens, and applicant links."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlmodel import Field, SQLModel


class Role(enum.StrEnum):
    clerk = "clerk"
    inspector = "inspector"
    admin = "admin"


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    must_change_password: bool = False
    active: bool = True
    created_at: datetime


class StaffToken(SQLModel, table=True):
    """A browser session (``kind='session'``, with a CSRF token) or an API bearer token."""

    __tablename__ = "staff_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_users.id", index=True)
    kind: str = Field(max_length=16)  # session | api
    token_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(default="", max_length=64)
    label: str = Field(default="", max_length=200)
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class ApplicantLink(SQLModel, table=True):
    """A capability link to one case; the token itself is never stored, only its SHA-256."""

    __tablename__ = "applicant_links"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    created_by: int | None = Field(default=None, foreign_key="staff_users.id")

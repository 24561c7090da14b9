"""Tables of who may act: staff accounts, their sessions and tokens, and applicant links."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Role(enum.StrEnum):
    clerk = "clerk"
    inspector = "inspector"
    admin = "admin"


# How a role is named to people (problem details); the pages name them the same way.
ROLE_NAMES_ZH = {Role.clerk: "受理人员", Role.inspector: "踏勘人员", Role.admin: "管理员"}


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


class ThrottleCounter(SQLModel, table=True):
    """Recent failures (or attempts) of one subject against one limit, shared by every process.

    ``scope`` names the limit (``login_account``, ``login_ip``, ``token_ip``, ``apply_ip``) and
    ``subject`` what is counted (a username or a client address).
    """

    __tablename__ = "throttle_counters"

    scope: str = Field(primary_key=True, max_length=32)
    subject: str = Field(primary_key=True, max_length=128)
    count: int = 0
    window_started_at: datetime
    locked_until: datetime | None = None
    lockouts: int = 0  # lockouts in a row: each doubles the next one's length


class SecurityEvent(SQLModel, table=True):
    """Append-only record of what happened to access: lockouts, password changes, revocations."""

    __tablename__ = "security_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    kind: str = Field(max_length=64)
    user_id: int | None = Field(default=None, foreign_key="staff_users.id", index=True)
    subject: str = Field(default="", max_length=128)
    client: str = Field(default="", max_length=64)
    detail: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))

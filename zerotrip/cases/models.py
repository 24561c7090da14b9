"""Tables of the case file: cases, their material lists, checkpoints and audit events."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class CaseState(enum.StrEnum):
    submitted = "submitted"
    returned = "returned"  # pre-review returned the application with reasons
    accepted = "accepted"  # pre-review accepted (possibly with outstanding materials)
    inspecting = "inspecting"
    rectifying = "rectifying"  # the inspection asked for rectification; clock paused
    inspected = "inspected"  # inspection_result says pass or fail
    approved = "approved"
    rejected = "rejected"
    certificate_issued = "certificate_issued"
    delivered = "delivered"
    closed = "closed"
    withdrawn = "withdrawn"


# How a state is named to people (problem details, documents); raw values never reach a page.
STATE_NAMES: dict[str, tuple[str, str]] = {
    "submitted": ("已提交", "submitted"),
    "returned": ("已退回补正", "returned for correction"),
    "accepted": ("已受理", "accepted"),
    "inspecting": ("踏勘中", "being inspected"),
    "rectifying": ("整改中", "being rectified"),
    "inspected": ("已踏勘", "inspected"),
    "approved": ("准予许可", "approved"),
    "rejected": ("不予许可", "rejected"),
    "certificate_issued": ("已制证", "issued"),
    "delivered": ("已送达", "delivered"),
    "closed": ("已办结", "closed"),
    "withdrawn": ("已撤回", "withdrawn"),
}


def state_name(state: str, language: str = "zh") -> str:
    zh, en = STATE_NAMES.get(state, (state, state))
    return zh if language == "zh" else en


OPEN_STATES = frozenset(CaseState) - {CaseState.closed, CaseState.withdrawn}
# States in which the statutory clock runs (not waiting on the applicant, not finished).
CLOCK_RUNNING = frozenset({CaseState.accepted, CaseState.inspecting, CaseState.inspected})


class MaterialStatus(enum.StrEnum):
    expected = "expected"  # listed, not yet received
    received = "received"
    outstanding = "outstanding"  # 容缺: accepted without it, due by due_date
    missing = "missing"  # pre-review found it missing (case returned)


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_state_deadline", "state", "deadline"),
        sa.Index("ix_cases_matter_submitted", "matter_code", "submitted_at"),
        sa.Index("ix_cases_updated", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True)
    matter_code: str = Field(max_length=64)
    # The local version of the matter the case started with (0: the shipped catalogue) and its
    # time limit then: later edits of the matter do not move a running case's deadline.
    matter_version: int = 0
    time_limit_working_days: int | None = None
    state: str = Field(max_length=32, default=CaseState.submitted)

    applicant_name: str = Field(max_length=200)
    applicant_phone: str = Field(max_length=40, default="")
    applicant_email: str = Field(max_length=254, default="")
    organisation: str = Field(max_length=200, default="")
    premises_address: str = Field(max_length=500)
    premises_lat: float | None = None
    premises_lon: float | None = None  # WGS-84 (what browsers and the trust checks use)
    # How the applicant gave the position: the datum and the coordinates as entered (GCJ-02 from
    # AMap/Tencent, BD-09 from Baidu, WGS-84 from a phone), kept beside the converted WGS-84.
    premises_datum: str = Field(default="wgs84", max_length=8)
    premises_input: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    # Where the certificate goes (recipient, phone, address, city, postcode); None: the premises.
    delivery_address: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    delivery_confirmed_at: datetime | None = None

    # The applicant's language (zh | en): what their messages are written in.
    language: str = Field(default="zh", max_length=8, sa_column_kwargs={"server_default": "zh"})

    submitted_via: str = Field(max_length=16, default="applicant")  # applicant | clerk
    submitted_by: int | None = Field(default=None, foreign_key="staff_users.id")
    submitted_at: datetime
    accepted_at: datetime | None = None
    deadline: date | None = None
    clock_paused_at: datetime | None = None
    inspection_result: str | None = Field(default=None, max_length=16)  # pass | fail
    decision: str | None = Field(default=None, max_length=16)  # approved | rejected
    return_reasons: list[str] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    updated_at: datetime
    closed_at: datetime | None = None

    audit_seq: int = 0
    audit_head: str = Field(default="0" * 64, max_length=64)


class CaseMaterial(SQLModel, table=True):
    __tablename__ = "case_materials"
    __table_args__ = (sa.UniqueConstraint("case_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    code: str = Field(max_length=64)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    required: bool = True
    critical: bool = False
    paper_original: bool = False
    status: str = Field(max_length=16, default=MaterialStatus.expected)
    due_date: date | None = None
    received_at: datetime | None = None


class Checkpoint(SQLModel, table=True):
    __tablename__ = "checkpoints"
    __table_args__ = (sa.UniqueConstraint("case_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    position: int = 0
    code: str = Field(max_length=64)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    guidance_zh: str = Field(default="", max_length=2000)
    guidance_en: str = Field(default="", max_length=2000)
    restricted: bool = False  # identity checkpoints: staff with the right role only
    verdict: str | None = Field(default=None, max_length=16)  # pass | fail | rectify
    verdict_comment: str = Field(default="", max_length=4000)
    verdict_by: int | None = Field(default=None, foreign_key="staff_users.id")
    verdict_at: datetime | None = None
    round: int = 1


class AuditEvent(SQLModel, table=True):
    """One append-only link of a case's hash chain."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_audit_case_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    seq: int
    at: datetime
    actor_kind: str = Field(max_length=16)  # staff | applicant | system | courier
    actor_id: str = Field(default="", max_length=64)
    actor_label: str = Field(default="", max_length=200)
    kind: str = Field(max_length=64)
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class HandInState(enum.StrEnum):
    submitted = "submitted"  # uploaded, waiting for the clerk
    mail = "mail"  # the applicant mails the paper with the next courier order
    accepted = "accepted"
    rejected = "rejected"


class MaterialHandIn(SQLModel, table=True):
    """An outstanding (容缺) material handed in by the applicant: an uploaded document stored
    by its hash through the evidence storage, or a promise to mail it; the clerk decides."""

    __tablename__ = "material_hand_ins"
    __table_args__ = (sa.Index("ix_material_hand_ins_case", "case_id", "material_code"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    material_code: str = Field(max_length=64)
    method: str = Field(max_length=8)  # upload | mail
    state: str = Field(max_length=12, default=HandInState.submitted)
    sha256: str | None = Field(default=None, max_length=64)
    media_type: str = Field(default="", max_length=64)
    size: int = 0
    filename: str = Field(default="", max_length=200)
    submitted_at: datetime
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="staff_users.id")
    reason: str = Field(default="", max_length=1000)
    reminded_on: date | None = None  # the due-date reminder sent for this material (once)

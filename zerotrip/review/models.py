"""Tables of the inspector's review: annotation versions, the verdict history, signed reports and
certificates.

Annotations are never burned into an original: every save adds a version row holding the whole
annotation page as JSON; flattened images are caches derived from ``(evidence sha256, document
hash, renderer version)``. Verdicts keep their history (the current one is mirrored on the
checkpoint row the case file already has). Reports and certificates are stored files whose
SHA-256 the audit chain records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Annotation(SQLModel, table=True):
    """One saved version of the annotations on one evidence image."""

    __tablename__ = "annotations"
    __table_args__ = (sa.UniqueConstraint("evidence_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    evidence_id: int = Field(foreign_key="evidence.id")
    version: int
    document: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    sha256: str = Field(max_length=64)  # of the canonical JSON of ``document``
    shapes: int = 0
    created_by: int | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime


class VerdictRecord(SQLModel, table=True):
    """A verdict on a checkpoint as given; a later verdict adds a row, never rewrites one."""

    __tablename__ = "verdict_records"
    __table_args__ = (sa.Index("ix_verdict_records_checkpoint", "checkpoint_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    checkpoint_id: int = Field(foreign_key="checkpoints.id")
    round: int = 1
    verdict: str = Field(max_length=16)  # pass | fail | rectify
    comment: str = Field(default="", max_length=4000)
    evidence_ids: list[int] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    # Evidence relied on although its trust verdict is not ``consistent``: the inspector's
    # written reason for each, ``[{"evidence_id", "verdict", "reason"}]``.
    overrides: list[dict[str, Any]] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    given_by: int | None = Field(default=None, foreign_key="staff_users.id")
    given_at: datetime


class Report(SQLModel, table=True):
    """A signed inspection report PDF; ``shared`` copies leave out restricted evidence."""

    __tablename__ = "inspection_reports"
    __table_args__ = (sa.UniqueConstraint("case_id", "version", "shared"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    version: int
    shared: bool = True
    sha256: str = Field(max_length=64)
    blob_key: str = Field(max_length=200)
    size: int
    audit_head: str = Field(max_length=64)  # the chain head the report was signed against
    audit_seq: int
    signed_by: int | None = Field(default=None, foreign_key="staff_users.id")
    signed_label: str = Field(default="", max_length=200)
    signed_at: datetime


class Certificate(SQLModel, table=True):
    """An issued certificate: what it says, the file, and whether it has been revoked."""

    __tablename__ = "certificates"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    code: str = Field(max_length=32, unique=True)
    matter_code: str = Field(max_length=64)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    holder: str = Field(max_length=200)
    premises_address: str = Field(max_length=500)
    reference: str = Field(max_length=32)
    valid_until: datetime | None = None
    sha256: str = Field(max_length=64)
    blob_key: str = Field(max_length=200)
    issued_by: int | None = Field(default=None, foreign_key="staff_users.id")
    issued_at: datetime
    revoked_at: datetime | None = None
    revoked_by: int | None = Field(default=None, foreign_key="staff_users.id")
    revoke_reason: str = Field(default="", max_length=2000)

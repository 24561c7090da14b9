"""Evidence objects: immutable originals stored by SHA-256, and the trust verdicts about them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Evidence(SQLModel, table=True):
    """One original (photo, video, live still, recording) attached to a case.

    The bytes live in storage under ``blob_key`` (derived from ``sha256``) and are never edited;
    annotations, derived images and verdicts are separate records that point here.
    """

    __tablename__ = "evidence"
    __table_args__ = (sa.Index("ix_evidence_case_checkpoint", "case_id", "checkpoint_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    checkpoint_id: int | None = Field(default=None, foreign_key="checkpoints.id")
    kind: str = Field(max_length=16)  # photo | video | still | recording
    source: str = Field(max_length=16)  # capture | gallery | live_still | live_photo | recording
    sha256: str = Field(max_length=64, index=True)
    blob_key: str = Field(max_length=200)
    media_type: str = Field(max_length=64)
    size: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    received_at: datetime
    captured_at: datetime | None = None  # from metadata; the receipt time is the reference clock
    actor_kind: str = Field(max_length=16)
    actor_id: str = Field(default="", max_length=64)
    live_session_id: int | None = None
    video_offset_ms: int | None = None
    round: int = 1  # rectification round the evidence belongs to
    restricted: bool = False  # identity evidence: staff with the right role only
    capture: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    meta: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    # 64-bit dHash of the oriented picture (signed), for finding reuse across cases.
    dhash: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))


class TrustVerdict(SQLModel, table=True):
    """A verdict under one policy version; a newer policy adds a row, never rewrites one."""

    __tablename__ = "trust_verdicts"
    __table_args__ = (sa.UniqueConstraint("evidence_id", "policy_version"),)

    id: int | None = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", index=True)
    policy_version: str = Field(max_length=32)
    verdict: str = Field(max_length=16)  # consistent | needs_review | inconsistent
    findings: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime


class CaptureNonce(SQLModel, table=True):
    """A single-use token the applicant's page fetches when it opens the camera for a checkpoint.

    It proves the photo was sent from our capture screen shortly after it opened; only its
    SHA-256 is kept. An upload claims it for its bytes before storing anything, and
    ``evidence_id`` is set when that upload is recorded, which makes a retried upload of the same
    photo idempotent and any other use a conflict.
    """

    __tablename__ = "capture_nonces"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    checkpoint_id: int = Field(foreign_key="checkpoints.id")
    nonce_hash: str = Field(max_length=64, unique=True)
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    # Issued by a live room for the photo its inspector asked for: only a ``live_photo`` upload
    # naming this session may use it (and a live photo needs one).
    live_session_id: int | None = None
    # Claimed before anything is stored: the bytes the one upload allowed to use it brings.
    claimed_sha256: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None

"""How the review looks over the API: the review sheet of a case, annotations, verdicts, signed
reports and certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from zerotrip.cases.models import Case, Checkpoint
from zerotrip.review.casefile import EvidenceEntry
from zerotrip.review.models import Annotation, Certificate, Report, VerdictRecord


@dataclass(frozen=True)
class ReviewSheet:
    """Everything the inspector's review page shows of a case, read in one session."""

    case: Case
    checkpoints: list[Checkpoint]
    entries: list[EvidenceEntry]
    history: list[VerdictRecord]
    report: Report | None
    certificates: list[Certificate]
    see_restricted: bool


class AnnotationView(BaseModel):
    """An annotation version; version 0 (nothing drawn yet) has no hash and no document."""

    version: int
    sha256: str | None
    shapes: int
    created_at: datetime | None = None
    document: dict[str, JsonValue] | None

    @classmethod
    def of(cls, ann: Annotation | None) -> AnnotationView:
        if ann is None:
            return cls(version=0, sha256=None, shapes=0, document=None)
        return cls(
            version=ann.version,
            sha256=ann.sha256,
            shapes=ann.shapes,
            created_at=ann.created_at,
            document=ann.document,
        )


class ReviewEvidence(BaseModel):
    id: int
    kind: str
    source: str
    round: int
    sha256: str
    received_at: datetime
    captured_at: datetime | None
    restricted: bool
    annotation_version: int
    trust: str | None

    @classmethod
    def of(cls, entry: EvidenceEntry) -> ReviewEvidence:
        e = entry.evidence
        return cls(
            id=e.id or 0,
            kind=e.kind,
            source=e.source,
            round=e.round,
            sha256=e.sha256,
            received_at=e.received_at,
            captured_at=e.captured_at,
            restricted=e.restricted,
            annotation_version=entry.annotation.version if entry.annotation else 0,
            trust=entry.trust.verdict if entry.trust else None,
        )


class OverrideView(BaseModel):
    """Why the inspector relied on evidence the trust checks did not find consistent."""

    evidence_id: int
    verdict: str  # the trust verdict at the time, or not_assessed
    reason: str


class VerdictHistoryItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    round: int
    verdict: str
    comment: str
    evidence_ids: list[int]
    overrides: list[OverrideView] | None = None
    given_at: datetime


class VerdictView(VerdictHistoryItem):
    checkpoint_id: int


class ReviewCheckpoint(BaseModel):
    id: int
    code: str
    position: int
    title_zh: str
    title_en: str
    verdict: str | None
    comment: str
    round: int
    evidence: list[ReviewEvidence]
    history: list[VerdictHistoryItem]


class ReportBrief(BaseModel):
    version: int
    sha256: str
    signed_at: datetime
    signed_by: str
    audit_head: str

    @classmethod
    def of(cls, report: Report) -> ReportBrief:
        return cls(
            version=report.version,
            sha256=report.sha256,
            signed_at=report.signed_at,
            signed_by=report.signed_label,
            audit_head=report.audit_head,
        )


class CertificateBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    issued_at: datetime
    revoked_at: datetime | None
    sha256: str


class ReviewSheetView(BaseModel):
    case_id: int
    state: str
    inspection_result: str | None
    checkpoints: list[ReviewCheckpoint]
    report: ReportBrief | None
    certificates: list[CertificateBrief]

    @classmethod
    def of(cls, sheet: ReviewSheet) -> ReviewSheetView:
        items = []
        for cp in sheet.checkpoints:
            if cp.restricted and not sheet.see_restricted:
                continue
            items.append(
                ReviewCheckpoint(
                    id=cp.id or 0,
                    code=cp.code,
                    position=cp.position,
                    title_zh=cp.title_zh,
                    title_en=cp.title_en,
                    verdict=cp.verdict,
                    comment=cp.verdict_comment,
                    round=cp.round,
                    evidence=[
                        ReviewEvidence.of(e)
                        for e in sheet.entries
                        if e.evidence.checkpoint_id == cp.id
                    ],
                    history=[
                        VerdictHistoryItem.model_validate(h)
                        for h in sheet.history
                        if h.checkpoint_id == cp.id
                    ],
                )
            )
        return cls(
            case_id=sheet.case.id or 0,
            state=sheet.case.state,
            inspection_result=sheet.case.inspection_result,
            checkpoints=items,
            report=ReportBrief.of(sheet.report) if sheet.report else None,
            certificates=[CertificateBrief.model_validate(c) for c in sheet.certificates],
        )


class SignedReport(BaseModel):
    """The full copy's version and hash, and the hash of the shared copy signed with it."""

    version: int
    sha256: str
    shared_sha256: str
    audit_head: str
    signed_at: datetime

    @classmethod
    def of(cls, full: Report, shared: Report) -> SignedReport:
        return cls(
            version=full.version,
            sha256=full.sha256,
            shared_sha256=shared.sha256,
            audit_head=full.audit_head,
            signed_at=full.signed_at,
        )


class CertificateDocument(BaseModel):
    code: str
    issued_at: datetime
    revoked_at: datetime | None
    verify_url: str


class CaseDocuments(BaseModel):
    reports: list[ReportBrief]
    certificates: list[CertificateDocument]


class CertificateStatus(BaseModel):
    """What a verification code shows: the certificate's own face and whether it holds. An
    unknown code shows only its status."""

    status: Literal["valid", "revoked", "expired", "unknown"]
    code: str
    title_zh: str | None = None
    title_en: str | None = None
    holder: str | None = None
    premises_address: str | None = None
    reference: str | None = None
    issued_at: datetime | None = None
    valid_until: datetime | None = None
    revoked_at: datetime | None = None
    sha256: str | None = None


class PublicCertificateStatus(CertificateStatus):
    """The public check: times as UTC text (``…Z``), as printed on the verification page."""

    issued_at: str | None = None  # type: ignore[assignment]
    valid_until: str | None = None  # type: ignore[assignment]
    revoked_at: str | None = None  # type: ignore[assignment]

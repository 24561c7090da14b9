"""How a case is shown: to staff in full, to its applicant without office-internal detail.

Each model builds itself from the case file with ``of``; fields a view leaves unset (what
only staff see) are left out of the applicant's JSON and documented as optional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, JsonValue

from zerotrip.accounts.models import ApplicantLink
from zerotrip.cases.addresses import DeliveryAddressView, address_view
from zerotrip.cases.audit import ChainReport, format_time
from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.lifecycle import ACTIONS, allowed_actions
from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.cases.next_steps import NextSteps
from zerotrip.cases.store import clock_status


@dataclass(frozen=True)
class CaseViewing:
    """What a case's view needs beyond the case: the matters, the date and the calendar that
    decide whether its deadline is near."""

    catalogue: Catalogue
    today: date
    calendar: WorkingCalendar
    soon_days: int


@dataclass(frozen=True)
class CaseFile:
    """A case with its material list and checklist, read in one transaction."""

    case: Case
    materials: list[CaseMaterial]
    checkpoints: list[Checkpoint]


class CaseSummary(BaseModel):
    id: int
    reference: str
    matter_code: str
    state: str
    applicant_name: str
    organisation: str
    premises_address: str
    submitted_at: datetime
    updated_at: datetime
    deadline: date | None
    inspection_result: str | None = None  # staff only in a case's detail
    clock: str
    # staff list: an outstanding (容缺) material is past its due date
    materials_overdue: bool | None = None

    @classmethod
    def of(cls, row: Any, viewing: CaseViewing, *, materials_overdue: bool = False) -> CaseSummary:
        return cls(**_summary_fields(row, viewing), materials_overdue=materials_overdue)


def _summary_fields(row: Any, viewing: CaseViewing) -> dict[str, Any]:
    return {
        "id": row.id,
        "reference": row.reference,
        "matter_code": row.matter_code,
        "state": row.state,
        "applicant_name": row.applicant_name,
        "organisation": row.organisation,
        "premises_address": row.premises_address,
        "submitted_at": row.submitted_at,
        "updated_at": row.updated_at,
        "deadline": row.deadline,
        "inspection_result": row.inspection_result,
        "clock": clock_status(row, viewing.today, viewing.calendar, viewing.soon_days),
    }


class CasePage(BaseModel):
    """One page of the case list; ``next`` is the cursor of the following page (None: last)."""

    items: list[CaseSummary]
    next: str | None = None


class MatterBrief(BaseModel):
    code: str
    name_zh: str
    name_en: str
    time_limit_working_days: int | None


class MaterialView(BaseModel):
    code: str
    name_zh: str
    name_en: str
    required: bool
    critical: bool
    paper_original: bool
    status: str
    due_date: date | None
    received_at: datetime | None


class CheckpointView(BaseModel):
    id: int
    code: str
    position: int
    title_zh: str
    title_en: str
    guidance_zh: str
    guidance_en: str
    restricted: bool
    verdict: str | None
    verdict_comment: str
    round: int


class AllowedAction(BaseModel):
    name: str
    title_en: str
    title_zh: str


class CaseDetail(CaseSummary):
    matter: MatterBrief
    accepted_at: datetime | None
    decision: str | None
    return_reasons: list[str]
    materials: list[MaterialView]
    checkpoints: list[CheckpointView]
    allowed_actions: list[AllowedAction]
    audit_head: str | None
    delivery: DeliveryAddressView
    # the applicant's task list ("下一步"), in their view of the case
    next_steps: NextSteps | None = None
    # staff only
    applicant_phone: str | None = None
    applicant_email: str | None = None
    premises_lat: float | None = None
    premises_lon: float | None = None
    premises_datum: str | None = None
    premises_input: dict[str, JsonValue] | None = None
    submitted_via: str | None = None
    audit_seq: int | None = None

    @classmethod
    def of(  # type: ignore[override]
        cls,
        found: CaseFile,
        viewing: CaseViewing,
        *,
        role: str,
        next_steps: NextSteps | None = None,
    ) -> CaseDetail:
        case = found.case
        applicant = role == "applicant"
        matter = viewing.catalogue.get(case.matter_code)
        fields = _summary_fields(case, viewing)
        fields.update(
            matter=MatterBrief(
                code=case.matter_code,
                name_zh=matter.name_zh if matter else case.matter_code,
                name_en=matter.name_en if matter else case.matter_code,
                time_limit_working_days=matter.time_limit_working_days if matter else None,
            ),
            accepted_at=case.accepted_at,
            decision=case.decision,
            return_reasons=case.return_reasons or [],
            materials=[
                MaterialView.model_validate(m, from_attributes=True) for m in found.materials
            ],
            checkpoints=[
                CheckpointView.model_validate(c, from_attributes=True)
                for c in found.checkpoints
                if not applicant or not c.restricted
            ],
            allowed_actions=[
                AllowedAction(name=n, title_en=ACTIONS[n].title_en, title_zh=ACTIONS[n].title_zh)
                for n in allowed_actions(case.state, role)
            ],
            audit_head=None if applicant else case.audit_head,
            delivery=address_view(case),
        )
        if next_steps is not None:
            fields["next_steps"] = next_steps
        if applicant:
            del fields["inspection_result"]
        else:
            fields.update(
                applicant_phone=case.applicant_phone,
                applicant_email=case.applicant_email,
                premises_lat=case.premises_lat,
                premises_lon=case.premises_lon,
                premises_datum=case.premises_datum,
                premises_input=case.premises_input,
                submitted_via=case.submitted_via,
                audit_seq=case.audit_seq,
            )
        return cls(**fields)


class CaseCreated(BaseModel):
    """A new case, or a new link to one: the link is shown once, here, and never again."""

    case: CaseDetail
    applicant_link: str
    applicant_token: str


class EventActor(BaseModel):
    kind: str
    id: str
    label: str


class AuditEventView(BaseModel):
    seq: int
    at: str
    actor: EventActor
    kind: str
    payload: dict[str, JsonValue]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventView:
        return cls(
            seq=e.seq,
            at=format_time(e.at),
            actor=EventActor(kind=e.actor_kind, id=e.actor_id, label=e.actor_label),
            kind=e.kind,
            payload=json.loads(e.payload),
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


class ChainVerification(BaseModel):
    ok: bool
    events: int
    head: str
    first_bad_seq: int | None
    reason: str

    @classmethod
    def of(cls, report: ChainReport) -> ChainVerification:
        return cls(
            ok=report.ok,
            events=report.events,
            head=report.head,
            first_bad_seq=report.first_bad_seq,
            reason=report.reason,
        )


class AuditTrail(BaseModel):
    events: list[AuditEventView]
    verification: ChainVerification


class LinkView(BaseModel):
    id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, link: ApplicantLink) -> LinkView:
        return cls.model_validate(link, from_attributes=True)


class LinkList(BaseModel):
    items: list[LinkView]


class LinkTarget(BaseModel):
    case_id: int
    expires_at: datetime

"""How a case is shown: to staff in full, to its applicant without office-internal detail."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from zerotrip.accounts.models import ApplicantLink
from zerotrip.cases.audit import format_time
from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.lifecycle import ACTIONS, allowed_actions
from zerotrip.cases.models import AuditEvent, Case, CaseMaterial, Checkpoint
from zerotrip.cases.store import clock_status

CASE_SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "reference", "matter_code", "state"],
    "properties": {
        "id": {"type": "integer"},
        "reference": {"type": "string"},
        "matter_code": {"type": "string"},
        "state": {"type": "string"},
        "deadline": {"type": ["string", "null"], "format": "date"},
        "clock": {"type": "string"},
    },
}
CASE_DETAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "reference", "state", "materials", "checkpoints", "allowed_actions"],
    "properties": {
        **CASE_SUMMARY_SCHEMA["properties"],
        "materials": {"type": "array", "items": {"type": "object"}},
        "checkpoints": {"type": "array", "items": {"type": "object"}},
        "allowed_actions": {"type": "array", "items": {"type": "object"}},
    },
}


def case_summary(row: Any, today: date, calendar: WorkingCalendar, soon: int) -> dict[str, Any]:
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
        "clock": clock_status(row, today, calendar, soon),
    }


def material_view(m: CaseMaterial) -> dict[str, Any]:
    return {
        "code": m.code,
        "name_zh": m.name_zh,
        "name_en": m.name_en,
        "required": m.required,
        "critical": m.critical,
        "paper_original": m.paper_original,
        "status": m.status,
        "due_date": m.due_date,
        "received_at": m.received_at,
    }


def checkpoint_view(c: Checkpoint) -> dict[str, Any]:
    return {
        "id": c.id,
        "code": c.code,
        "position": c.position,
        "title_zh": c.title_zh,
        "title_en": c.title_en,
        "guidance_zh": c.guidance_zh,
        "guidance_en": c.guidance_en,
        "restricted": c.restricted,
        "verdict": c.verdict,
        "verdict_comment": c.verdict_comment,
        "round": c.round,
    }


def case_detail(
    case: Case,
    materials: list[CaseMaterial],
    checkpoints: list[Checkpoint],
    *,
    role: str,
    catalogue: Catalogue,
    today: date,
    calendar: WorkingCalendar,
    soon: int,
) -> dict[str, Any]:
    matter = catalogue.get(case.matter_code)
    view = case_summary(case, today, calendar, soon)
    view.update(
        {
            "matter": {
                "code": case.matter_code,
                "name_zh": matter.name_zh if matter else case.matter_code,
                "name_en": matter.name_en if matter else case.matter_code,
                "time_limit_working_days": matter.time_limit_working_days if matter else None,
            },
            "accepted_at": case.accepted_at,
            "decision": case.decision,
            "return_reasons": case.return_reasons or [],
            "materials": [material_view(m) for m in materials],
            "checkpoints": [
                checkpoint_view(c) for c in checkpoints if role != "applicant" or not c.restricted
            ],
            "allowed_actions": [
                {"name": n, "title_en": ACTIONS[n].title_en, "title_zh": ACTIONS[n].title_zh}
                for n in allowed_actions(case.state, role)
            ],
            "audit_head": case.audit_head if role != "applicant" else None,
        }
    )
    if role == "applicant":
        view.pop("inspection_result", None)
    else:
        view.update(
            {
                "applicant_phone": case.applicant_phone,
                "applicant_email": case.applicant_email,
                "premises_lat": case.premises_lat,
                "premises_lon": case.premises_lon,
                "submitted_via": case.submitted_via,
                "audit_seq": case.audit_seq,
            }
        )
    return view


def event_view(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": format_time(e.at),
        "actor": {"kind": e.actor_kind, "id": e.actor_id, "label": e.actor_label},
        "kind": e.kind,
        "payload": json.loads(e.payload),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def link_view(link: ApplicantLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
    }

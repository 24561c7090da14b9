"""Where parcels go: the office, the applicant's premises, and what counts as deliverable."""

from __future__ import annotations

import re
from typing import Any

from zerotrip.cases.models import Case
from zerotrip.config import Settings
from zerotrip.mailing.interfaces import Address
from zerotrip.problems import InvalidInput


def office_address(settings: Settings) -> dict[str, str]:
    return {
        "name": settings.office_name,
        "street1": settings.office_street,
        "city": settings.office_city,
        "state": settings.office_state,
        "zip": settings.office_zip,
        "country": settings.office_country,
        "phone": settings.office_phone,
        "email": "",
        "street2": "",
    }


def applicant_address(case: Case, settings: Settings) -> dict[str, str]:
    """The premises as the applicant gave them; city and code default to the office's area."""
    return {
        "name": case.applicant_name,
        "street1": case.premises_address[:200],
        "city": settings.office_city,
        "state": settings.office_state,
        "zip": settings.office_zip,
        "country": settings.office_country,
        "phone": case.applicant_phone,
        "email": case.applicant_email,
        "street2": case.organisation[:200],
    }


def validate_address(data: dict[str, Any]) -> dict[str, str]:
    """Refuse what no courier can deliver to, before anything is booked."""
    addr = Address.from_dict(data)
    problems = [
        {"field": name, "message": "required"}
        for name in ("name", "street1", "city", "zip", "country")
        if not getattr(addr, name).strip()
    ]
    if addr.country and not re.fullmatch(r"[A-Z]{2}", addr.country):
        problems.append({"field": "country", "message": "a two-letter ISO country code"})
    if addr.zip and not re.fullmatch(r"[A-Za-z0-9 -]{3,10}", addr.zip):
        problems.append({"field": "zip", "message": "3 to 10 letters, digits, spaces or dashes"})
    if addr.phone and not re.fullmatch(r"[0-9+\- ()]{5,40}", addr.phone):
        problems.append({"field": "phone", "message": "digits, spaces and + - ( ) only"})
    if problems:
        raise InvalidInput("The address is not complete.", zh="地址填写不完整。", errors=problems)
    return {k: v.strip() for k, v in addr.__dict__.items()}

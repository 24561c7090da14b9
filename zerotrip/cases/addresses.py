"""Where the certificate goes: asked of the applicant (default: the premises), confirmed or
changed before issuance, validated, and recorded on the case's audit chain.

The address is kept on the case (``cases.delivery_address``); the delivery order copies it when
the certificate is issued, so what the applicant confirmed is what the courier receives.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case, CaseState
from zerotrip.cases.store import get_case, lock_case
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.problems import Conflict

# Until the certificate is issued the applicant may confirm or change where it goes.
CHANGEABLE = frozenset(
    {
        CaseState.submitted,
        CaseState.accepted,
        CaseState.inspecting,
        CaseState.rectifying,
        CaseState.inspected,
        CaseState.approved,
    }
)


class DeliveryAddress(BaseModel):
    """A mainland address a courier can deliver to: a mobile (11 digits from 1) or a landline
    with area code, and a six-digit postcode."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    recipient: str = Field(min_length=1, max_length=100)
    phone: str = Field(max_length=20)
    province: str = Field(default="", max_length=50)
    city: str = Field(min_length=1, max_length=50)
    address: str = Field(min_length=4, max_length=200)
    postcode: str = Field(pattern=r"^\d{6}$")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        """Spaces, dashes and a +86 prefix are how people write numbers; keep the digits."""
        digits = re.sub(r"[\s()-]", "", value)
        digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", digits)
        if not re.fullmatch(r"1\d{10}|0\d{9,11}", digits):
            raise ValueError("a mainland mobile (11 digits) or a landline with its area code")
        return digits


class DeliveryAddressView(BaseModel):
    address: DeliveryAddress | None  # None: not given yet (the premises are proposed)
    proposed: dict[str, str]  # what the form starts from: the given address or the premises
    confirmed_at: datetime | None
    changeable: bool


def proposed_address(case: Case) -> dict[str, str]:
    if case.delivery_address:
        return {k: str(v) for k, v in case.delivery_address.items()}
    return {
        "recipient": case.applicant_name,
        "phone": case.applicant_phone,
        "province": "",
        "city": "",
        "address": case.premises_address,
        "postcode": "",
    }


def address_view(case: Case) -> DeliveryAddressView:
    given = DeliveryAddress.model_validate(case.delivery_address) if case.delivery_address else None
    return DeliveryAddressView(
        address=given,
        proposed=proposed_address(case),
        confirmed_at=case.delivery_confirmed_at,
        changeable=case.state in CHANGEABLE,
    )


def courier_fields(case: Case) -> dict[str, Any] | None:
    """The confirmed address in the courier orders' address shape, or None if none is given."""
    if not case.delivery_address or case.delivery_confirmed_at is None:
        return None
    a = case.delivery_address
    return {
        "name": a["recipient"],
        "phone": a["phone"],
        "street1": a["address"],
        "city": a["city"],
        "state": a.get("province", ""),
        "zip": a["postcode"],
    }


async def confirm_delivery_address(
    db: Database, case_id: int, address: DeliveryAddress, *, actor: Actor, now: datetime
) -> Case:
    """Record the address the applicant confirmed (the same or a changed one)."""

    async def work(session: AsyncSession) -> Case:
        case = await lock_case(session, case_id)
        if case.state not in CHANGEABLE:
            raise Conflict(
                f"The delivery address can no longer be changed in state {case.state}.",
                zh="证照已制发或办件已结束，邮寄地址不能再修改。如需改址请致电办理窗口。",
                state=case.state,
            )
        data = address.model_dump()
        changed = case.delivery_address is not None and case.delivery_address != data
        case.delivery_address = data
        case.delivery_confirmed_at = now
        case.updated_at = now
        session.add(case)
        append_event(
            session,
            case,
            actor,
            "delivery_address.confirmed",
            {"address": data, "changed": changed},
            at=now,
        )
        return case

    return await db.run_in_transaction(work)


async def delivery_address_of(db: Database, case_id: int) -> DeliveryAddressView:
    async with db.session() as session:
        return address_view(await get_case(session, case_id))

"""Order requests as the dispatcher builds them, for tests that call a courier directly."""

from __future__ import annotations

from typing import Any

from zerotrip.mailing.interfaces import Address, OrderRequest, Parcel
from zerotrip.mailing.statuses import OrderKind

APPLICANT = Address("李娜", "文三路 90 号", "Hangzhou", "ZJ", "310012", "CN", "+86 138 0000 0000")
OFFICE = Address("Permit Office", "1 Office Road", "Hangzhou", "ZJ", "310000", "CN", "+86 571 1")


def order_request(ref: str, kind: OrderKind = OrderKind.delivery, **kw: Any) -> OrderRequest:
    """One parcel between the applicant and the office; ``kind`` decides which way."""
    sender, recipient = (APPLICANT, OFFICE) if kind == OrderKind.pickup else (OFFICE, APPLICANT)
    return OrderRequest(
        reference=ref,
        kind=kind,
        sender=kw.pop("sender", sender),
        recipient=kw.pop("recipient", recipient),
        parcel=Parcel(),
        case_reference="ZT261122-ABCDEF",
        **kw,
    )

"""Between our carrier-neutral types and Shippo's: requests out, statuses and scans in.

Inbound pushes are read from plain JSON, not through the SDK's models: 3.9.0 refuses unknown
enum values and its webhook union mis-parses transaction payloads, and a new Shippo status must
not make us drop a scan.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from shippo.models import components

from zerotrip.mailing.interfaces import Address, Parcel, TrackingUpdate
from zerotrip.mailing.statuses import OrderStatus


def address_request(addr: Address, *, validate: bool) -> components.AddressCreateRequest:
    return components.AddressCreateRequest(
        country=addr.country,
        name=addr.name,
        street1=addr.street1,
        street2=addr.street2 or None,
        city=addr.city,
        state=addr.state or None,
        zip=addr.zip,
        phone=addr.phone or None,
        email=addr.email or None,
        validate=validate,
    )


def complete_address(addr: Address) -> components.AddressCompleteCreateRequest:
    return components.AddressCompleteCreateRequest(
        name=addr.name,
        street1=addr.street1,
        city=addr.city,
        state=addr.state or addr.city,
        zip=addr.zip,
        country=addr.country,
        phone=addr.phone or None,
    )


def parcel_request(parcel: Parcel) -> components.ParcelCreateRequest:
    return components.ParcelCreateRequest(
        mass_unit=components.WeightUnitEnum.G,
        weight=str(parcel.weight_g),
        distance_unit=components.DistanceUnitEnum.MM,
        length=str(parcel.length_mm),
        width=str(parcel.width_mm),
        height=str(parcel.height_mm),
    )


def pick_rate(rates: list[dict[str, Any]], allowed: tuple[str, ...]) -> dict[str, Any] | None:
    """The cheapest rate among the allowed service levels (all, if none are configured)."""
    usable = [
        r
        for r in rates
        if r.get("object_id")
        and (not allowed or (r.get("servicelevel") or {}).get("token") in allowed)
    ]
    if not usable:
        return None
    return min(usable, key=lambda r: float(r.get("amount") or "inf"))


def tracking_status(
    status: str, substatus: str | None, action_required: bool
) -> OrderStatus | None:
    """Shippo's status + substatus code to ours; ``None`` for UNKNOWN (ignored)."""
    if status == "PRE_TRANSIT":
        return OrderStatus.booked
    if status == "TRANSIT":
        if action_required or substatus in {"package_held", "delayed", "address_issue"}:
            return OrderStatus.attention
        if substatus == "package_accepted":
            return OrderStatus.picked_up
        if substatus == "out_for_delivery":
            return OrderStatus.out_for_delivery
        return OrderStatus.in_transit
    return {
        "DELIVERED": OrderStatus.delivered,
        "RETURNED": OrderStatus.returned,
        "FAILURE": OrderStatus.failed,
    }.get(status)


def _when(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, str) and raw:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    raise ValueError("a scan without a time")


def _scan(item: dict[str, Any], number: str, reference: str) -> TrackingUpdate | None:
    sub = item.get("substatus") or {}
    status = tracking_status(
        str(item.get("status") or ""), sub.get("code"), bool(sub.get("action_required"))
    )
    if status is None:
        return None
    when = _when(item.get("status_date") or item.get("object_updated"))
    loc = item.get("location") or {}
    event_id = (
        item.get("object_id")
        or hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
    )
    return TrackingUpdate(
        status=status,
        occurred_at=when,
        event_id=f"shippo:{event_id}",
        reference=reference,
        waybill=number,
        description=str(item.get("status_details") or "")[:500],
        location=", ".join(str(loc[k]) for k in ("city", "state", "country") if loc.get(k)),
    )


def track_updates(track: dict[str, Any]) -> list[TrackingUpdate]:
    """Every scan of a Track (history and current), oldest first."""
    number = str(track.get("tracking_number") or "")
    reference = str(track.get("metadata") or "")
    items = list(track.get("tracking_history") or [])
    if track.get("tracking_status"):
        items.append(track["tracking_status"])
    scans = [s for s in (_scan(i, number, reference) for i in items if isinstance(i, dict)) if s]
    return sorted(scans, key=lambda s: s.occurred_at)


def webhook_updates(body: str) -> list[TrackingUpdate]:
    """A Shippo webhook body (``track_updated`` / ``transaction_updated``) to scans."""
    payload = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise ValueError("not a Shippo webhook payload")
    data = payload["data"]
    event = payload.get("event")
    if event == "track_updated":
        return track_updates(data)
    if event in ("transaction_updated", "transaction_created"):
        return _transaction_update(data)
    return []


def _transaction_update(data: dict[str, Any]) -> list[TrackingUpdate]:
    """A label made (proof of the booking, with its id) or refunded; others wait for a check."""
    status = {"SUCCESS": OrderStatus.booked, "REFUNDED": OrderStatus.cancelled}.get(
        str(data.get("status"))
    )
    if status is None or not data.get("object_id"):
        return []
    return [
        TrackingUpdate(
            status=status,
            occurred_at=_when(data.get("object_updated") or data.get("object_created")),
            event_id=f"shippo-txn:{data.get('object_id')}:{data.get('status')}",
            reference=str(data.get("metadata") or ""),
            waybill=str(data.get("tracking_number") or ""),
            remote_id=str(data["object_id"]),
            description=f"label {str(data.get('status')).lower()}",
        )
    ]

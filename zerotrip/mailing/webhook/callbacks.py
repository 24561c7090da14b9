"""Reading the webhook courier's status callbacks (after :func:`signing.verify`).

Body: one event ``{"event_id", "reference" | "waybill", "status", "occurred_at",
"description"?, "location"?}`` or ``{"events": [...]}`` (also what ``GET /orders/{ref}``
returns). ``status`` is one of ours (see :class:`OrderStatus`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from zerotrip.mailing.interfaces import TrackingUpdate
from zerotrip.mailing.statuses import SCANNABLE, OrderStatus


class BadCallback(ValueError):
    pass


def _event(item: Any) -> TrackingUpdate:
    if not isinstance(item, dict):
        raise BadCallback("each event must be an object")
    event_id, status = item.get("event_id"), item.get("status")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 120:
        raise BadCallback("event_id must be a string of 1..120 characters")
    if status not in {s.value for s in SCANNABLE}:
        raise BadCallback(f"status must be one of {sorted(s.value for s in SCANNABLE)}")
    ref, waybill = item.get("reference") or "", item.get("waybill") or ""
    if not isinstance(ref, str) or not isinstance(waybill, str) or not (ref or waybill):
        raise BadCallback("give the order's reference or waybill")
    try:
        at = datetime.fromisoformat(str(item.get("occurred_at")).replace("Z", "+00:00"))
    except ValueError:
        raise BadCallback("occurred_at must be an ISO 8601 time") from None
    return TrackingUpdate(
        status=OrderStatus(status),
        occurred_at=at if at.tzinfo else at.replace(tzinfo=UTC),
        event_id=f"webhook:{event_id}",
        reference=ref[:64],
        waybill=waybill[:64],
        description=str(item.get("description") or "")[:500],
        location=str(item.get("location") or "")[:200],
    )


def parse_events(body: str) -> list[TrackingUpdate]:
    try:
        data = json.loads(body)
    except ValueError:
        raise BadCallback("the body is not JSON") from None
    items = data.get("events") if isinstance(data, dict) and "events" in data else [data]
    if not isinstance(items, list) or len(items) > 100:
        raise BadCallback("events must be a list of at most 100")
    return [_event(i) for i in items]

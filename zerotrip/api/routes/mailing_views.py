"""How courier orders look over the API: for the applicant, and (with more) for staff."""

from __future__ import annotations

from typing import Any

from zerotrip.mailing.models import CourierOrder, OrderEvent
from zerotrip.mailing.statuses import CANCELLABLE, OrderStatus
from zerotrip.outbox.models import OutboxMessage

HISTORY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "occurred_at", "source", "applied"],
    "properties": {
        "status": {"type": "string"},
        "occurred_at": {"type": "string"},
        "source": {"type": "string"},
        "description": {"type": "string"},
        "location": {"type": "string"},
        "applied": {"type": "boolean"},
        "ignored_reason": {"type": "string"},
    },
}
ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "case_id", "kind", "status", "courier", "history"],
    "properties": {
        "id": {"type": "integer"},
        "case_id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["pickup", "delivery"]},
        "status": {"type": "string", "enum": [s.value for s in OrderStatus]},
        "courier": {"type": "string"},
        "waybill": {"type": ["string", "null"]},
        "tracking_url": {"type": ["string", "null"]},
        "label_url": {"type": ["string", "null"]},
        "window_start": {"type": ["string", "null"]},
        "window_end": {"type": ["string", "null"]},
        "note": {"type": "string"},
        "can_choose": {"type": "boolean"},
        "history": {"type": "array", "items": HISTORY_SCHEMA},
        "dispatch": {"type": ["object", "null"]},
    },
}


def history_view(event: OrderEvent) -> dict[str, Any]:
    return {
        "status": event.status,
        "occurred_at": event.occurred_at,
        "source": event.source,
        "description": event.description,
        "location": event.location,
        "applied": event.applied,
        "ignored_reason": event.ignored_reason,
    }


def order_view(
    order: CourierOrder,
    events: list[OrderEvent],
    *,
    staff: bool,
    message: OutboxMessage | None = None,
    case_reference: str | None = None,
) -> dict[str, Any]:
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.id or 0))
    view: dict[str, Any] = {
        "id": order.id,
        "case_id": order.case_id,
        "kind": order.kind,
        "status": order.status,
        "courier": order.courier,
        "attempt": order.attempt,
        "waybill": order.waybill,
        "tracking_url": order.tracking_url,
        "label_url": order.label_url if staff else None,
        "window_start": order.window_start,
        "window_end": order.window_end,
        "note": order.note,
        "sender": order.sender,
        "recipient": order.recipient,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "can_choose": order.status == OrderStatus.awaiting_choice,
        "history": [history_view(e) for e in ordered if staff or e.applied],
        "dispatch": None,
    }
    if staff:
        view["case_reference"] = case_reference
        view["can_cancel"] = order.status in CANCELLABLE
        view["can_retry"] = not order.remote_id and order.status in (
            OrderStatus.queued,
            OrderStatus.attention,
        )
        if message is not None:
            view["dispatch"] = {
                "state": message.state,
                "attempts": message.attempts,
                "next_attempt_at": message.next_attempt_at,
                "last_error": message.last_error,
            }
    return view

"""How courier orders look over the API: for the applicant, and (with more) for staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, JsonValue

from zerotrip.cases.hand_ins import ParcelItem
from zerotrip.mailing.models import CourierOrder, OrderEvent
from zerotrip.mailing.statuses import CANCELLABLE, OrderStatus
from zerotrip.outbox.models import OutboxMessage


@dataclass(frozen=True)
class OrderRecord:
    """An order with what its view shows: its history, and for staff its dispatch message and
    its case's reference."""

    order: CourierOrder
    events: list[OrderEvent]
    message: OutboxMessage | None = None
    case_reference: str | None = None


class HistoryView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: str
    occurred_at: datetime
    source: str
    description: str
    location: str
    applied: bool
    ignored_reason: str


class DispatchView(BaseModel):
    """Where the outbox is with sending the order to its courier."""

    model_config = ConfigDict(from_attributes=True)

    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str


class OrderView(BaseModel):
    id: int
    case_id: int
    kind: str
    status: OrderStatus
    courier: str
    attempt: int
    waybill: str | None
    tracking_url: str | None
    label_url: str | None  # staff only (null for the applicant)
    window_start: datetime | None
    window_end: datetime | None
    note: str
    sender: dict[str, JsonValue]
    recipient: dict[str, JsonValue]
    created_at: datetime
    updated_at: datetime
    can_choose: bool
    history: list[HistoryView]
    dispatch: DispatchView | None
    # An open pickup: the documents the parcel carries (paper originals, mailed 容缺 materials).
    contents: list[ParcelItem] | None = None
    # staff only
    case_reference: str | None = None
    can_cancel: bool | None = None
    can_retry: bool | None = None

    @classmethod
    def of(cls, record: OrderRecord, *, staff: bool) -> OrderView:
        order = record.order
        ordered = sorted(record.events, key=lambda e: (e.occurred_at, e.id or 0))
        view = cls(
            id=order.id or 0,
            case_id=order.case_id,
            kind=order.kind,
            status=OrderStatus(order.status),
            courier=order.courier,
            attempt=order.attempt,
            waybill=order.waybill,
            tracking_url=order.tracking_url,
            label_url=order.label_url if staff else None,
            window_start=order.window_start,
            window_end=order.window_end,
            note=order.note,
            sender=order.sender,
            recipient=order.recipient,
            created_at=order.created_at,
            updated_at=order.updated_at,
            can_choose=order.status == OrderStatus.awaiting_choice,
            history=[HistoryView.model_validate(e) for e in ordered if staff or e.applied],
            dispatch=None,
        )
        if staff:
            view.case_reference = record.case_reference
            view.can_cancel = order.status in CANCELLABLE
            view.can_retry = not order.remote_id and order.status in (
                OrderStatus.queued,
                OrderStatus.attention,
            )
            if record.message is not None:
                view.dispatch = DispatchView.model_validate(record.message)
        return view

    def stuck_rank(self) -> int:
        """Needs a person first, then failing dispatches, then waiting, then moving."""
        d = self.dispatch
        if self.status == OrderStatus.attention or (d is not None and d.state == "dead"):
            return 0
        if d is not None and d.attempts > 1 and d.state != "done":
            return 1
        return 2 if self.status in (OrderStatus.queued, OrderStatus.awaiting_choice) else 3


class OrderList(BaseModel):
    items: list[OrderView]


class CaseMailing(BaseModel):
    orders: list[OrderView]
    delivery_preference: str
    couriers: list[str]  # staff only: the couriers an order can be handed to


class DeliveryPreferenceView(BaseModel):
    method: str


class CallbackReceipt(BaseModel):
    duplicate: bool
    outcome: str

"""Tables of the mailing domain: courier orders, their status history, inbound courier
messages, and the applicant's delivery preference."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from zerotrip.mailing.statuses import OrderStatus


class CourierOrder(SQLModel, table=True):
    """A pickup of paper materials or a delivery of a certificate, carrier-neutral.

    ``remote`` is the order's remote_ids with its courier: ids saved BEFORE each call that is not
    idempotent (Shippo's shipment and rate before buying a label), so a retry reconciles
    instead of buying twice.

    What WE asked is kept apart from what the courier reports (``status`` / ``courier_status``):
    ``intent`` is book or cancel (and who asked for the cancel), ``booking`` and ``cancelling``
    are the outcome of our latest call (sent / unknown / confirmed). A courier's report never
    changes our intent; only a person or a case step does.
    """

    __tablename__ = "courier_orders"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "kind", "attempt"),
        sa.Index("ix_courier_orders_status", "status", "updated_at"),
        sa.Index("ix_courier_orders_waybill", "courier", "waybill"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=16)
    attempt: int = 1
    courier: str = Field(max_length=32)
    status: str = Field(default=OrderStatus.queued, max_length=24)
    resume_rank: int = 0
    sender: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    recipient: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    parcel: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    window_start: datetime | None = None
    window_end: datetime | None = None
    remote: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    remote_id: str | None = Field(default=None, max_length=128)
    waybill: str | None = Field(default=None, max_length=64)
    label_url: str | None = Field(default=None, max_length=1000)
    tracking_url: str | None = Field(default=None, max_length=1000)
    note: str = Field(default="", max_length=2000)  # why it needs attention / was cancelled
    created_at: datetime
    updated_at: datetime
    last_scan_at: datetime | None = None  # the courier's time of the latest applied scan
    intent: str = Field(default="book", max_length=8)  # book | cancel
    intent_by: str = Field(default="", max_length=64)  # who asked for the cancel
    booking: str = Field(default="", max_length=12)  # "" | sent | unknown | confirmed
    booking_sent_at: datetime | None = None  # when the latest booking call went out
    unknown_since: datetime | None = None  # first unknown outcome not yet resolved
    absent_checks: int = 0  # reconciliations since then that found nothing at the courier
    steps: int = 0  # dispatch / reconciliation messages so far (keys of the next one)
    cancelling: str = Field(default="", max_length=12)  # "" | sent | confirmed
    courier_status: str = Field(default="", max_length=24)  # the courier's latest report


class OrderEvent(SQLModel, table=True):
    """One line of an order's history: every scan is kept, applied or not (and why not)."""

    __tablename__ = "courier_order_events"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "dedupe_key"),
        sa.Index("ix_courier_order_events_order_time", "order_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="courier_orders.id")
    status: str = Field(max_length=24)
    occurred_at: datetime  # the courier's scan time (or the office's, for office actions)
    received_at: datetime
    source: str = Field(max_length=32)  # local | shippo | webhook | staff | system | poll
    description: str = Field(default="", max_length=500)
    location: str = Field(default="", max_length=200)
    dedupe_key: str = Field(max_length=200)
    applied: bool = True
    ignored_reason: str = Field(default="", max_length=32)


class InboundMessage(SQLModel, table=True):
    """A courier push or poll result, stored before it is processed (deduplicated by key)."""

    __tablename__ = "courier_inbound"
    __table_args__ = (sa.Index("ix_courier_inbound_signature", "signature"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=200, unique=True)
    signature: str = Field(default="", max_length=128)
    received_at: datetime
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    processed_at: datetime | None = None
    outcome: str = Field(default="", max_length=500)


class DeliveryPreference(SQLModel, table=True):
    """How the applicant wants the certificate: by courier (default) or collected in person."""

    __tablename__ = "delivery_preferences"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    method: str = Field(max_length=16)  # courier | self_collect
    chosen_at: datetime

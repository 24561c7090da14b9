"""One status set for every courier, and the rule that an order never moves backwards.

Couriers report scans late, twice and out of order. The order's status only moves forward by
rank; ``attention`` (a courier problem: address issue, package held) can be raised from any open
state and is cleared by the next forward scan at or after the rank it interrupted. Terminal
states stay terminal, except that a delivered parcel can still come back (``returned``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class OrderKind(enum.StrEnum):
    pickup = "pickup"  # a courier collects the applicant's paper originals for the office
    delivery = "delivery"  # a courier brings the certificate to the applicant


class OrderStatus(enum.StrEnum):
    awaiting_choice = "awaiting_choice"  # pickup: the applicant may still pick a window
    queued = "queued"  # in the outbox, not yet accepted by a courier
    booked = "booked"  # courier accepted; waybill / label exists
    pickup_scheduled = "pickup_scheduled"
    picked_up = "picked_up"
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    returned = "returned"
    failed = "failed"
    cancelled = "cancelled"
    attention = "attention"  # needs a person: courier exception or undeliverable dispatch


RANK: dict[OrderStatus, int] = {
    OrderStatus.awaiting_choice: 0,
    OrderStatus.queued: 1,
    OrderStatus.booked: 2,
    OrderStatus.pickup_scheduled: 3,
    OrderStatus.picked_up: 4,
    OrderStatus.in_transit: 5,
    OrderStatus.out_for_delivery: 6,
    OrderStatus.delivered: 7,
    OrderStatus.returned: 8,
    OrderStatus.failed: 8,
    OrderStatus.cancelled: 9,
}
TERMINAL = frozenset(
    {OrderStatus.delivered, OrderStatus.returned, OrderStatus.failed, OrderStatus.cancelled}
)
OPEN = frozenset(OrderStatus) - TERMINAL
# Until a courier holds the parcel an order can be called off without a courier's help.
CANCELLABLE = frozenset(
    {
        OrderStatus.awaiting_choice,
        OrderStatus.queued,
        OrderStatus.booked,
        OrderStatus.pickup_scheduled,
        OrderStatus.attention,
    }
)
# Statuses a courier scan may report (the rest are set by the office).
SCANNABLE = frozenset(
    {
        OrderStatus.booked,
        OrderStatus.pickup_scheduled,
        OrderStatus.picked_up,
        OrderStatus.in_transit,
        OrderStatus.out_for_delivery,
        OrderStatus.delivered,
        OrderStatus.returned,
        OrderStatus.failed,
        OrderStatus.attention,
    }
)
# How the mailing page names each status, for problems that mention one.
STATUS_NAMES_ZH: dict[str, str] = {
    OrderStatus.awaiting_choice: "待选择时间",
    OrderStatus.queued: "待派单",
    OrderStatus.booked: "已下单",
    OrderStatus.pickup_scheduled: "已预约上门",
    OrderStatus.picked_up: "已揽收",
    OrderStatus.in_transit: "运输中",
    OrderStatus.out_for_delivery: "派送中",
    OrderStatus.delivered: "已送达",
    OrderStatus.returned: "已退回",
    OrderStatus.failed: "投递失败",
    OrderStatus.cancelled: "已取消",
    OrderStatus.attention: "需人工处理",
}


def status_zh(status: str) -> str:
    """A status as the mailing page names it (the raw value if it is not one we know)."""
    return STATUS_NAMES_ZH.get(status, status)


@dataclass(frozen=True)
class Decision:
    apply: bool
    status: OrderStatus
    resume_rank: int  # the rank an ``attention`` interrupted (kept while attention lasts)
    reason: str = ""  # why a scan was not applied: stale, regression, terminal


# Why a scan was not applied, as staff read it (tracking adds "duplicate scan").
REASONS_ZH = {
    "stale": "扫描时间早于上一次扫描",
    "regression": "状态不能倒退",
    "terminal": "订单已结束",
    "duplicate scan": "重复的扫描",
}


def decide(
    current: OrderStatus,
    resume_rank: int,
    last_scan_at: datetime | None,
    incoming: OrderStatus,
    scanned_at: datetime,
) -> Decision:
    """What a courier scan does to an order in ``current`` (pure; see the module docstring)."""
    if current in TERMINAL:
        if current == OrderStatus.delivered and incoming == OrderStatus.returned:
            return Decision(True, incoming, RANK[incoming])
        return Decision(False, current, resume_rank, "terminal")
    effective = resume_rank if current == OrderStatus.attention else RANK[current]
    if incoming == OrderStatus.attention:
        if last_scan_at is not None and scanned_at < last_scan_at:
            return Decision(False, current, resume_rank, "stale")
        return Decision(True, incoming, effective)
    rank = RANK[incoming]
    stale = last_scan_at is not None and scanned_at < last_scan_at
    if current == OrderStatus.attention and stale:
        # An older scan cannot clear a newer problem, but it still records progress made.
        return Decision(False, current, max(resume_rank, rank), "stale")
    if rank > effective or (current == OrderStatus.attention and rank == effective):
        return Decision(True, incoming, rank)
    return Decision(False, current, resume_rank, "regression")

"""The Courier protocol every adapter implements, its value types and its typed errors.

Errors say what the caller may do next, not what went wrong on the wire (named apart from the
outbox's ``RetryLater``/``Permanent``, into which :mod:`zerotrip.mailing.dispatch` translates them):

* :class:`CourierUnavailable`: nothing happened at the courier; try again (after ``retry_after``).
* :class:`CourierRefused`: the courier refused these inputs; retrying the same call is pointless.
* :class:`OutcomeUnknown`: the call may have taken effect (timeout after sending, 5xx on a
  purchase, a response that cannot be parsed). Reconcile through the remote_ids before any retry.
* :class:`Configuration`: credentials or settings are wrong; every order will fail alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from zerotrip.mailing.statuses import OrderKind, OrderStatus


class CourierError(Exception):
    pass


class CourierUnavailable(CourierError):
    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CourierRefused(CourierError):
    pass


class OutcomeUnknown(CourierError):
    pass


class Configuration(CourierError):
    pass


@dataclass(frozen=True)
class Address:
    name: str
    street1: str
    city: str
    state: str
    zip: str
    country: str
    phone: str = ""
    email: str = ""
    street2: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Address:
        return cls(**{k: str(data.get(k) or "") for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Parcel:
    weight_g: int = 500
    length_mm: int = 330
    width_mm: int = 240
    height_mm: int = 20


@dataclass(frozen=True)
class OrderRequest:
    reference: str  # ours, unique per order attempt: the courier-side idempotency key
    kind: OrderKind
    sender: Address
    recipient: Address
    parcel: Parcel
    case_reference: str
    window_start: datetime | None = None
    window_end: datetime | None = None


@dataclass
class Booking:
    remote_id: str
    waybill: str
    status: OrderStatus = OrderStatus.booked
    label_url: str | None = None
    tracking_url: str | None = None
    attention: str = ""  # booked, but a person must check something (e.g. pickup unconfirmed)


@dataclass(frozen=True)
class TrackingUpdate:
    status: OrderStatus
    occurred_at: datetime
    event_id: str  # the courier's id for this scan, or a digest of it
    reference: str = ""  # our order reference, when the courier echoes it
    waybill: str = ""
    remote_id: str = ""  # the courier's id of the order / label, when the scan carries it
    description: str = ""
    location: str = ""


SaveRemoteIds = Callable[[dict[str, Any], bool], Awaitable[None]]


@dataclass
class RemoteIds:
    """The order's remote ids; ``save`` persists them at once, before the next risky call.

    ``sending`` also records that a call which may act (a purchase) is about to go out, so a
    process killed before its answer leaves an order that is reconciled, never re-bought.
    """

    data: dict[str, Any] = field(default_factory=dict)
    saver: SaveRemoteIds | None = None

    async def save(self, **values: Any) -> None:
        self.data.update(values)
        if self.saver is not None:
            await self.saver(dict(self.data), False)

    async def sending(self, **values: Any) -> None:
        self.data.update(values)
        if self.saver is not None:
            await self.saver(dict(self.data), True)


class Courier(Protocol):
    name: str
    # True when booking the same reference twice yields one order at the courier (the reference
    # is its idempotency key); False (Shippo) means an unknown outcome must be reconciled
    # through :meth:`find` over the settle window before booking again.
    idempotent: bool

    async def book(self, request: OrderRequest, remote_ids: RemoteIds) -> Booking:
        """Create the order at the courier, or adopt the one an earlier attempt created."""
        ...

    async def find(self, request: OrderRequest, remote_ids: RemoteIds) -> Booking | None:
        """What the courier holds for this order: its live booking, or None if nothing.

        Raises :class:`OutcomeUnknown` when it holds something not (yet) final, e.g. a label
        still being made or one reported ``ERROR`` that may still turn out ``SUCCESS``.
        """
        ...

    async def cancel(self, request: OrderRequest, remote_ids: RemoteIds) -> None:
        """Call the order off (refund the label); cancelling twice is not an error."""
        ...

    async def track(self, request: OrderRequest, remote_ids: RemoteIds) -> list[TrackingUpdate]:
        """The courier's scans so far (for reconciliation when pushes went missing)."""
        ...

    async def close(self) -> None: ...

"""The Shippo adapter: book a label (and a pickup), refund it, read its tracking.

Shippo has no idempotency key, so booking is a sequence of steps, each id saved before the
next call that could not be repeated safely, and every purchase tagged with our order reference
(``metadata``):

1. ``transaction_id`` known: read it, never buy again.
2. Otherwise validate the applicant's address and create a shipment (harmless to repeat), pick
   a rate, and save ``shipment_id`` + ``rate_id``.
3. An attempt that finds a saved rate lists that rate's transactions and adopts any (an earlier
   attempt whose answer was lost) instead of buying; a fresh rate skips this.
4. Buy with ``async=False``, recorded as "sent" first. Transactions are read from the raw body
   (3.9.0 cannot parse one without ``created_by`` or with a status it does not know), and their
   id is saved before the answer is interpreted (for a delivery label answered ``SUCCESS``, in
   the booking's own write, which follows with no other call in between). Anything but
   ``SUCCESS`` with a tracking number, or no answer at all, is :class:`OutcomeUnknown`:
   ``ERROR`` can still turn into ``SUCCESS``. The dispatcher then reconciles through
   :meth:`find` over the settle window.
5. Pickups cannot be listed or cancelled in the API, so one is requested at most once; if that
   answer is lost the order is booked but flagged for a person to confirm with the carrier.
"""

from __future__ import annotations

from typing import Any

from shippo.models import components, errors, operations

from zerotrip.config import Settings
from zerotrip.mailing.interfaces import (
    Booking,
    CourierRefused,
    CourierUnavailable,
    OrderRequest,
    OutcomeUnknown,
    RemoteIds,
    TrackingUpdate,
)
from zerotrip.mailing.shippo import mapping
from zerotrip.mailing.shippo.proxy import ShippoProxy, classify, raw_json
from zerotrip.mailing.shippo.settings import ShippoSettings
from zerotrip.mailing.statuses import OrderKind, OrderStatus

NAME = "shippo"
PREFERENCE = {"SUCCESS": 0, "QUEUED": 1, "WAITING": 1}  # which of several to adopt first


def _messages(obj: Any) -> str:
    if isinstance(obj, dict):
        items = obj.get("messages") or []
        return "; ".join(str(m.get("text", m) if isinstance(m, dict) else m) for m in items)
    return "; ".join(str(getattr(m, "text", m)) for m in (getattr(obj, "messages", None) or []))


def _rate_of(txn: dict[str, Any]) -> str | None:
    rate = txn.get("rate")
    return rate.get("object_id") if isinstance(rate, dict) else rate


def _plainly_booked(request: OrderRequest, txn: dict[str, Any]) -> bool:
    """A delivery label answered ``SUCCESS`` with its tracking number: the booking is recorded
    next, with no courier call in between, so its id needs no write of its own."""
    number = txn.get("tracking_number")
    return (
        request.kind == OrderKind.delivery
        and txn.get("status") == "SUCCESS"
        and isinstance(number, str)
        and bool(number)
    )


class ShippoCourier:
    name = NAME
    idempotent = False

    def __init__(self, config: ShippoSettings) -> None:
        self.config = config
        self.proxy = ShippoProxy(config)

    @classmethod
    def from_settings(cls, settings: Settings) -> ShippoCourier:
        return cls(ShippoSettings.from_settings(settings))

    async def close(self) -> None:
        self.proxy.close()

    # --- booking --------------------------------------------------------------------------

    async def book(self, request: OrderRequest, remote_ids: RemoteIds) -> Booking:
        ck = remote_ids.data
        if ck.get("transaction_id"):
            found = await self.find(request, remote_ids)
            if found is not None:
                return found
            raise OutcomeUnknown(f"transaction {ck['transaction_id']} is not found at Shippo")
        quoted: dict[str, Any] = {}
        if not ck.get("rate_id"):
            quoted = await self._quote(request)  # a new rate: it cannot have been bought
        else:  # an earlier attempt may have bought this rate: adopt, never buy twice
            found = await self.find(request, remote_ids)
            if found is not None:
                return found
        await remote_ids.sending(**quoted)  # the rate and "sent", in one write, before buying
        buy = components.TransactionCreateRequest(
            rate=ck["rate_id"],
            async_=False,
            label_file_type=components.LabelFileTypeEnum(self.config.label_file_type),
            metadata=request.reference,
        )
        _, raw, exc = await self.proxy.call_capturing(
            lambda sdk: sdk.transactions.create(buy), "CreateTransaction"
        )
        txn = raw_json(raw)
        if txn is None or not txn.get("object_id"):
            if exc is None:
                raise OutcomeUnknown("Shippo's answer to the purchase has no transaction id")
            raise classify(exc, acted=True) from exc
        if _plainly_booked(request, txn):  # written with the booking, before any other call
            remote_ids.data["transaction_id"] = txn["object_id"]
        else:
            await remote_ids.save(transaction_id=txn["object_id"])  # before reading further
        return await self._interpret(request, remote_ids, txn)

    async def find(self, request: OrderRequest, remote_ids: RemoteIds) -> Booking | None:
        ck = remote_ids.data
        if tid := ck.get("transaction_id"):
            txn = await self._transaction(tid)
            if txn is None:
                return None
        elif rate_id := ck.get("rate_id"):
            mine = [
                t
                for t in await self._transactions(rate_id)
                if t.get("object_id")
                and (_rate_of(t) == rate_id or t.get("metadata") == request.reference)
            ]
            if not mine:
                return None
            txn = min(mine, key=lambda t: PREFERENCE.get(str(t.get("status")), 2))
            await remote_ids.save(transaction_id=txn["object_id"])
        else:
            return None  # no rate was ever chosen: nothing can have been bought
        return await self._interpret(request, remote_ids, txn)

    async def _transaction(self, tid: str) -> dict[str, Any] | None:
        _, raw, exc = await self.proxy.call_capturing(
            lambda sdk: sdk.transactions.get(tid), "GetTransaction"
        )
        if isinstance(exc, errors.SDKError) and exc.status_code == 404:
            return None
        txn = raw_json(raw)
        if txn is None:
            raise classify(exc, acted=False) if exc else CourierUnavailable("unreadable answer")
        return txn

    async def _transactions(self, rate_id: str) -> list[dict[str, Any]]:
        request = operations.ListTransactionsRequest(rate=rate_id, results=100)
        _, raw, exc = await self.proxy.call_capturing(
            lambda sdk: sdk.transactions.list(request), "ListTransactions"
        )
        listing = raw_json(raw)
        if listing is None or not isinstance(listing.get("results"), list):
            raise classify(exc, acted=False) if exc else CourierUnavailable("unreadable listing")
        return [t for t in listing["results"] if isinstance(t, dict)]

    async def _interpret(
        self, request: OrderRequest, remote_ids: RemoteIds, txn: dict[str, Any]
    ) -> Booking:
        tid, status = str(txn["object_id"]), str(txn.get("status") or "")
        number = txn.get("tracking_number")
        if status == "SUCCESS" and isinstance(number, str) and number:
            booking = Booking(
                remote_id=tid,
                waybill=number,
                label_url=txn.get("label_url") if isinstance(txn.get("label_url"), str) else None,
                tracking_url=txn.get("tracking_url_provider")
                if isinstance(txn.get("tracking_url_provider"), str)
                else None,
            )
            remote_ids.data.update(transaction_status=status, waybill=number)  # saved on record
            if request.kind == OrderKind.pickup and request.window_start and request.window_end:
                await self._pickup(request, remote_ids, booking)
            return booking
        if status in ("REFUNDED", "REFUNDPENDING"):
            raise CourierRefused(f"Shippo holds transaction {tid} in status {status} (refunded)")
        detail = _messages(txn)
        raise OutcomeUnknown(
            f"Shippo holds transaction {tid} in status {status or 'missing'}"
            + (f": {detail}" if detail else "")
        )

    async def _quote(self, request: OrderRequest) -> dict[str, Any]:
        """Validate the applicant's address, create a shipment, pick a rate: the ids to save."""
        applicant = request.sender if request.kind == OrderKind.pickup else request.recipient
        addr = await self.proxy.json(
            lambda sdk: sdk.addresses.create(mapping.address_request(applicant, validate=True)),
            "CreateAddress",
        )
        results = addr.get("validation_results") or {}
        if results.get("is_valid") is False:
            raise CourierRefused(f"Shippo finds the address invalid: {_messages(results)}")
        applicant_id = str(addr.get("object_id") or "")
        other = request.recipient if request.kind == OrderKind.pickup else request.sender
        other_req = mapping.address_request(other, validate=False)
        shipment = components.ShipmentCreateRequest(
            address_from=applicant_id if request.kind == OrderKind.pickup else other_req,
            address_to=other_req if request.kind == OrderKind.pickup else applicant_id,
            parcels=[mapping.parcel_request(request.parcel)],
            async_=False,
            metadata=request.reference,
        )
        shp = await self.proxy.json(lambda sdk: sdk.shipments.create(shipment), "CreateShipment")
        rates = [r for r in shp.get("rates") or [] if isinstance(r, dict)]
        if shp.get("status") not in ("SUCCESS", "ERROR"):  # still working, or a new status
            status = shp.get("status") or "without a status"
            raise CourierUnavailable(f"Shippo's shipment is {status}")
        if shp.get("status") == "ERROR" or not rates:
            raise CourierRefused(f"Shippo has no rates for this shipment: {_messages(shp)}")
        rate = mapping.pick_rate(rates, self.config.service_levels)
        if rate is None:
            raise CourierRefused("No rate for the configured service levels.")
        return {
            "address_id": applicant_id,
            "shipment_id": shp.get("object_id"),
            "rate_id": rate["object_id"],
            "carrier_account": rate.get("carrier_account"),
            "carrier": str(rate.get("provider") or "").lower(),
        }

    async def _pickup(self, request: OrderRequest, remote_ids: RemoteIds, booking: Booking) -> None:
        ck = remote_ids.data
        if ck.get("pickup_id"):
            booking.status = OrderStatus.pickup_scheduled
            return
        if ck.get("pickup_requested"):
            booking.attention = (
                "The pickup request's answer was lost; confirm the pickup with the carrier."
            )
            return
        await remote_ids.save(pickup_requested=True)
        pickup = components.PickupBase(
            carrier_account=ck.get("carrier_account") or "",
            location=components.Location(
                address=mapping.complete_address(request.sender),
                building_location_type=components.BuildingLocationType.FRONT_DOOR,
            ),
            requested_start_time=request.window_start,
            requested_end_time=request.window_end,
            transactions=[booking.remote_id],
            metadata=request.reference,
        )
        try:
            pk = await self.proxy.json(
                lambda sdk: sdk.pickups.create(pickup), "CreatePickup", acted=True
            )
        except CourierUnavailable:
            await remote_ids.save(pickup_requested=False)  # it never reached Shippo
            raise
        except CourierRefused as exc:
            booking.attention = f"The carrier refused the pickup: {exc}"
            return
        except OutcomeUnknown:
            booking.attention = "The pickup request's answer was lost; confirm it with the carrier."
            return
        await remote_ids.save(
            pickup_id=pk.get("object_id"), pickup_code=pk.get("confirmation_code")
        )
        status = str(pk.get("status") or "")
        if status in ("CONFIRMED", "PENDING"):
            booking.status = OrderStatus.pickup_scheduled
        else:
            booking.attention = f"Pickup {(status or 'unknown').lower()}: {_messages(pk)}"

    # --- cancelling and tracking ------------------------------------------------------------

    async def cancel(self, request: OrderRequest, remote_ids: RemoteIds) -> None:
        try:
            found = await self.find(request, remote_ids)
        except (OutcomeUnknown, CourierRefused):
            found = None  # refunded already, or not final: read the transaction itself
            if not remote_ids.data.get("transaction_id"):
                return
        tid = found.remote_id if found is not None else remote_ids.data.get("transaction_id")
        if not tid:
            return  # no label was bought: nothing to refund
        txn = await self._transaction(tid)
        if txn is None or str(txn.get("status")) in ("REFUNDED", "REFUNDPENDING", "ERROR"):
            return
        refund = await self.proxy.json(
            lambda sdk: sdk.refunds.create(transaction=tid, async_=False),
            "CreateRefund",
            acted=True,
        )
        if refund.get("status") == "ERROR":
            raise CourierRefused(f"Shippo refused the refund of {tid}.")

    async def track(self, request: OrderRequest, remote_ids: RemoteIds) -> list[TrackingUpdate]:
        ck = remote_ids.data
        number = ck.get("waybill") or ck.get("tracking_number")
        carrier = ck.get("carrier") or "shippo"
        if not number:
            return []
        track = await self.proxy.json(
            lambda sdk: sdk.tracking_status.get(number, carrier), "GetTrack"
        )
        return mapping.track_updates(track)

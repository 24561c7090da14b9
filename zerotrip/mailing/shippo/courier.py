"""The Shippo adapter: book a label (and a pickup), refund it, read its tracking.

Shippo has no idempotency key, so booking is a sequence of steps, each id saved before the
next call that could not be repeated safely:

1. ``transaction_id`` known: fetch it, never buy again.
2. Otherwise validate the applicant's address and create a shipment (harmless to repeat), pick
   a rate, and save ``shipment_id`` + ``rate_id``.
3. An attempt that finds a saved rate lists that rate's transactions and adopts any live one
   (an earlier attempt whose answer was lost) instead of buying; a fresh rate skips this.
4. Buy with ``async=False``. A failure after sending is :class:`OutcomeUnknown`, and an id in
   the raw body (kept by the proxy even when the SDK cannot parse it) is saved at once.
5. Pickups cannot be listed or cancelled in the API, so one is requested at most once; if that
   answer is lost the order is booked but flagged for a person to confirm with the carrier.
"""

from __future__ import annotations

import json
from typing import Any

from shippo.models import components, operations

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
from zerotrip.mailing.shippo.proxy import ShippoProxy, classify, raw_object_id
from zerotrip.mailing.shippo.settings import ShippoSettings
from zerotrip.mailing.statuses import OrderKind, OrderStatus

LIVE = {"SUCCESS", "QUEUED", "WAITING"}
NAME = "shippo"


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str) or "")


def _messages(obj: Any) -> str:
    return "; ".join(str(getattr(m, "text", m)) for m in (getattr(obj, "messages", None) or []))


class ShippoCourier:
    name = NAME

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
            tid = ck["transaction_id"]
            txn = await self.proxy.call(lambda sdk: sdk.transactions.get(tid))
            return await self._finish(request, remote_ids, txn)
        if not ck.get("rate_id"):
            await self._quote(request, remote_ids)  # a new rate: it cannot have been bought
        else:  # an earlier attempt may have bought this rate: adopt, never buy twice
            existing = await self._existing(ck["rate_id"], request.reference)
            if existing is not None:
                await remote_ids.save(transaction_id=existing.object_id)
                return await self._finish(request, remote_ids, existing)
        buy = components.TransactionCreateRequest(
            rate=ck["rate_id"],
            async_=False,
            label_file_type=components.LabelFileTypeEnum(self.config.label_file_type),
            metadata=request.reference,
        )
        txn, raw, exc = await self.proxy.call_capturing(
            lambda sdk: sdk.transactions.create(buy), "CreateTransaction"
        )
        if exc is not None:
            if oid := raw_object_id(raw):  # bought, but the SDK could not read the answer
                await remote_ids.save(transaction_id=oid)
            raise classify(exc, acted=True) from exc
        remote_ids.data["transaction_id"] = txn.object_id  # persisted with the booking
        return await self._finish(request, remote_ids, txn)

    async def _quote(self, request: OrderRequest, remote_ids: RemoteIds) -> None:
        applicant = request.sender if request.kind == OrderKind.pickup else request.recipient
        addr = await self.proxy.call(
            lambda sdk: sdk.addresses.create(mapping.address_request(applicant, validate=True))
        )
        results = addr.validation_results
        if results is not None and results.is_valid is False:
            raise CourierRefused(f"Shippo finds the address invalid: {_messages(results)}")
        applicant_id = addr.object_id
        other = request.recipient if request.kind == OrderKind.pickup else request.sender
        other_req = mapping.address_request(other, validate=False)
        shipment = components.ShipmentCreateRequest(
            address_from=applicant_id if request.kind == OrderKind.pickup else other_req,
            address_to=other_req if request.kind == OrderKind.pickup else applicant_id,
            parcels=[mapping.parcel_request(request.parcel)],
            async_=False,
            metadata=request.reference,
        )
        shp = await self.proxy.call(lambda sdk: sdk.shipments.create(shipment))
        if _value(shp.status) != "SUCCESS" or not shp.rates:
            raise CourierRefused(f"Shippo has no rates for this shipment: {_messages(shp)}")
        rate = mapping.pick_rate(shp.rates, self.config.service_levels)
        if rate is None:
            raise CourierRefused("No rate for the configured service levels.")
        await remote_ids.save(
            address_id=applicant_id,
            shipment_id=shp.object_id,
            rate_id=rate.object_id,
            carrier_account=rate.carrier_account,
            carrier=str(rate.provider or "").lower(),
        )

    async def _existing(self, rate_id: str, reference: str) -> Any | None:
        listing = await self.proxy.call(
            lambda sdk: sdk.transactions.list(operations.ListTransactionsRequest(rate=rate_id))
        )
        for txn in listing.results or []:
            rate = txn.rate if isinstance(txn.rate, str) else getattr(txn.rate, "object_id", None)
            if _value(txn.status) in LIVE and (rate == rate_id or txn.metadata == reference):
                return txn
        return None

    async def _finish(self, request: OrderRequest, remote_ids: RemoteIds, txn: Any) -> Booking:
        status = _value(txn.status)
        if status == "ERROR":
            raise CourierRefused(f"Shippo could not make the label: {_messages(txn)}")
        if status in ("QUEUED", "WAITING"):
            raise OutcomeUnknown("the label is still being made")
        if status != "SUCCESS":
            raise CourierRefused(f"the label is {status.lower()}")
        booking = Booking(
            remote_id=txn.object_id,
            waybill=txn.tracking_number or txn.object_id,
            label_url=txn.label_url,
            tracking_url=txn.tracking_url_provider,
        )
        if request.kind == OrderKind.pickup and request.window_start and request.window_end:
            await self._pickup(request, remote_ids, booking)
        return booking

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
            pk = await self.proxy.call(lambda sdk: sdk.pickups.create(pickup), acted=True)
        except CourierUnavailable:
            await remote_ids.save(pickup_requested=False)  # it never reached Shippo
            raise
        except CourierRefused as exc:
            booking.attention = f"The carrier refused the pickup: {exc}"
            return
        except OutcomeUnknown:
            booking.attention = "The pickup request's answer was lost; confirm it with the carrier."
            return
        await remote_ids.save(pickup_id=pk.object_id, pickup_code=pk.confirmation_code)
        if _value(pk.status) in ("CONFIRMED", "PENDING"):
            booking.status = OrderStatus.pickup_scheduled
        else:
            booking.attention = (
                f"Pickup {(_value(pk.status) or 'unknown').lower()}: {_messages(pk)}"
            )

    # --- cancelling and tracking ------------------------------------------------------------

    async def cancel(self, request: OrderRequest, remote_ids: RemoteIds) -> None:
        ck = remote_ids.data
        tid = ck.get("transaction_id")
        if not tid and ck.get("rate_id"):
            found = await self._existing(ck["rate_id"], request.reference)
            tid = found.object_id if found is not None else None
        if not tid:
            return  # no label was bought: nothing to refund
        txn = await self.proxy.call(lambda sdk: sdk.transactions.get(tid))
        if _value(txn.status) in ("REFUNDED", "REFUNDPENDING", "ERROR"):
            return
        refund = await self.proxy.call(
            lambda sdk: sdk.refunds.create(transaction=tid, async_=False), acted=True
        )
        if _value(refund.status) == "ERROR":
            raise CourierRefused(f"Shippo refused the refund of {tid}.")

    async def track(self, request: OrderRequest, remote_ids: RemoteIds) -> list[TrackingUpdate]:
        ck = remote_ids.data
        number = ck.get("waybill") or ck.get("tracking_number")
        carrier = ck.get("carrier") or "shippo"
        if not number:
            return []

        def fetch(sdk: Any) -> str | None:
            self.proxy.capture.clear()
            sdk.tracking_status.get(number, carrier)  # parsed to prove it is a Track
            return self.proxy.capture.take("GetTrack")

        raw = await self.proxy.call(fetch)
        return mapping.track_updates(json.loads(raw or "{}"))

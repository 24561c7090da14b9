"""The cached request serialisation writes exactly the bytes the shippo SDK's own does."""

from __future__ import annotations

from datetime import UTC, datetime

from shippo.models import components
from shippo.utils import utils

from tests.mailing.scenario import APPLICANT, OFFICE
from zerotrip.mailing.interfaces import Address, Parcel
from zerotrip.mailing.shippo import mapping, marshal


def _requests() -> list[tuple[object, object]]:
    office = mapping.address_request(Address.from_dict(OFFICE), validate=False)
    return [
        (
            mapping.address_request(Address.from_dict(APPLICANT), validate=True),
            components.AddressCreateRequest,
        ),
        (
            components.ShipmentCreateRequest(
                address_from=office,
                address_to="addr_1",
                parcels=[mapping.parcel_request(Parcel())],
                async_=False,
                metadata="zt-o1-a1",
            ),
            components.ShipmentCreateRequest,
        ),
        (
            components.TransactionCreateRequest(
                rate="rate_1",
                async_=False,
                label_file_type=components.LabelFileTypeEnum("PDF"),
                metadata="zt-o1-a1",
            ),
            components.TransactionCreateRequest,
        ),
        (
            components.PickupBase(
                carrier_account="ca_1",
                location=components.Location(
                    address=mapping.complete_address(Address.from_dict(OFFICE)),
                    building_location_type=components.BuildingLocationType.FRONT_DOOR,
                ),
                requested_start_time=datetime(2026, 12, 1, 1, tzinfo=UTC),
                requested_end_time=datetime(2026, 12, 1, 9, tzinfo=UTC),
                transactions=["txn_1"],
                metadata="zt-o1-a1",
            ),
            components.PickupBase,
        ),
    ]


def test_the_cached_serialiser_writes_what_the_sdk_writes():
    marshal.install()
    marshal.install()  # idempotent: the SDK's own stays reachable
    cached = utils.marshal_json
    original = cached.sdk_original  # type: ignore[attr-defined]
    assert not getattr(original, "zerotrip_cached", False)
    for value, typ in _requests():
        assert cached(value, typ) == original(value, typ)
        assert cached(value, typ) == original(value, typ)  # and again, from the cache

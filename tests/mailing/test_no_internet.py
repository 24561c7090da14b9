"""The mailing tests' loopback guard really refuses the outside world (and lets loopback in)."""

from __future__ import annotations

import socket

import pytest

from tests.mailing.conftest import NonLoopbackConnect


def test_a_non_loopback_connect_is_refused(loopback_only):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NonLoopbackConnect):
            sock.connect(("203.0.113.7", 443))  # TEST-NET-3: never routed
        with pytest.raises(NonLoopbackConnect):
            sock.connect(("api.goshippo.com", 443))
    finally:
        sock.close()
    assert len(loopback_only) == 2
    loopback_only.clear()  # the guard's own teardown check would fail otherwise


async def test_the_shippo_sdk_default_server_is_never_reached(mailing, loopback_only):
    """A Shippo courier without a base URL would call api.goshippo.com: the guard stops it."""
    import dataclasses

    from tests.mailing.order_requests import order_request
    from zerotrip.mailing.couriers import build_couriers
    from zerotrip.mailing.interfaces import CourierUnavailable, RemoteIds

    live = dataclasses.replace(mailing.settings, shippo_base_url="")
    courier = build_couriers(live)["shippo"]
    try:
        with pytest.raises(CourierUnavailable):  # a connect error before sending: nothing happened
            await courier.book(order_request("zt-o9-a1"), RemoteIds())
    finally:
        await courier.close()
    assert loopback_only, "the SDK should have tried (and been refused) to leave loopback"
    loopback_only.clear()

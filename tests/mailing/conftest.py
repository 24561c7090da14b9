"""Mailing test harness: stand-ins on loopback, settings pointing at them, and a guard that
refuses any socket to a non-loopback address for the whole of these tests."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestClient

from tests.harness.apps import AppFactory
from tests.standins.courier import CourierStandIn
from tests.standins.shippo import ShippoStandIn
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.config import Settings
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.couriers import build_couriers

SECRET = "courier-shared-secret"
TOKEN = "shippo-webhook-token"


class NonLoopbackConnect(AssertionError):
    pass


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False  # a name to resolve: only loopback is allowed here
    return isinstance(address, (str, bytes))  # AF_UNIX paths (e.g. PostgreSQL socket)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Guard, not mock: a connect to anything but loopback fails loudly and is recorded."""
    refused: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            refused.append(address)
            raise NonLoopbackConnect(f"test tried to reach {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        if not _is_loopback(address):
            refused.append(address)
            raise NonLoopbackConnect(f"test tried to reach {address!r}")
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback((name, 0)):
            refused.append((name, args[0] if args else None))
            raise NonLoopbackConnect(f"test tried to resolve {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield refused
    assert refused == [], f"non-loopback connections attempted: {refused}"


@pytest.fixture
async def shippo_standin() -> AsyncIterator[ShippoStandIn]:
    standin = ShippoStandIn(hang_s=5.0)
    await standin.start()
    yield standin
    await standin.stop()
    assert standin.violations == [], standin.violations


@pytest.fixture
async def courier_standin() -> AsyncIterator[CourierStandIn]:
    standin = CourierStandIn(SECRET, hang_s=5.0)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
def mail_settings(
    settings: Settings, shippo_standin: ShippoStandIn, courier_standin: CourierStandIn
) -> Settings:
    """All three couriers configured against the stand-ins; the outbox driven by hand."""
    return dataclasses.replace(
        settings,
        outbox_worker=False,
        outbox_max_attempts=6,
        outbox_backoff_base_s=1,
        outbox_batch=16,
        shippo_api_key="shippo_test_standin",
        shippo_base_url=shippo_standin.url,
        shippo_connect_timeout_s=1.0,
        shippo_read_timeout_s=2.5,  # a loaded CI machine answers the stand-ins within it
        shippo_webhook_token=TOKEN,
        courier_webhook_url=courier_standin.url,
        courier_webhook_secret=SECRET,
        courier_webhook_timeout_s=2.5,
    )


@pytest.fixture
async def mailing(db, mail_settings: Settings, clock) -> AsyncIterator[Mailing]:
    m = Mailing(db, mail_settings, clock, load_catalogue(), WorkingCalendar.from_iso((), ()))
    m.couriers = build_couriers(mail_settings)
    yield m
    await m.close()


@pytest.fixture
async def mail_client(apps: AppFactory, mail_settings: Settings) -> AsyncIterator[TestClient]:
    """The real app on loopback with all couriers configured (outbox driven by hand)."""
    async with apps.client(mail_settings) as client:
        yield client

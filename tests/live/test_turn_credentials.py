"""Browsers get short-lived TURN credentials that a real coturn (``use-auth-secret``) accepts
while they are fresh and refuses once expired or forged."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint

from zerotrip.live.peers import ice_servers
from zerotrip.live.turn import turn_credentials

TURNSERVER = shutil.which("turnserver")
SECRET = "shared-with-coturn-only"


@pytest.fixture
def coturn(tmp_path: Path):
    if TURNSERVER is None:
        pytest.fail("coturn is not installed: scripts/install-system-deps installs it")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "turnserver.conf"
    shipped = (Path(__file__).parents[2] / "deploy" / "coturn" / "turnserver.conf").read_text()
    # The shipped configuration, pointed at loopback and this test's port and secret.
    overrides = {
        "listening-port": str(port),
        "listening-ip": "127.0.0.1",
        "relay-ip": "127.0.0.1",
        "external-ip": None,
        "static-auth-secret": SECRET,
        "realm": "zerotrip.test",
        "cert": None,
        "pkey": None,
        "log-file": str(tmp_path / "turn.log"),
        "pidfile": str(tmp_path / "turn.pid"),
        "denied-peer-ip": None,
    }
    lines = [
        line
        for line in shipped.splitlines()
        if line.split("=", 1)[0].strip() not in overrides and not line.startswith("#")
    ]
    lines += [f"{k}={v}" for k, v in overrides.items() if v is not None]
    lines += ["no-tls", "no-dtls", "allow-loopback-peers"]
    config.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen(
        [TURNSERVER, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)
    try:
        assert proc.poll() is None, (tmp_path / "turn.log").read_text()
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _allocate(port: int, username: str, password: str) -> bool:
    try:
        transport, _ = await asyncio.wait_for(
            create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", port), username, password, lifetime=60
            ),
            10,
        )
    except TransactionFailed:
        return False
    transport.close()
    return True


async def test_app_credentials_allocate_a_relay_and_expired_ones_do_not(settings, coturn):
    configured = dataclasses.replace(
        settings,
        live_turn_urls=(f"turn:127.0.0.1:{coturn}?transport=udp",),
        live_turn_secret=SECRET,
        live_turn_ttl_s=300,
    )
    (entry,) = ice_servers(configured)
    expiry = int(entry["username"].split(":", 1)[0])
    assert 0 < expiry - time.time() <= 300  # short-lived, and says so
    assert await _allocate(coturn, entry["username"], entry["credential"])

    stale_user, stale_password = turn_credentials(SECRET, 300, "zerotrip", now=time.time() - 600)
    assert not await _allocate(coturn, stale_user, stale_password)
    forged_user, forged_password = turn_credentials("not-the-secret", 300, "zerotrip")
    assert not await _allocate(coturn, forged_user, forged_password)


def test_no_turn_entry_without_a_secret(settings):
    assert ice_servers(dataclasses.replace(settings, live_turn_urls=("turn:x:3478",))) == []

"""TURN works: coturn (the Debian package) on loopback, started for this test on an ephemeral
port with a temporary config, and every peer forced to relay-only ICE."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.live.live_helpers import booked_session, clip, participant

TURNSERVER = shutil.which("turnserver")


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def turn(tmp_path: Path):
    if TURNSERVER is None:
        pytest.skip("coturn is not installed")
    port = _free_port(socket.SOCK_DGRAM)
    config = tmp_path / "turnserver.conf"
    log = tmp_path / "turn.log"
    config.write_text(
        "\n".join(
            [
                f"listening-port={port}",
                "listening-ip=127.0.0.1",
                "relay-ip=127.0.0.1",
                "min-port=40000",
                "max-port=60000",
                "allow-loopback-peers",
                "lt-cred-mech",
                "user=zerotrip:turn-test-secret",
                "realm=zerotrip.test",
                "fingerprint",
                "no-tls",
                "no-dtls",
                "no-cli",
                "no-multicast-peers",
                f"pidfile={tmp_path / 'turn.pid'}",
                f"log-file={log}",
                "simple-log",
            ]
        )
    )
    proc = subprocess.Popen(
        [TURNSERVER, "-c", str(config), "--verbose"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield {"port": port, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _candidate_types(sdp: str) -> set[str]:
    return set(re.findall(r"a=candidate:.* typ (\w+)", sdp))


async def test_media_flows_through_turn_with_relay_only_ice(apps, settings, db, clock, turn):
    ice = [
        {
            "urls": f"turn:127.0.0.1:{turn['port']}?transport=udp",
            "username": "zerotrip",
            "credential": "turn-test-secret",
        }
    ]
    await asyncio.sleep(0.5)  # coturn binds its port
    async with apps.client(live_ice_servers=json.dumps(ice), live_ice_relay_only=True) as client:
        booked = await booked_session(client, db, clock)
        async with (
            participant(client, booked.ws_path, booked.token, relay_only=True) as applicant,
            participant(
                client, booked.ws_path, booked.inspector.token, relay_only=True
            ) as inspector,
        ):
            welcome = await applicant.connect()
            assert welcome["ice_servers"] == ice  # the browser is given the same servers
            answer = await applicant.publish(clip())
            assert answer["type"] == "answer", answer
            assert _candidate_types(answer["sdp"]) == {"relay"}
            assert _candidate_types(applicant.pc.localDescription.sdp) == {"relay"}
            await inspector.connect()
            answer = await inspector.subscribe(decode=True)
            assert _candidate_types(answer["sdp"]) == {"relay"}
            await inspector.wait_received("video", 30)
            assert set(inspector.decoded_sizes) == {(320, 240)}
    log = turn["log"].read_text(errors="replace") if turn["log"].exists() else ""
    logs = log + "".join(
        p.read_text(errors="replace") for p in turn["log"].parent.glob("turn*.log")
    )
    assert "allocation" in logs.lower() or "ALLOCATE" in logs

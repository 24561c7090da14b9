"""Slow and broken bodies (ASVS V12.1, V13.1): a body that trickles or stalls is cut with a 408
within a bounded time and leaves no temporary file; a client that hangs up mid-upload is an info
line, not an error; uploads at once per link and per address are capped (429); a correctly
signed courier callback nested too deeply is a 400, not a 500.

The uploads are written byte by byte on raw sockets to a real server, as a bad mobile
connection or an attacker would send them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import func, select

from tests.factories import applicant_headers, apply
from tests.harness.apps import AppFactory
from zerotrip.api.throttling import THROTTLE
from zerotrip.config import Settings
from zerotrip.mailing.webhook.signing import signed_headers
from zerotrip.media.models import Evidence

PACE: dict[str, Any] = {
    "body_idle_timeout_s": 1.5,
    "body_rate_grace_s": 2.0,
    "body_min_bytes_per_s": 256,
    "uploads_per_link": 2,
    "uploads_per_ip": 3,
    "trusted_proxies": ("127.0.0.1",),
    "courier_webhook_secret": "callback-secret",
}


@pytest.fixture
async def api(apps: AppFactory) -> AsyncIterator[TestClient]:
    async with apps.client(**PACE) as test_client:
        yield test_client


async def until(condition: Callable[[], bool], within: float = 10) -> None:
    """Wait for server-side state (a bound on waiting, not a speed assertion)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling server-side state from the test
            await asyncio.sleep(0.05)


def incoming(settings: Settings) -> list[Path]:
    folder = Path(settings.media_dir or "") / "incoming"
    return sorted(folder.iterdir()) if folder.exists() else []


class RawUpload:
    """An evidence upload on its own socket: headers now, the body as slowly as we like."""

    def __init__(self, api: TestClient, path: str, headers: dict[str, str], length: int) -> None:
        self.api, self.path, self.length = api, path, length
        self.headers = {
            **headers,
            "Host": "127.0.0.1",
            "Content-Type": "image/jpeg",
            "Content-Length": str(length),
        }

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.api.server.host, self.api.server.port
        )
        head = f"POST {self.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in self.headers.items()
        )
        self.writer.write(head.encode() + b"\r\n")
        await self.writer.drain()

    async def send(self, data: bytes) -> bool:
        """Write ``data``; False once the server has closed the connection."""
        try:
            self.writer.write(data)
            await self.writer.drain()
            return True
        except ConnectionError:
            return False

    async def answer(self, within: float) -> tuple[int, dict[str, Any]]:
        async with asyncio.timeout(within):
            status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, json.loads(await self.reader.readexactly(length))

    def close(self) -> None:
        self.writer.close()


async def upload_target(api: TestClient) -> tuple[str, str]:
    case, token = await apply(api)
    checkpoint = case["checkpoints"][0]["id"]
    return f"/api/cases/{case['id']}/checkpoints/{checkpoint}/evidence", token


async def test_a_trickling_upload_is_cut_within_bounded_time_and_leaves_nothing(api, settings, db):
    path, token = await upload_target(api)
    upload = RawUpload(api, path, applicant_headers(token), 100_000)
    await upload.open()
    started = time.monotonic()

    async def trickle() -> None:
        while await upload.send(b"\xff") and time.monotonic() - started < 30:  # noqa: ASYNC110
            await asyncio.sleep(0.25)  # 4 bytes a second, far under the 256 B/s minimum

    sender = asyncio.create_task(trickle())
    status, problem = await upload.answer(within=15)
    elapsed = time.monotonic() - started
    sender.cancel()
    upload.close()
    assert status == 408 and problem["type"].endswith("/problems/request-timeout")
    assert "上传" in problem["detail"]
    assert elapsed < PACE["body_rate_grace_s"] + 3  # cut at the first check past the grace
    await asyncio.sleep(0.2)
    assert incoming(settings) == []  # the temporary file is gone
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Evidence))).one() == 0


async def test_a_stalled_upload_is_cut_after_the_idle_timeout(api, settings):
    path, token = await upload_target(api)
    upload = RawUpload(api, path, applicant_headers(token), 100_000)
    await upload.open()
    await upload.send(b"\xff\xd8\xff" * 100)
    started = time.monotonic()
    status, _ = await upload.answer(within=10)
    upload.close()
    assert status == 408 and time.monotonic() - started < PACE["body_idle_timeout_s"] + 5
    await asyncio.sleep(0.2)
    assert incoming(settings) == []


async def test_hanging_up_mid_upload_is_an_info_line_not_an_error(api, settings, caplog):
    path, token = await upload_target(api)
    with caplog.at_level(logging.INFO):
        upload = RawUpload(api, path, applicant_headers(token), 100_000)
        await upload.open()
        await upload.send(b"\xff\xd8\xff" * 1000)
        # Mid-upload: the server holds the upload's slot while it reads the body.
        await until(lambda: api.app[THROTTLE].uploads.in_use() == 1)
        upload.writer.transport.abort()  # gone, as a phone losing its network
        await until(lambda: "hung up" in caplog.text)
    assert "client hung up after" in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "unhandled error" not in caplog.text
    assert incoming(settings) == []


async def test_concurrent_uploads_are_capped_per_link_and_per_address(api, settings):
    path, token = await upload_target(api)
    other_path, other_token = await upload_target(api)
    held: list[RawUpload] = []
    for _ in range(2):  # the link's two slots, held by slow (not yet too slow) bodies
        upload = RawUpload(api, path, applicant_headers(token), 10_000)
        await upload.open()
        await upload.send(b"\xff\xd8")
        held.append(upload)
    await asyncio.sleep(0.3)
    third = await api.post(
        path,
        data=b"\xff\xd8\xff",
        headers={**applicant_headers(token), "Content-Type": "image/jpeg"},
    )
    assert third.status == 429 and "Retry-After" in third.headers
    assert (await third.json())["limit"] == "uploads_per_link"
    # Another link from the same address takes the address's last slot, then none is left.
    other = RawUpload(api, other_path, applicant_headers(other_token), 10_000)
    await other.open()
    await other.send(b"\xff\xd8")
    held.append(other)
    await asyncio.sleep(0.3)
    fourth = await api.post(
        other_path,
        data=b"\xff\xd8\xff",
        headers={**applicant_headers(other_token), "Content-Type": "image/jpeg"},
    )
    assert fourth.status == 429 and (await fourth.json())["limit"] == "uploads_per_ip"
    # From another address (through the trusted proxy), the link's cap still holds ...
    elsewhere = {**applicant_headers(other_token), "X-Forwarded-For": "198.51.100.9"}
    resp = await api.post(
        other_path, data=b"x", headers={**elsewhere, "Content-Type": "image/jpeg"}
    )
    assert resp.status == 415  # its slot was free: the body was read and judged
    for upload in held:
        upload.close()
    # ... and once the bodies are gone the slots are free again.
    await until(lambda: api.app[THROTTLE].uploads.in_use() == 0)
    await asyncio.sleep(0.2)
    assert incoming(settings) == []


def nested(depth: int) -> bytes:
    return b'{"events": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [40, 30_000])  # 30,000: past any parser's recursion limit
async def test_a_signed_callback_nested_too_deeply_is_a_400(api, clock, depth):
    body = nested(depth)
    headers = signed_headers(PACE["courier_webhook_secret"], int(clock.now().timestamp()), body)
    resp = await api.post(
        "/api/mailing/callbacks/webhook",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert resp.status == 400, await resp.text()
    assert resp.content_type == "application/problem+json"


async def test_a_deeply_nested_json_body_is_a_400_everywhere(api):
    resp = await api.post(
        "/api/applications", data=b"[" * 50_000, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400 and resp.content_type == "application/problem+json"

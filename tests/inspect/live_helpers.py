"""Shared set-up for the live tests: a case ready for inspection with a booked session, and
synthetic participants joined over the real WebSocket of the running test server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from tests.factories import Staff, act, apply, make_staff
from zerotrip.api.app import create_app
from zerotrip.cases.models import AuditEvent
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.inspect.live.synthetic import Clip, Participant, make_clip
from zerotrip.media.models import Evidence

_CLIP: Clip | None = None
_SERIAL = itertools.count(1)


def clip() -> Clip:
    """One small pre-encoded clip shared by all tests (encoding it takes a moment)."""
    global _CLIP
    if _CLIP is None:
        _CLIP = make_clip(320, 240, fps=30, seconds=4, gop=30)
    return _CLIP


@dataclass
class Booked:
    case: dict[str, Any]
    token: str
    session: dict[str, Any]
    clerk: Staff
    inspector: Staff

    @property
    def ws_path(self) -> str:
        return f"/api/live/sessions/{self.session['id']}/ws"

    @property
    def checkpoint_id(self) -> int:
        return self.case["checkpoints"][0]["id"]


async def booked_session(client: TestClient, db: Database, clock: Any, **apply_kw: Any) -> Booked:
    suffix = next(_SERIAL)
    clerk = await make_staff(db, "clerk", f"clerk{suffix}")
    inspector = await make_staff(db, "inspector", f"inspector{suffix}")
    case, token = await apply(client, **apply_kw)
    case = await act(client, case["id"], "prereview", clerk.headers, outcome="accept")
    case = await act(client, case["id"], "start_inspection", inspector.headers)
    now = clock.now()
    resp = await client.post(
        f"/api/cases/{case['id']}/live-sessions",
        json={"slot_start": now.isoformat(), "slot_end": (now + timedelta(hours=1)).isoformat()},
        headers=clerk.headers,
    )
    assert resp.status == 201, await resp.text()
    return Booked(case, token, await resp.json(), clerk, inspector)


def ws_url(client: TestClient, path: str) -> str:
    return str(client.make_url(path))


@contextlib.asynccontextmanager
async def participant(
    client: TestClient, path: str, token: str, **kw: Any
) -> AsyncIterator[Participant]:
    peer = Participant(client.session, ws_url(client, path), token, **kw)
    try:
        yield peer
    finally:
        await peer.close()


async def until(condition: Any, within: float = 30, step: float = 0.05) -> None:
    """Wait for a condition (a bound on waiting, not a speed assertion)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling server-side state from the test
            await asyncio.sleep(step)


@contextlib.asynccontextmanager
async def live_client(
    settings: Settings, clock: Any, **overrides: Any
) -> AsyncIterator[TestClient]:
    """A test server whose live settings differ (short segments, tiny queues...)."""
    app = create_app(dataclasses.replace(settings, **overrides), clock=clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


async def audit_kinds(db: Database, case_id: int) -> list[str]:
    async with db.session() as session:
        rows = await session.exec(
            select(AuditEvent.kind).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
        )
        return list(rows.all())


async def evidence_of(db: Database, case_id: int, kind: str) -> list[Evidence]:
    async with db.session() as session:
        rows = await session.exec(
            select(Evidence)
            .where(Evidence.case_id == case_id, Evidence.kind == kind)
            .order_by(Evidence.id)
        )
        return list(rows.all())

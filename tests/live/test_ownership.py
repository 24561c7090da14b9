"""Live sessions across processes: two app instances sharing one database and one data dir
(as two processes behind the proxy would). A session's room has one owner, claimed by the
first process that opens it; the other process refuses the session's routes with retry
advice, and a cancel it receives ends the room on the owner."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.live.live_helpers import (
    booked_session,
    clip,
    evidence_of,
    participant,
    until,
)
from zerotrip.api.keys import LIVE, SERVICES
from zerotrip.kit.actor import SYSTEM_LIVE
from zerotrip.live.booking import end as end_session
from zerotrip.live.models import LiveSession
from zerotrip.problems import Misdirected
from zerotrip.services import build_services


@contextlib.asynccontextmanager
async def two_processes(apps: Any, **overrides: Any) -> AsyncIterator[Any]:
    async with (
        apps.client(**overrides) as first,
        apps.client(**overrides) as second,
    ):
        yield first, second


def service(client: TestClient) -> Any:
    return client.server.app[LIVE]


async def owner_of(db: Any, live_id: int) -> str | None:
    async with db.session() as session:
        live = await session.get(LiveSession, live_id)
    return live.owner_process


async def test_the_first_process_to_open_a_room_owns_it_and_the_other_refuses(
    apps, settings, db, clock
):
    async with two_processes(apps) as (owner, other):
        booked = await booked_session(owner, db, clock)
        sid = booked.session["id"]
        async with participant(owner, booked.ws_path, booked.token) as applicant:
            assert (await applicant.connect())["type"] == "welcome"
            assert await owner_of(db, sid) == service(owner).ownership.process_id

            resp = await other.get(f"/api/live/sessions/{sid}", headers=booked.clerk.headers)
            assert resp.status == 421
            assert resp.content_type == "application/problem+json"
            assert int(resp.headers["Retry-After"]) >= 1
            assert (await resp.json())["type"].endswith("/misdirected")

            async with participant(other, booked.ws_path, booked.inspector.token) as refused:
                error = await refused.connect()
                assert error["type"] == "error" and error["problem"] == "misdirected"
                assert error["status"] == 421 and error["retry_after"] >= 1
                assert (await refused.expect("closed"))["code"] == 4421
            assert sid not in service(other).rooms  # the refusal opened nothing there

            async with participant(owner, booked.ws_path, booked.inspector.token) as inspector:
                welcome = await inspector.connect()
                assert welcome["type"] == "welcome" and welcome["peer_present"]
            resp = await owner.get(f"/api/live/sessions/{sid}", headers=booked.clerk.headers)
            assert resp.status == 200
            assert await owner_of(db, sid) == service(owner).ownership.process_id


async def test_a_dead_owner_s_session_is_taken_over(apps, settings, db, clock):
    """An owner whose heartbeat expired (it died) no longer blocks its session."""
    async with two_processes(apps, live_heartbeat_seconds=60, live_owner_expiry_seconds=120) as (
        first,
        second,
    ):
        booked = await booked_session(first, db, clock)
        sid = booked.session["id"]
        await service(first).ownership.claim(sid)
        with pytest.raises(Misdirected):
            await service(second).ownership.claim(sid)
        service(first)._heartbeat.cancel()  # the first process hangs: no more heartbeats
        clock.advance(timedelta(seconds=121))
        await service(second).ownership.beat()
        await service(second).ownership.claim(sid)
        assert await owner_of(db, sid) == service(second).ownership.process_id
        with pytest.raises(Misdirected):
            await service(first).ownership.ensure_here(sid)


async def test_concurrent_claims_have_exactly_one_winner(apps, settings, db, clock):
    async with two_processes(apps) as (first, second):
        booked = await booked_session(first, db, clock)
        sid = booked.session["id"]
        services = (service(first), service(second))
        for _ in range(5):
            results = await asyncio.gather(
                *(s.ownership.claim(sid) for s in services), return_exceptions=True
            )
            refused = [r for r in results if isinstance(r, Misdirected)]
            assert len(refused) == 1, results
            winner = services[results.index(None)]
            assert await owner_of(db, sid) == winner.ownership.process_id
            await winner.ownership.release(sid)
            assert await owner_of(db, sid) is None


async def test_a_cancel_sent_to_a_non_owner_ends_the_room_on_its_owner(apps, settings, db, clock):
    """The cancel travels as a PostgreSQL notification: the room ends within seconds though
    the heartbeat (the fallback that would also catch it) is a minute away. SQLite serves one
    process, whose cancel ends its own room directly (tests/live/test_live_session.py)."""
    if settings.is_sqlite:
        pytest.skip("SQLite runs one process: there is no other owner to reach")
    async with two_processes(apps, live_heartbeat_seconds=60, live_owner_expiry_seconds=120) as (
        owner,
        other,
    ):
        booked = await booked_session(owner, db, clock)
        sid = booked.session["id"]
        async with (
            participant(owner, booked.ws_path, booked.token) as applicant,
            participant(owner, booked.ws_path, booked.inspector.token) as inspector,
        ):
            await applicant.connect()
            await applicant.publish(clip())
            await inspector.connect()
            await inspector.subscribe(decode=False)
            await inspector.wait_received("video", 30)
            room = service(owner).rooms[sid]

            resp = await other.post(
                f"/api/live/sessions/{sid}/cancel", headers=booked.clerk.headers
            )
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["state"] == "ended"
            for peer in (applicant, inspector):
                ended = await peer.expect("ended", within=15)
                assert ended["reason"] == "cancelled by the office"
            await until(lambda: room.closed and sid not in service(owner).rooms, within=15)
        assert sid not in service(other).rooms
        assert await owner_of(db, sid) is None
        recordings = await evidence_of(db, booked.case["id"], "recording")
        assert recordings and all(r.live_session_id == sid for r in recordings)
        assert room.recorder.segments  # finalized on the owner, nothing left open


async def test_a_cancel_on_the_owner_ends_its_room_directly(client, db, clock):
    """One process (the ``all`` role on SQLite): no notification needed, the room ends at once."""
    booked = await booked_session(client, db, clock)
    sid = booked.session["id"]
    async with participant(client, booked.ws_path, booked.token) as applicant:
        await applicant.connect()
        room = service(client).rooms[sid]
        resp = await client.post(f"/api/live/sessions/{sid}/cancel", headers=booked.clerk.headers)
        assert resp.status == 200
        assert (await resp.json())["state"] == "cancelled"  # nobody else had joined
        assert room.closed and sid not in service(client).rooms
        assert (await applicant.expect("ended", within=5))["state"] == "cancelled"
    assert await owner_of(db, sid) is None


async def test_a_session_ended_by_a_process_serving_no_rooms_ends_the_room_on_its_owner(
    apps, settings, db, clock
):
    """A CLI command or a worker ends a session (say, its case was withdrawn): the end reaches
    the room's owner as it would from another web process."""
    if settings.is_sqlite:
        pytest.skip("SQLite runs one process: there is no other owner to reach")
    async with apps.client(live_heartbeat_seconds=60, live_owner_expiry_seconds=120) as owner:
        booked = await booked_session(owner, db, clock)
        sid = booked.session["id"]
        async with participant(owner, booked.ws_path, booked.token) as applicant:
            await applicant.connect()
            await applicant.publish(clip())
            await until(lambda: sid in service(owner).rooms, within=15)
            room = service(owner).rooms[sid]
            app_settings = owner.server.app[SERVICES].settings
            async with build_services(app_settings, role="cli", clock=clock) as cli:
                assert cli.live is None  # it serves no rooms
                await end_session(cli.db, sid, SYSTEM_LIVE, "withdrawn", clock.now(), cli.reactions)
            ended = await applicant.expect("ended", within=15)
            assert ended["reason"] == "withdrawn"
            await until(lambda: room.closed and sid not in service(owner).rooms, within=15)

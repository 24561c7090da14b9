"""Recovery of recordings across processes sharing one data dir: a process takes the segments
a dead process (heartbeat expired) left behind, never a living one's, and two living processes
recording side by side never take each other's files."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.live.live_helpers import (
    booked_session,
    clip,
    evidence_of,
    participant,
    until,
)
from zerotrip.api.keys import LIVE
from zerotrip.live.models import LiveProcess

# Heartbeats far apart: the test decides when a process stops beating and time moves on.
QUIET = {"live_heartbeat_seconds": 60, "live_owner_expiry_seconds": 120}


def recovered(evidence: list[Any]) -> list[str]:
    return [e.capture["file"] for e in evidence if (e.capture or {}).get("recovered_after_crash")]


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("segment-*.mkv")}


async def test_living_processes_never_take_each_other_s_recordings(apps, settings, db, clock):
    async with (
        apps.client(**QUIET) as first,
        apps.client(**QUIET) as second,
    ):
        sessions = [await booked_session(c, db, clock) for c in (first, second)]
        async with contextlib.AsyncExitStack() as stack:
            rooms = []
            for client, booked in zip((first, second), sessions, strict=True):
                applicant = await stack.enter_async_context(
                    participant(client, booked.ws_path, booked.token)
                )
                await applicant.connect()
                await applicant.publish(clip())
                room = client.server.app[LIVE].rooms[booked.session["id"]]
                await until(lambda room=room: room.video.stats.packets_in >= 30)
                rooms.append(room)
            workdirs = [room.workdir for room in rooms]
            assert workdirs[0].parent != workdirs[1].parent  # a folder per process
            open_files = [files(w) for w in workdirs]
            assert all(open_files)  # each is writing its first segment
            for client in (first, second):
                assert await client.server.app[LIVE].recover_orphans() == 0
            assert [files(w) for w in workdirs] == open_files
    for booked in sessions:
        recordings = await evidence_of(db, booked.case["id"], "recording")
        assert recordings and not recovered(recordings)
        assert {r.live_session_id for r in recordings} == {booked.session["id"]}


async def test_a_dead_process_s_segments_are_taken_a_living_one_s_are_not(
    apps, settings, db, clock
):
    async with (
        apps.client(**QUIET) as dying,
        apps.client(**QUIET) as survivor,
    ):
        booked = await booked_session(dying, db, clock)
        sid = booked.session["id"]
        async with participant(dying, booked.ws_path, booked.token) as applicant:
            await applicant.connect()
            await applicant.publish(clip())
            room = dying.server.app[LIVE].rooms[sid]
            await until(lambda: room.video.stats.packets_in >= 60)
            # What a crash mid-segment leaves: a Matroska file cut short, no recorder behind it.
            open_segment = room.recorder._open.segment.path
            room.recorder._open.container.close()
            room.recorder._open = None
            data = open_segment.read_bytes()
            crashed = open_segment.with_name("segment-0099.mkv")
            crashed.write_bytes(data[: int(len(data) * 0.7)])
            open_segment.unlink()
        await until(lambda: not room.recorder._open and not room.recorder._pending)
        legacy = Path(settings.data_dir) / "live" / str(sid) / "segment-0098.mkv"
        legacy.parent.mkdir(parents=True, exist_ok=True)  # the older layout's folder
        legacy.write_bytes(data[: int(len(data) * 0.6)])  # another crash, another file

        live = survivor.server.app[LIVE]
        assert await live.recover_orphans() == 1  # only the older layout's (nobody's)
        assert crashed.exists()  # the dying process still beats: its files are its own
        assert not legacy.parent.exists()

        dying.server.app[LIVE]._heartbeat.cancel()  # it hangs, then is presumed dead
        clock.advance(timedelta(seconds=121))
        await live.ownership.beat()
        assert await live.recover_orphans() == 1
        assert not crashed.exists()
        dead_id = dying.server.app[LIVE].ownership.process_id
        assert not (Path(settings.data_dir) / "live" / dead_id / str(sid)).exists()
        async with db.session() as session:
            assert await session.get(LiveProcess, dead_id) is None
        assert await live.recover_orphans() == 0  # taken once, not twice
    recordings = await evidence_of(db, booked.case["id"], "recording")
    assert sorted(recovered(recordings)) == ["segment-0098.mkv", "segment-0099.mkv"]
    assert {r.live_session_id for r in recordings} == {sid}

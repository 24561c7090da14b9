"""200 connect/disconnect cycles of a publishing applicant while an inspector stays in the call
talking (so every recorded segment has both audio tracks): no peer connection, task, thread,
queue or recorder sink is left behind, and memory does not grow by more than 50 MB."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import threading

import psutil
import pytest
from aiortc import RTCPeerConnection

from tests.live.live_helpers import booked_session, clip, participant, until
from zerotrip.api.keys import LIVE

CYCLES = int(__import__("os").environ.get("LIVE_CYCLES", 200))
WARM_UP = 10


async def _cycle(client, booked, room_probe) -> None:
    async with participant(client, booked.ws_path, booked.token) as applicant:
        assert (await applicant.connect())["type"] == "welcome"
        assert (await applicant.publish(clip()))["type"] == "answer"
        before = room_probe()
        await until(lambda: room_probe() > before)  # media really flowed through the server


def _resident_bytes(process: psutil.Process) -> int:
    """Memory still in use: freed memory that glibc's per-thread arenas keep cached (every
    cycle's receiver threads allocate in them) is handed back to the system first."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return process.memory_info().rss


def _media_threads() -> int:
    """aiortc's per-receiver threads ("video-decoder", "audio-decoder"), ours and the clients'."""
    return sum(1 for t in threading.enumerate() if t.name.endswith("-decoder"))


def _open_client_peers() -> int:
    return sum(
        1
        for o in gc.get_objects()
        if isinstance(o, RTCPeerConnection) and o.connectionState != "closed"
    )


@pytest.mark.slow
async def test_connect_disconnect_cycles_leak_nothing(client, db, clock):
    booked = await booked_session(client, db, clock)
    live = client.server.app[LIVE]

    def frames_in() -> int:
        room = live.rooms.get(booked.session["id"])
        return room.video.stats.packets_in if room else 0

    process = psutil.Process()
    async with participant(client, booked.ws_path, booked.inspector.token) as inspector:
        await inspector.connect()
        await inspector.subscribe(decode=False, voice=clip())
        room = live.rooms[booked.session["id"]]
        await until(lambda: room.voice.stats.packets_in > 0)
        for _ in range(WARM_UP):
            await _cycle(client, booked, frames_in)
        await until(lambda: client.server.app[LIVE].peers.open_count() == 1)  # the inspector's
        rss_before = _resident_bytes(process)
        tasks_before = len(asyncio.all_tasks())

        for _ in range(CYCLES - WARM_UP):
            await _cycle(client, booked, frames_in)
        await until(lambda: not room.recorder._open)
        # Sinks (recorder, still grabber) were added once per room, not per connection.
        assert [len(h.sinks) for h in (room.video, room.mic, room.voice)] == [2, 1, 1]
        await until(lambda: not room.recorder._pending)
        segments = room.recorder.segments  # one per connection, each a few frames long
        assert len(segments) >= CYCLES * 0.9
        assert all(s.audio_tracks == ["applicant", "inspector"] for s in segments)
        assert sum(s.voice_packets > 0 for s in segments) >= CYCLES // 2

    await until(lambda: client.server.app[LIVE].peers.open_count() == 0)
    try:
        await until(lambda: _media_threads() == 0, within=10)  # every receiver thread ended
    except TimeoutError:
        names = sorted(t.name for t in threading.enumerate())
        raise AssertionError(f"threads left: {names}") from None
    gc.collect()
    assert _open_client_peers() == 0
    assert live.rooms[booked.session["id"]] is room
    assert not room.seats
    assert not room.video.subscriptions and not room.mic.subscriptions
    assert not room.voice.subscriptions
    assert not room.video.live and not room.mic.live and not room.voice.live
    try:
        await until(lambda: len(asyncio.all_tasks()) <= tasks_before, within=10)
    except TimeoutError:
        left = [t.get_coro().__qualname__ for t in asyncio.all_tasks()]
        raise AssertionError(f"{len(left)} tasks (was {tasks_before}): {sorted(left)}") from None
    growth_mb = (_resident_bytes(process) - rss_before) / 2**20
    assert growth_mb < 50, f"RSS grew by {growth_mb:.1f} MB over {CYCLES - WARM_UP} cycles"

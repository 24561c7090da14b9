"""Media through the server with real aiortc peers: recording from encoded packets (segments,
finalized and playable, the applicant's and the inspector's audio as two named tracks), stills
into evidence, overflow back to a keyframe, rejoin, a peer
that vanishes and a shutdown mid-call."""

from __future__ import annotations

import asyncio
import io
from array import array
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from tests.factories import applicant_headers
from tests.live.live_helpers import (
    audit_kinds,
    booked_session,
    call,
    clip,
    evidence_of,
    participant,
    until,
)
from zerotrip.api.keys import LIVE, STORAGE
from zerotrip.live.hub import HubTrack


@dataclass
class Heard:
    """One audio track of a recording, decoded."""

    packets: int
    frames: int  # decoded Opus frames (20 ms each)
    first_s: float  # where its first packet sits on the segment's timeline
    peak: float  # loudest sample: the clip's sine, not silence


def play(path: Path) -> tuple[int, float, tuple[int, int], dict[str, Heard]]:
    """Decode a recording with PyAV: frames, seconds, size, and each audio track by title."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
        seconds = float((frames[-1].pts - frames[0].pts) * stream.time_base) if frames else 0.0
        size = (frames[0].width, frames[0].height)
        titles = [a.metadata.get("title", "") for a in container.streams.audio]
    audio = {}
    for index, title in enumerate(titles):
        with av.open(str(path)) as container:
            track = container.streams.audio[index]
            packets = [p for p in container.demux(track) if p.size]
            first_s = float(packets[0].pts * track.time_base) if packets else 0.0
            decoded = [f for p in packets for f in track.codec_context.decode(p)]
        peak = max(
            (max(map(abs, array("f", bytes(f.planes[0]))[: f.samples])) for f in decoded),
            default=0.0,
        )
        audio[title] = Heard(len(packets), len(decoded), first_s, peak)
    return len(frames), seconds, size, audio


def stored(client, evidence) -> Path:
    return Path(client.server.app[STORAGE].local_path(evidence.blob_key))


async def test_recording_is_segmented_finalized_and_plays_back(apps, settings, db, clock):
    async with apps.client(live_segment_seconds=1) as client:
        booked = await booked_session(client, db, clock)
        async with call(client, booked) as (applicant, inspector):
            live = client.server.app[LIVE]
            room = live.rooms[booked.session["id"]]
            await until(lambda: room.video.stats.packets_in >= 90)  # ~3 s of video
            await inspector.send({"type": "end"})
            await applicant.expect("ended")
            await until(lambda: room.closed and booked.session["id"] not in live.rooms)
            frames_in = room.video.stats.packets_in
        recordings = await evidence_of(db, booked.case["id"], "recording")
        assert len(recordings) >= 2  # 1 s segments, each started on a requested keyframe
        total_frames = 0
        total_seconds = 0.0
        for evidence in recordings:
            frames, seconds, size, audio = play(stored(client, evidence))
            assert size == (320, 240)
            assert frames == evidence.capture["frames"]
            # The applicant's Opus is in the same file; the inspector sent none: no such track.
            assert list(audio) == evidence.capture["audio_tracks"] == ["applicant"]
            assert audio["applicant"].packets == evidence.capture["audio_packets"] > 0
            assert evidence.capture["voice_packets"] == 0
            assert abs(seconds - (frames - 1) / 30) < 0.1  # timestamps, not arrival jitter
            total_frames += frames
            total_seconds += evidence.duration_s
            assert evidence.live_session_id == booked.session["id"]
        # Everything that arrived after the first keyframe was recorded, nothing invented.
        assert frames_in - 30 <= total_frames <= frames_in
        assert abs(total_seconds - total_frames / 30) < 0.2 * len(recordings)
        kinds = await audit_kinds(db, booked.case["id"])
        assert kinds.count("live.recording_finalized") == len(recordings)
        live_dir = Path(settings.data_dir) / "live" / str(booked.session["id"])
        assert not list(live_dir.glob("*.mkv"))  # working files handed over
        assert not any(hub.sinks for hub in (room.video, room.mic, room.voice, room.discard))
    assert client.server.app[LIVE].peers.open_count() == 0


async def test_the_inspectors_voice_is_recorded_as_a_second_audio_track(apps, settings, db, clock):
    async with apps.client(live_segment_seconds=60) as client:
        booked = await booked_session(client, db, clock)
        live = client.server.app[LIVE]
        async with (
            participant(client, booked.ws_path, booked.token) as applicant,
            participant(client, booked.ws_path, booked.inspector.token) as inspector,
        ):
            await applicant.connect()
            await applicant.publish(clip())
            room = live.rooms[booked.session["id"]]
            await until(lambda: room.recorder.segments)  # recording, without the inspector yet
            await until(lambda: room.video.stats.packets_in >= 30)
            await inspector.connect()
            await inspector.subscribe(decode=False, voice=clip())
            # The open file cannot gain a track: it is cut at the next keyframe.
            await until(lambda: len(room.recorder.segments) == 2)
            second = room.recorder.segments[1]
            await until(lambda: second.frames >= 90)  # ~3 s with both voices
            await applicant.wait_received("audio", 50)  # the voice reaches the phone too
            await inspector.send({"type": "end"})
            await applicant.expect("ended")
            await until(lambda: room.closed and booked.session["id"] not in live.rooms)
    first, both = await evidence_of(db, booked.case["id"], "recording")
    assert first.capture["closed_because"] == "audio tracks changed"
    assert first.capture["audio_tracks"] == ["applicant"] and first.capture["voice_packets"] == 0
    assert list(play(stored(client, first))[3]) == ["applicant"]

    frames, seconds, size, audio = play(stored(client, both))
    assert size == (320, 240) and frames == both.capture["frames"] >= 90
    assert abs(seconds - (frames - 1) / 30) < 0.1  # timestamps, not arrival jitter
    assert abs(both.duration_s - seconds) < 0.1
    assert list(audio) == both.capture["audio_tracks"] == ["applicant", "inspector"]
    assert audio["applicant"].packets == both.capture["audio_packets"]
    assert audio["inspector"].packets == both.capture["voice_packets"]
    # The applicant was talking when the segment began; the inspector's voice starts where it
    # arrived, once their connection was up (the cut came with their answer, before it).
    assert audio["applicant"].first_s < 0.5
    assert audio["inspector"].first_s < 1.5
    for title, heard in audio.items():
        # Opus in 20 ms frames: ~50 a second from its start to the segment's end, each
        # decodable, and the clip's tone rather than silence.
        span = seconds - heard.first_s
        assert heard.frames == heard.packets, title
        assert abs(heard.packets - 50 * span) <= 0.15 * 50 * span + 10, (title, heard, seconds)
        assert heard.peak > 0.05, (title, heard)
    kinds = await audit_kinds(db, booked.case["id"])
    assert kinds.count("live.recording_finalized") == 2


async def test_still_capture_stores_a_jpeg_and_shows_on_both_screens(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with call(client, booked) as (applicant, inspector):
        await inspector.wait_received("video", 10)
        unknown = await inspector.request({"type": "capture", "checkpoint_id": 999999})
        assert unknown["status"] == 404
        still = await inspector.request({"type": "capture", "checkpoint_id": booked.checkpoint_id})
        assert still["type"] == "still", still
        assert (still["width"], still["height"]) == (320, 240)
        shown = await applicant.expect("still")
        assert shown["evidence_id"] == still["evidence_id"]
        resp = await client.get(still["url"], headers=applicant_headers(booked.token))
        assert resp.status == 200 and resp.content_type == "image/jpeg"
        image = Image.open(io.BytesIO(await resp.read()))
        assert image.size == (320, 240)
        # testsrc2 is colourful: the still is a real picture, not a blank frame.
        assert len(set(image.convert("RGB").get_flattened_data())) > 50
    stills = await evidence_of(db, booked.case["id"], "still")
    assert [s.id for s in stills] == [still["evidence_id"]]
    assert stills[0].checkpoint_id == booked.checkpoint_id
    assert stills[0].source == "live_still"
    assert "live.still_captured" in await audit_kinds(db, booked.case["id"])


async def test_overflow_drops_to_the_next_keyframe_and_asks_for_one(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with participant(client, booked.ws_path, booked.token) as applicant:
        await applicant.connect()
        await applicant.publish(clip())
        room = client.server.app[LIVE].rooms[booked.session["id"]]
        await until(lambda: room.video.stats.packets_in > 5)
        stalled = HubTrack(room.video, maxsize=5)  # a subscriber that stops reading
        asked = applicant.video_track.keyframe_requests
        await until(lambda: room.video.stats.overflows >= 1)
        assert len(stalled.subscription.queue) <= 5
        await until(
            lambda: applicant.video_track.keyframe_requests > asked
        )  # PLI reached the phone
        # Reading again resumes exactly at a keyframe: the stream stays decodable.
        stalled.subscription.queue.clear()
        first = await stalled.recv()
        assert first.is_keyframe
        stalled.stop()
        assert stalled.subscription not in room.video.subscriptions


async def test_applicant_rejoins_and_the_inspector_keeps_decoding(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with participant(client, booked.ws_path, booked.inspector.token) as inspector:
        await inspector.connect()
        await inspector.subscribe(decode=True)
        async with participant(client, booked.ws_path, booked.token) as applicant:
            await applicant.connect()
            await applicant.publish(clip())
            await inspector.wait_received("video", 20)
        left = await inspector.expect("peer")
        while left["present"]:
            left = await inspector.expect("peer")
        assert "rejoin_until" in left
        resp = await client.get(
            f"/api/live/sessions/{booked.session['id']}", headers=booked.clerk.headers
        )
        assert (await resp.json())["state"] == "interrupted"
        before = inspector.received["video"]
        async with participant(client, booked.ws_path, booked.token) as again:
            assert (await again.connect())["type"] == "welcome"
            await again.publish(clip())
            await inspector.wait_received("video", before + 20)
        assert set(inspector.decoded_sizes) == {(320, 240)}
    kinds = await audit_kinds(db, booked.case["id"])
    assert kinds.count("live.joined") >= 3 and "live.left" in kinds
    # Each applicant connection's recording was finalized when it dropped.
    room = client.server.app[LIVE].rooms[booked.session["id"]]
    await until(lambda: len(room.recorder.segments) >= 2 and not room.recorder._pending)
    assert len(await evidence_of(db, booked.case["id"], "recording")) >= 2


async def test_a_vanished_applicant_is_cleaned_up(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with participant(client, booked.ws_path, booked.inspector.token) as inspector:
        await inspector.connect()
        await inspector.subscribe(decode=False)
        applicant_cm = participant(client, booked.ws_path, booked.token)
        applicant = await applicant_cm.__aenter__()
        await applicant.connect()
        await applicant.publish(clip())
        await inspector.wait_received("video", 20)
        # The phone drops off the network: its transport dies without a goodbye.
        applicant.ws._response.connection.transport.abort()
        for transceiver in applicant.pc.getTransceivers():
            await transceiver.sender.stop()
        room = client.server.app[LIVE].rooms[booked.session["id"]]
        await until(lambda: "applicant" not in room.seats)
        await applicant_cm.__aexit__(None, None, None)
        message = await inspector.expect("peer")
        while message["present"]:  # (the join came first)
            message = await inspector.expect("peer")
        assert message["role"] == "applicant"
        await until(
            lambda: (
                room.recorder.segments and not room.recorder._open and not room.recorder._pending
            )
        )
    await until(lambda: client.server.app[LIVE].peers.open_count() == 0)
    recordings = await evidence_of(db, booked.case["id"], "recording")
    assert recordings and play(stored(client, recordings[0]))[0] > 0


async def test_shutdown_mid_call_finalizes_the_recording(apps, settings, db, clock):
    async with apps.client() as client:
        booked = await booked_session(client, db, clock)
        applicant_cm = participant(client, booked.ws_path, booked.token)
        inspector_cm = participant(client, booked.ws_path, booked.inspector.token)
        applicant = await applicant_cm.__aenter__()
        inspector = await inspector_cm.__aenter__()
        await applicant.connect()
        await applicant.publish(clip())
        await inspector.connect()
        await inspector.subscribe(decode=False)
        await inspector.wait_received("video", 30)
        storage = client.server.app[STORAGE]
        await client.server.close()  # the process shuts down mid-call
        for peer in (applicant, inspector):
            ended = await peer.expect("ended")
            assert ended["reason"] == "server shutting down"
        await applicant_cm.__aexit__(None, None, None)
        await inspector_cm.__aexit__(None, None, None)
    recordings = await evidence_of(db, booked.case["id"], "recording")
    assert len(recordings) == 1
    frames, _, size, _ = play(Path(storage.local_path(recordings[0].blob_key)))
    assert frames == recordings[0].capture["frames"] > 0 and size == (320, 240)
    async with db.session() as session:
        from zerotrip.live.models import LiveSession

        live = await session.get(LiveSession, booked.session["id"])
    assert live.state == "interrupted"  # it can be rejoined after the restart
    assert client.server.app[LIVE].peers.open_count() == 0
    await asyncio.sleep(0)


async def test_segments_left_by_a_crash_are_recovered_at_startup(apps, settings, db, clock):
    """A segment cut short mid-write (the process died) is still evidence after a restart."""
    async with apps.client(live_segment_seconds=60) as client:
        booked = await booked_session(client, db, clock)
        async with participant(client, booked.ws_path, booked.token) as applicant:
            await applicant.connect()
            await applicant.publish(clip())
            room = client.server.app[LIVE].rooms[booked.session["id"]]
            await until(lambda: room.video.stats.packets_in >= 60)
            open_segment = room.recorder._open.segment.path
            crashed = open_segment.with_name("segment-0099.mkv")
            room.recorder._open.container.close()  # flush what a crash would have left...
            data = open_segment.read_bytes()
            crashed.write_bytes(data[: int(len(data) * 0.7)])  # ...minus the unwritten tail
            open_segment.unlink()
            room.recorder._open = None
    async with apps.client() as client:
        live = client.server.app[LIVE]
        await until(lambda: not crashed.exists())
        await asyncio.sleep(0)
    recordings = [
        e
        for e in await evidence_of(db, booked.case["id"], "recording")
        if (e.capture or {}).get("recovered_after_crash")
    ]
    assert [e.capture["file"] for e in recordings] == ["segment-0099.mkv"] and live is not None
    frames, _, size, _ = play(stored(client, recordings[0]))
    assert frames > 10 and size == (320, 240)
    assert "live.recording_finalized" in await audit_kinds(db, booked.case["id"])


async def test_a_damaged_keyframe_is_skipped_for_the_next_one():
    from zerotrip.live.hub import Hub
    from zerotrip.live.passthrough import wrap
    from zerotrip.live.stills import StillGrabber

    hub = Hub("video", "test")
    grabber = StillGrabber(hub, timeout_s=5)
    keyframe = clip().video[0]
    grab = asyncio.create_task(grabber.grab())
    await asyncio.sleep(0)
    hub.publish(wrap("vp8", "video", 90000, b"\x00" + b"\xff" * 40, 0))  # flagged key, garbage
    await asyncio.sleep(0.3)
    hub.publish(wrap("vp8", "video", 90000, keyframe, 3000))
    still = await asyncio.wait_for(grab, 10)
    assert (still.width, still.height) == (320, 240) and still.fresh
    grabber.close()

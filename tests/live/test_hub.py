"""Relay through the server with real aiortc peers: the applicant publishes pre-encoded VP8,
the inspector receives it and DECODES it (proof the passthrough stream is valid video)."""

from __future__ import annotations

from tests.live.live_helpers import booked_session, clip, participant, until
from zerotrip.api.keys import LIVE


async def test_inspector_receives_and_decodes_the_applicants_video(client, db, clock):
    booked = await booked_session(client, db, clock)
    async with (
        participant(client, booked.ws_path, booked.token) as applicant,
        participant(client, booked.ws_path, booked.inspector.token) as inspector,
    ):
        welcome = await applicant.connect()
        assert welcome["type"] == "welcome" and welcome["role"] == "applicant"
        answer = await applicant.publish(clip())
        assert answer["type"] == "answer", answer
        room = client.server.app[LIVE].rooms[booked.session["id"]]
        await until(lambda: room.video.stats.packets_in > 5)  # past the clip's first keyframe
        assert (await inspector.connect())["role"] == "inspector"
        assert (await inspector.subscribe(decode=True))["type"] == "answer"
        await inspector.wait_received("video", 45)
        assert set(inspector.decoded_sizes) == {(320, 240)}
        await inspector.wait_received("audio", 20)
        stats = room.video.stats
        assert stats.packets_in >= 45 and stats.packets_out >= 45
        # The inspector joined late: the server asked the phone for a keyframe (PLI).
        assert applicant.video_track.keyframe_requests >= 1

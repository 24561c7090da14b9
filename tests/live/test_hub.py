"""Relay through the server with real aiortc peers: the applicant publishes pre-encoded VP8,
the inspector receives it and DECODES it (proof the passthrough stream is valid video)."""

from __future__ import annotations

import asyncio
import time

from aiortc.rtcrtpreceiver import RTCRtpSynchronizationSource

from tests.live.live_helpers import booked_session, clip, participant, until
from zerotrip.api.keys import LIVE
from zerotrip.live.hub import Hub
from zerotrip.live.passthrough import is_keyframe, wrap


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


class _LossyReceiver:
    """Stands in for aiortc's RTCRtpReceiver towards a phone: counts the PLIs sent and, like
    a lossy uplink, loses the first ``lose`` of them."""

    def __init__(self, lose: int) -> None:
        self.lose = lose
        self.plis = 0
        self.answered = 0

    def getSynchronizationSources(self) -> list[RTCRtpSynchronizationSource]:
        return [RTCRtpSynchronizationSource(timestamp=time.time(), source=1234)]

    async def _send_rtcp_pli(self, media_ssrc: int) -> None:
        self.plis += 1
        if self.plis > self.lose:
            self.answered += 1


async def test_a_subscriber_whose_keyframe_request_was_lost_asks_again():
    """A camera encodes a keyframe only when asked. When the PLI sent on joining is lost, the
    subscriber must not wait for one that never comes: the hub asks again while it waits."""
    frames = clip().video  # real VP8 frames, the first one a keyframe
    keyframe = next(f for f in frames if is_keyframe("vp8", f))
    deltas = [f for f in frames if not is_keyframe("vp8", f)]
    hub = Hub("video", "camera")
    receiver = _LossyReceiver(lose=1)
    hub._receiver = receiver  # as attach() sets it, without a peer connection
    stamp = 0

    def send(data: bytes) -> None:
        nonlocal stamp
        stamp += 3000
        hub.publish(wrap("vp8", "video", 90000, data, stamp))

    send(keyframe)
    subscription = hub.subscribe(maxsize=64)
    for data in deltas[:30]:  # a second of video at 30 fps, no keyframe in it
        send(data)
        await asyncio.sleep(1 / 30)
        if receiver.answered:  # the phone heard a request: its next frame is a keyframe
            break
    await asyncio.sleep(0)  # let the request's task run
    assert receiver.plis >= 2 and receiver.answered >= 1, (receiver.plis, receiver.answered)
    send(keyframe)
    assert subscription.queue and subscription.queue[0].is_keyframe
    # Once it has its keyframe, it asks for nothing more.
    asked = receiver.plis
    for data in deltas[:15]:
        send(data)
        await asyncio.sleep(1 / 30)
    assert receiver.plis == asked
    assert len(subscription.queue) == 16

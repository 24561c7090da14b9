"""Contract with the private aiortc internals the encoded relay depends on (aiortc is pinned at
1.16.0). If any of these fail after an upgrade, the relay would silently go back to decoding
every frame, or stop forwarding keyframe requests: re-check zerotrip/live/passthrough.py."""

from __future__ import annotations

import asyncio
import inspect

import aiortc
import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.codecs import get_encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from tests.live.live_helpers import clip
from zerotrip.live import passthrough
from zerotrip.live.synthetic import ClipTrack, client_configuration


def test_pinned_version():
    assert aiortc.__version__ == passthrough.PINNED_AIORTC == "1.16.0"


def test_install_refuses_another_version(monkeypatch):
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")
    with pytest.raises(RuntimeError, match="pinned"):
        passthrough.install()


def test_decoder_worker_signature_and_lookup():
    original = passthrough._ORIGINAL_WORKER
    assert original.__module__ == "aiortc.rtcrtpreceiver"
    assert list(inspect.signature(original).parameters) == [
        "loop", "input_q", "output_q", "decode_error",
    ]  # fmt: skip
    receive = inspect.getsource(RTCRtpReceiver.receive)
    # The worker is looked up by module-global name when the thread starts, and is handed the
    # track's queue as output.
    assert "target=decoder_worker" in receive
    assert "self._track._queue" in receive
    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert "self.__decoder_queue.put((codec, encoded_frame))" in handle
    stop = inspect.getsource(rtcrtpreceiver.RTCRtpReceiver)
    assert "self.__decoder_queue.put(None)" in stop


def test_remote_track_queue_and_jitter_frame():
    track = rtcrtpreceiver.RemoteStreamTrack(kind="video")
    assert isinstance(track._queue, asyncio.Queue)
    frame = JitterFrame(data=b"\x10", timestamp=3000)
    assert (frame.data, frame.timestamp) == (b"\x10", 3000)


def test_keyframe_request_hooks():
    pli = inspect.signature(RTCRtpReceiver._send_rtcp_pli)
    assert list(pli.parameters) == ["self", "media_ssrc"]
    assert inspect.iscoroutinefunction(RTCRtpReceiver._send_rtcp_pli)
    assert "getSynchronizationSources" in dir(RTCRtpReceiver)
    handle = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "self._send_keyframe()" in handle  # PLI and FIR both end up here


def test_senders_pack_packets_without_encoding():
    source = inspect.getsource(RTCRtpSender._next_encoded_frame)
    assert "self.__encoder.pack(data)" in source
    for mime, rate in (("video/VP8", 90000), ("video/H264", 90000), ("audio/opus", 48000)):
        codec = RTCRtpCodecParameters(mimeType=mime, clockRate=rate, payloadType=96, channels=2)
        assert callable(get_encoder(codec).pack)


async def test_marked_receivers_yield_packets_others_still_decode():
    """Two real peers: the marked receiver gets av.Packets flagged as keyframes; an unmarked
    one in the same process keeps aiortc's decoding."""
    passthrough.install()
    readers: list[asyncio.Future] = []
    for encoded in (True, False):
        sender_pc = RTCPeerConnection(client_configuration([]))
        receiver_pc = RTCPeerConnection(client_configuration([]))
        got: asyncio.Future = asyncio.get_running_loop().create_future()

        @receiver_pc.on("track")
        def on_track(track, got=got):
            async def read():
                item = await track.recv()
                if not got.done():
                    got.set_result(item)

            readers.append(asyncio.ensure_future(read()))

        sender_pc.addTrack(ClipTrack(clip(), "video"))
        await sender_pc.setLocalDescription(await sender_pc.createOffer())
        await receiver_pc.setRemoteDescription(sender_pc.localDescription)
        if encoded:
            passthrough.mark_encoded(receiver_pc)
        await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
        await sender_pc.setRemoteDescription(receiver_pc.localDescription)
        item = await asyncio.wait_for(got, 20)
        if encoded:
            assert isinstance(item, av.Packet)
            assert item.is_keyframe
            assert item.opaque.codec == "vp8" and item.opaque.kind == "video"
        else:
            assert isinstance(item, av.VideoFrame)
        await sender_pc.close()
        await receiver_pc.close()

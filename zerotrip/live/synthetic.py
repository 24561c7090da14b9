"""Synthetic participants: aiortc clients that join a session over its WebSocket and publish
pre-encoded VP8 (and Opus), or subscribe, count what arrives and optionally talk back (Opus).
The load bench and the tests use them; they cost ~1% of a core per stream because nothing is
encoded at run time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from zerotrip.live.passthrough import mark_encoded
from zerotrip.live.peers import rebundle, video_preferences

VIDEO_TB = Fraction(1, 90000)


@dataclass(frozen=True)
class Clip:
    """Pre-encoded media: VP8 packets with a keyframe every ``gop`` frames, Opus packets."""

    video: list[bytes]
    keyframes: frozenset[int]
    fps: int
    width: int
    height: int
    audio: list[bytes] = field(default_factory=list)


def make_clip(
    width: int = 640, height: int = 480, fps: int = 30, seconds: int = 4, gop: int = 60,
    audio: bool = True, bitrate: int = 1_000_000,
) -> Clip:  # fmt: skip
    """Encode a test pattern once (libvpx realtime), to be replayed by any number of peers."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = Fraction(1, fps)
    encoder.framerate = fps
    encoder.bit_rate = bitrate
    encoder.gop_size = gop
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    source = av.open(f"testsrc2=size={width}x{height}:rate={fps}", format="lavfi")
    packets: list[bytes] = []
    for index, frame in enumerate(source.decode(video=0)):
        if index >= fps * seconds:
            break
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = index, Fraction(1, fps)
        frame.pict_type = av.video.frame.PictureType.I if index % gop == 0 else 0
        packets += [bytes(p) for p in encoder.encode(frame)]
    packets += [bytes(p) for p in encoder.encode(None)]
    source.close()
    keyframes = frozenset(i for i, data in enumerate(packets) if data[0] & 1 == 0)
    return Clip(packets, keyframes, fps, width, height, _opus(seconds) if audio else [])


def _opus(seconds: int) -> list[bytes]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "stereo", "s16"
    encoder.time_base = Fraction(1, 48000)
    source = av.open("sine=frequency=440:sample_rate=48000", format="lavfi")
    resampler = av.AudioResampler(format="s16", layout="stereo", rate=48000, frame_size=960)
    packets: list[bytes] = []
    for frame in source.decode(audio=0):
        for chunk in resampler.resample(frame):
            packets += [bytes(p) for p in encoder.encode(chunk)]
        if len(packets) >= seconds * 50:
            break
    source.close()
    return packets


class ClipTrack(MediaStreamTrack):
    """Replays a clip's packets in real time, looping; honours keyframe requests by jumping
    to the next keyframe of the loop (a real camera encodes one instead)."""

    def __init__(self, clip: Clip, kind: str = "video") -> None:
        super().__init__()
        self.kind = kind
        self.clip = clip
        self.sent = 0
        self.keyframe_requests = 0
        self._index = 0
        self._start: float | None = None
        self._jump = False

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._jump = True

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        video = self.kind == "video"
        rate, step = (90000, 90000 // self.clip.fps) if video else (48000, 960)
        items = self.clip.video if video else self.clip.audio
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.sent * step / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if video and self._jump:
            self._jump = False
            later = [k for k in sorted(self.clip.keyframes) if k > self._index % len(items)]
            target = later[0] if later else min(self.clip.keyframes)
            self._index += (target - self._index % len(items)) % len(items)
        packet = av.Packet(items[self._index % len(items)])
        packet.pts = packet.dts = self.sent * step
        packet.time_base = Fraction(1, rate)
        self._index += 1
        self.sent += 1
        return packet


def client_configuration(ice: list[dict[str, Any]], relay_only: bool = False) -> RTCConfiguration:
    servers = [RTCIceServer(e["urls"], e.get("username"), e.get("credential")) for e in ice]
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


class SyntheticClient:
    """A scripted stand-in for a browser in a session (tests, bench): its WebSocket, peer
    connection and received messages."""

    def __init__(self, http: ClientSession, url: str, token: str, *, relay_only: bool = False):
        self.http = http
        self.url = url
        self.token = token
        self.relay_only = relay_only
        self.ws: ClientWebSocketResponse | None = None
        self.pc: RTCPeerConnection | None = None
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.welcome: dict[str, Any] = {}
        self.received: dict[str, int] = {"video": 0, "audio": 0}
        self.received_by_mid: dict[str, int] = {}  # packets per m-line (several audio lines)
        self.decoded_sizes: list[tuple[int, int]] = []
        self._reader: asyncio.Task[None] | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self.video_track: ClipTrack | None = None
        self.voice_track: ClipTrack | None = None

    async def connect(self) -> dict[str, Any]:
        """Open the socket and authenticate; returns the welcome (or the error) message."""
        self.ws = await self.http.ws_connect(self.url)
        await self.ws.send_str(json.dumps({"type": "auth", "token": self.token}))
        first = await self.ws.receive_json(timeout=10)
        self.welcome = first
        self._reader = asyncio.create_task(self._read())
        return first

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == WSMsgType.TEXT:
                await self.inbox.put(json.loads(msg.data))
        await self.inbox.put({"type": "closed", "code": self.ws.close_code})

    async def send(self, payload: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(payload))

    async def expect(self, kind: str, within: float = 20) -> dict[str, Any]:
        """The next message of type ``kind`` (others are skipped); raises on timeout."""
        async with asyncio.timeout(within):
            while True:
                message = await self.inbox.get()
                if message["type"] == kind:
                    return message
                if message["type"] == "closed" and kind != "closed":
                    raise ConnectionError(f"socket closed while waiting for {kind}: {message}")

    async def request(self, payload: dict[str, Any], within: float = 20) -> dict[str, Any]:
        """Send a message with an id and return the reply (or error) that echoes it."""
        ident = f"r{time.monotonic_ns()}"
        await self.send({**payload, "id": ident})
        async with asyncio.timeout(within):
            while True:
                message = await self.inbox.get()
                if message.get("reply_to") == ident:
                    return message
                if message["type"] == "closed":
                    raise ConnectionError(f"socket closed: {message}")

    def _new_pc(self) -> RTCPeerConnection:
        ice = self.welcome.get("ice_servers", [])
        self.pc = RTCPeerConnection(client_configuration(ice, self.relay_only))
        return self.pc

    async def _negotiate(self) -> dict[str, Any]:
        assert self.pc is not None
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await self.request({"type": "offer", "sdp": self.pc.localDescription.sdp})
        if answer["type"] != "answer":
            return answer
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        rebundle(self.pc, answer["sdp"])  # a second audio line (see peers.rebundle)
        return answer

    async def publish(self, clip: Clip) -> dict[str, Any]:
        """Applicant: accept the recording notice (as the phone's page does before its camera
        opens), then send the clip's video (and audio), hear the inspector."""
        await self.request({"type": "consent", "accepted": True, "notice": "synthetic"})
        pc = self._new_pc()
        self.video_track = ClipTrack(clip, "video")
        sender = pc.addTrack(self.video_track)
        sender._send_keyframe = self.video_track.request_keyframe  # honour the server's PLI
        if clip.audio:
            pc.addTrack(ClipTrack(clip, "audio"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.setCodecPreferences(video_preferences("vp8"))
        pc.on("track", self._consume_packets)
        return await self._negotiate()

    async def subscribe(
        self, decode: bool = True, voice: Clip | None = None, third_party: bool = False
    ) -> dict[str, Any]:
        """Inspector: receive the applicant's video and audio; ``decode`` proves it plays.
        With ``voice``, also talk back: its Opus packets, as a console's microphone would.
        With ``third_party``, a further audio line for the voice of the session's third party
        (the guest's for the inspector, the inspector's for a guest)."""
        pc = self._new_pc()
        pc.addTransceiver("video", direction="recvonly")
        if voice is not None and voice.audio:
            self.voice_track = ClipTrack(voice, "audio")
            pc.addTransceiver(self.voice_track, direction="sendrecv")
        else:
            pc.addTransceiver("audio", direction="recvonly")
        if third_party:
            pc.addTransceiver("audio", direction="recvonly")
        pc.on("track", self._consume_frames if decode else self._consume_packets)
        answer = await self._negotiate()
        if not decode:
            mark_encoded(pc)
        return answer

    def _consume_frames(self, track: MediaStreamTrack) -> None:
        self._consumers.append(asyncio.create_task(self._count(track, decoded=True)))

    def _consume_packets(self, track: MediaStreamTrack) -> None:
        self._consumers.append(asyncio.create_task(self._count(track, decoded=False)))

    async def _count(self, track: MediaStreamTrack, decoded: bool) -> None:
        mid = next(
            (t.mid or "" for t in self.pc.getTransceivers() if t.receiver.track is track), ""
        ) if self.pc is not None else ""  # fmt: skip
        with contextlib.suppress(MediaStreamError):
            while True:
                item = await track.recv()
                self.received[track.kind] += 1
                self.received_by_mid[mid] = self.received_by_mid.get(mid, 0) + 1
                if decoded and track.kind == "video" and len(self.decoded_sizes) < 1000:
                    self.decoded_sizes.append((item.width, item.height))

    async def wait_received(self, kind: str, count: int, within: float = 30) -> int:
        async with asyncio.timeout(within):
            while self.received[kind] < count:  # noqa: ASYNC110 - counters bumped per packet
                await asyncio.sleep(0.05)
        return self.received[kind]

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

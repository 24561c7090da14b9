"""Server-side peer connections: ICE configuration from settings, offer validation, codec
preferences, and the two shapes of peer (the applicant publishes, the inspector subscribes)."""

from __future__ import annotations

import json
import weakref
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.sdp import SessionDescription

from zerotrip.config import Settings
from zerotrip.live.turn import turn_ice_servers
from zerotrip.problems import InvalidInput, TooLarge

VIDEO_ORDER = ("video/VP8", "video/H264")


def ice_servers(settings: Settings) -> list[dict[str, Any]]:
    """The configured STUN/TURN servers, as the browser's RTCPeerConnection takes them."""
    try:
        servers = json.loads(settings.live_ice_servers or "[]")
    except json.JSONDecodeError as exc:
        raise ValueError(f"ZEROTRIP_LIVE_ICE_SERVERS is not JSON: {exc}") from None
    if not isinstance(servers, list):
        raise ValueError("ZEROTRIP_LIVE_ICE_SERVERS must be a JSON list")
    return servers + turn_ice_servers(settings)


def rtc_configuration(settings: Settings) -> RTCConfiguration:
    servers = [
        RTCIceServer(
            urls=entry["urls"],
            username=entry.get("username"),
            credential=entry.get("credential"),
        )
        for entry in ice_servers(settings)
    ]
    policy = (
        RTCIceTransportPolicy.RELAY if settings.live_ice_relay_only else RTCIceTransportPolicy.ALL
    )
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


class Peers:
    """Makes the server's peer connections and remembers them (weakly), to prove none is left
    open (leak tests, capacity)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._made: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()

    def new(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(rtc_configuration(self.settings))
        self._made.add(pc)
        return pc

    def open_count(self) -> int:
        return sum(1 for pc in list(self._made) if pc.connectionState != "closed")


def rebundle(pc: RTCPeerConnection, sdp: str) -> None:
    """Put every bundled line on the bundle's transport; call after ``setRemoteDescription``.

    aiortc (balanced policy) gives a second line of the same kind (the third party's voice)
    the transport of the first one as it was created; bundling then replaces that one's
    transport and stops the old one, leaving the second line on a dead transport that never
    sends. (Max-bundle would avoid it but browsers then never connect.)"""
    groups = [g for g in SessionDescription.parse(sdp).group if g.semantic == "BUNDLE"]
    if not groups or not groups[0].items:
        return
    mids = set(groups[0].items)
    transceivers = pc.getTransceivers()
    primary = next((t for t in transceivers if t.mid == groups[0].items[0]), None)
    if primary is None:
        return
    transport = primary.receiver.transport
    for transceiver in transceivers:
        if transceiver.mid in mids and transceiver.receiver.transport is not transport:
            transceiver.receiver.setTransport(transport)
            transceiver.sender.setTransport(transport)


def validate_offer(sdp: str, max_bytes: int) -> RTCSessionDescription:
    """Refuse an oversized or unparseable offer before aiortc acts on it."""
    if len(sdp.encode("utf-8", "replace")) > max_bytes:
        raise TooLarge(
            f"The SDP offer may be at most {max_bytes} bytes.",
            zh=f"SDP 提议不能超过 {max_bytes} 字节。",
        )
    if not sdp.startswith("v=0"):
        raise InvalidInput("The SDP offer must start with 'v=0'.", zh="SDP 提议须以 'v=0' 开头。")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc raises ValueError, IndexError, KeyError... on bad SDP
        raise InvalidInput(
            f"The SDP offer cannot be parsed ({type(exc).__name__}).",
            zh=f"无法解析 SDP 提议（{type(exc).__name__}）。",
        ) from None
    kinds = [m.kind for m in parsed.media]
    if not any(kind in ("audio", "video") for kind in kinds):
        raise InvalidInput("The SDP offer has no audio or video.", zh="SDP 提议中没有音频或视频。")
    for media in parsed.media:
        if media.kind in ("audio", "video") and (not media.ice.usernameFragment or not media.dtls):
            raise InvalidInput(
                "The SDP offer lacks ICE credentials or a DTLS fingerprint.",
                zh="SDP 提议缺少 ICE 凭据或 DTLS 指纹。",
            )
    return RTCSessionDescription(sdp=sdp, type="offer")


def video_preferences(first: str | None = None) -> list[Any]:
    """Video codecs in preference order: ``first`` (the publisher's codec) or VP8, then H.264."""
    codecs = RTCRtpReceiver.getCapabilities("video").codecs
    order = [f"video/{first.upper()}"] if first else list(VIDEO_ORDER)
    ranked = [c for name in order for c in codecs if c.mimeType.lower() == name.lower()]
    return ranked + [c for c in codecs if c.mimeType == "video/rtx"]


def answer_codec(pc: RTCPeerConnection, kind: str, *, received: bool = False) -> str | None:
    """The codec the answer settled on for ``kind`` (the first one listed); with ``received``,
    only if the remote end agreed to send it (a listen-only inspector has no voice to record)."""
    if pc.localDescription is None:
        return None
    for media in SessionDescription.parse(pc.localDescription.sdp).media:
        if media.kind != kind or not media.rtp.codecs or not media.port:
            continue
        if received and media.direction not in ("sendrecv", "recvonly"):
            continue
        return media.rtp.codecs[0].name.lower()
    return None

"""One live session in memory: its two participants and their peers, the hubs that relay the
applicant's camera and microphone and the inspector's voice, the recorder and the still grabber,
and what each signalling message does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiortc.mediastreams import MediaStreamTrack

from zerotrip.kit.actor import SYSTEM_LIVE, Actor
from zerotrip.live import booking
from zerotrip.live.guidance import Guidance, Participant
from zerotrip.live.hub import Hub, HubTrack
from zerotrip.live.passthrough import mark_encoded, on_keyframe_request
from zerotrip.live.peers import answer_codec, new_peer, validate_offer, video_preferences
from zerotrip.live.recorder import AudioLane, Segment, SegmentRecorder
from zerotrip.live.signalling import APPLICANT, INSPECTOR, Message
from zerotrip.live.stills import StillGrabber
from zerotrip.media.ingest import ingest_file
from zerotrip.problems import Conflict, InvalidInput

if TYPE_CHECKING:
    from zerotrip.live.rooms import Rooms

log = logging.getLogger("zerotrip.live")
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Room(Guidance):
    def __init__(self, rooms: Rooms, live_id: int, case_id: int, premises: tuple[Any, Any]):
        self.rooms = rooms
        self.settings = rooms.settings
        self.live_id = live_id
        self.case_id = case_id
        self.premises = premises
        self.workdir = Path(self.settings.data_dir) / "live" / str(live_id)
        self.video = Hub("video", f"{live_id}-camera")
        self.mic = Hub("audio", f"{live_id}-mic")
        self.voice = Hub("audio", f"{live_id}-voice")
        self.discard = Hub("video", f"{live_id}-discard")  # what nobody should send, still read
        self.recorder = SegmentRecorder(
            workdir=self.workdir,
            segment_seconds=self.settings.live_segment_seconds,
            on_segment=self._store_segment,
            request_keyframe=lambda: self.video.request_keyframe("recording", force=True),
            audio_lanes=(
                AudioLane(APPLICANT, lambda: self.applicant_audio_codec or self.mic.codec),
                AudioLane(INSPECTOR, lambda: self.inspector_audio_codec or self.voice.codec),
            ),
        )
        self.video.add_sink(self.recorder.write_video)
        self.mic.add_sink(self.recorder.audio_sink(APPLICANT))
        self.voice.add_sink(self.recorder.audio_sink(INSPECTOR))
        self.video.on_source_ended = self._camera_ended
        self.stills = StillGrabber(self.video, self.settings.live_still_timeout_ms / 1000)
        self.participants: dict[str, Participant] = {}
        self.capabilities: dict[str, Any] = {}
        self.last_fix: dict[str, Any] | None = None  # the phone's latest geolocation
        self.presence: dict[str, Any] | None = None  # ... as last shown to the console
        self.applicant_audio_codec: str | None = None  # negotiated, before the first packet
        self.inspector_audio_codec: str | None = None  # ... None if the inspector sends none
        self.still_latencies_ms: list[float] = []
        self.closed = False
        self._rejoin_timer: asyncio.Task[None] | None = None
        self._teardown: asyncio.Task[None] | None = None

    # --- joining and leaving -------------------------------------------------------------

    def other(self, role: str) -> Participant | None:
        return self.participants.get(INSPECTOR if role == APPLICANT else APPLICANT)

    async def admit(self, participant: Participant) -> dict[str, Any]:
        current = self.participants.get(participant.role)
        if current is not None and not current.gone:
            raise Conflict(
                f"The {participant.role} is already connected to this session elsewhere.",
                code="already-connected",
            )
        other = self.other(participant.role)
        live = await booking.joined(
            self.rooms.db, self.live_id, participant.actor, participant.role,
            other is not None, self.rooms.clock.now(),
        )  # fmt: skip
        self.participants[participant.role] = participant  # only once the join is recorded
        if self._rejoin_timer is not None and len(self.participants) == 2:
            self._rejoin_timer.cancel()
            self._rejoin_timer = None
        if other is not None:
            await other.send({"type": "peer", "role": participant.role, "present": True})
        if participant.role == INSPECTOR and self.capabilities:
            await participant.send({"type": "capabilities", **self.capabilities})
        if participant.role == INSPECTOR and self.presence:
            await participant.send(self.presence)
        return booking.view(live)

    async def depart(self, participant: Participant, reason: str) -> None:
        """A participant left, its socket closed or its connection failed: clean up, keep the
        session open for a rejoin within the window."""
        if participant.gone:
            return
        participant.gone = True
        if self.participants.get(participant.role) is participant:
            del self.participants[participant.role]
        await self._close_peer(participant)
        if participant.role == APPLICANT:
            self.recorder.cut(f"applicant {reason}")
        if self.closed:
            return
        window = timedelta(seconds=self.settings.live_rejoin_seconds)
        until = self.rooms.clock.now() + window
        other = self.other(participant.role)
        await booking.left(
            self.rooms.db, self.live_id, participant.actor, participant.role, reason,
            other is not None, until,
        )  # fmt: skip
        if other is not None:
            await other.send(
                {"type": "peer", "role": participant.role, "present": False,
                 "rejoin_until": until.isoformat()}
            )  # fmt: skip
        if not self.participants:
            # Nobody is connected: hold the room (and its recording timeline) for a while.
            if self._rejoin_timer is None or self._rejoin_timer.done():
                self._rejoin_timer = asyncio.create_task(self._expire(window.total_seconds()))

    async def _expire(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if not self.participants and not self.closed:
            await self.end("nobody rejoined", SYSTEM_LIVE)

    async def end(self, reason: str, actor: Actor) -> None:
        live = await booking.end(
            self.rooms.db, self.live_id, actor, reason, self.rooms.clock.now(),
            self.rooms.reactions,
        )  # fmt: skip
        await self.close(reason, state=live.state)

    async def close(self, reason: str, state: str | None = None) -> None:
        """Tear everything down and finalize the recording (end, shutdown, expiry).

        Runs as its own task: the socket handler that asked for it may be cancelled meanwhile
        (its socket is one of those being closed), and a half-done teardown would leak.
        """
        if self._teardown is None:
            self.closed = True
            self._teardown = asyncio.create_task(self._tear_down(reason, state))
        await asyncio.shield(self._teardown)

    async def _tear_down(self, reason: str, state: str | None) -> None:
        if self._rejoin_timer is not None:
            self._rejoin_timer.cancel()
        try:
            for participant in list(self.participants.values()):
                await participant.send({"type": "ended", "reason": reason, "state": state})
                participant.gone = True
                await self._close_peer(participant)
                if participant.hangup is not None:
                    await participant.hangup()
            self.participants.clear()
            self.stills.close()
            await self.recorder.finalize(reason)
        finally:
            for hub in (self.video, self.mic, self.voice, self.discard):
                hub.close()
            self.rooms.forget(self)

    async def interrupt(self, reason: str) -> None:
        """The process is going away: the session stays rejoinable after a restart."""
        for participant in list(self.participants.values()):
            await participant.send({"type": "ended", "reason": reason, "state": "interrupted"})
            if participant.hangup is not None:
                await participant.hangup()
        for participant in list(self.participants.values()):
            await self.depart(participant, reason)
        await self.close(reason, state="interrupted")

    async def _close_peer(self, participant: Participant) -> None:
        for track in participant.outgoing:
            track.stop()
        participant.outgoing.clear()
        pc, participant.pc = participant.pc, None
        if pc is None:
            return
        for hub in (self.video, self.mic, self.voice, self.discard):
            hub.detach(owner=pc)
        await pc.close()

    async def _camera_ended(self) -> None:
        self.recorder.cut("camera track ended")

    # --- media ---------------------------------------------------------------------------

    async def negotiate(self, participant: Participant, sdp: str) -> dict[str, Any]:
        offer = validate_offer(sdp, self.settings.live_max_sdp_bytes)
        await self._close_peer(participant)  # a new offer replaces the previous connection
        pc = new_peer(self.settings)
        participant.pc = pc
        queue = self.settings.live_queue_packets

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and participant.pc is pc:
                await self.depart(participant, f"connection {pc.connectionState}")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
            if participant.role == APPLICANT:
                target = self.video if track.kind == "video" else self.mic
            else:
                target = self.voice if track.kind == "audio" else self.discard
            target.attach(track, receiver, owner=pc)  # read from the first packet on

        if participant.role == APPLICANT:
            pc.addTransceiver("video", direction="recvonly").setCodecPreferences(
                video_preferences()
            )
            voice = HubTrack(self.voice, queue)
            participant.outgoing.append(voice)
            pc.addTransceiver(voice, direction="sendrecv")
        else:
            camera = HubTrack(self.video, queue)
            mic = HubTrack(self.mic, queue)
            participant.outgoing += [camera, mic]
            video_tx = pc.addTransceiver(camera, direction="sendonly")
            video_tx.setCodecPreferences(video_preferences(self.video.codec))
            on_keyframe_request(video_tx.sender, lambda: self.video.request_keyframe("viewer"))
            pc.addTransceiver(mic, direction="sendrecv")
        try:
            await pc.setRemoteDescription(offer)
            mark_encoded(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # aiortc rejects unusable offers with assorted errors
            await self._close_peer(participant)
            raise InvalidInput(f"The offer cannot be answered: {exc}") from None
        participant.video_codec = answer_codec(pc, "video")
        audio_codec = answer_codec(pc, "audio", received=True)
        if participant.role == APPLICANT:
            self.applicant_audio_codec = audio_codec
        else:
            self.inspector_audio_codec = audio_codec
        self.recorder.lanes_changed()  # e.g. the inspector's voice: a track from the next segment
        if participant.role == APPLICANT:
            self.recorder.start()
            inspector = self.participants.get(INSPECTOR)
            if inspector and inspector.video_codec not in (None, participant.video_codec):
                await inspector.send({"type": "renegotiate", "codec": participant.video_codec})
        return {"type": "answer", "sdp": pc.localDescription.sdp}

    async def _store_segment(self, segment: Segment) -> None:
        meta = {
            "codec": segment.codec,
            "width": segment.width,
            "height": segment.height,
            "duration_s": segment.duration_ms / 1000,
            "frames": segment.frames,
            "audio_tracks": segment.audio_tracks,
            "audio_packets": segment.audio_packets,
            "voice_packets": segment.voice_packets,
            "segment": segment.index,
            "closed_because": segment.reason,
        }
        try:
            evidence = await ingest_file(
                self.rooms.db, self.rooms.storage, self.settings, pools=self.rooms.pools,
                case_id=self.case_id, checkpoint_id=None, path=segment.path,
                origin="recording", actor=SYSTEM_LIVE, live_session_id=self.live_id,
                video_offset_ms=segment.start_offset_ms, capture=meta,
            )  # fmt: skip
            await booking.counted(
                self.rooms.db, self.live_id, SYSTEM_LIVE, "live.recording_finalized",
                {"evidence": evidence.id, "sha256": evidence.sha256, **meta},
                segments=1, recording_ms=segment.duration_ms,
            )  # fmt: skip
        except Exception:
            log.exception(
                "live %s: segment %s kept at %s", self.live_id, segment.index, segment.path
            )
            return
        inspector = self.participants.get(INSPECTOR)
        if inspector is not None:
            await inspector.send({"type": "recording", "evidence_id": evidence.id, **meta})

    # --- messages ------------------------------------------------------------------------

    async def handle(self, participant: Participant, message: Message) -> dict[str, Any] | None:
        handler = getattr(self, f"on_{message.type}")
        reply = await handler(participant, message)
        if reply is not None and message.id is not None:
            reply["reply_to"] = message.id
        return reply

    async def on_offer(self, participant: Participant, message: Any) -> dict[str, Any]:
        return await self.negotiate(participant, message.sdp)

    async def on_ping(self, participant: Participant, message: Message) -> dict[str, Any]:
        return {"type": "pong"}

    async def on_leave(self, participant: Participant, message: Message) -> dict[str, Any]:
        await self.depart(participant, "left")
        return {"type": "left"}

    async def on_stats(self, participant: Participant, message: Any) -> dict[str, Any] | None:
        other = self.other(participant.role)
        if other is not None:
            await other.send({"type": "peer_stats", "role": participant.role, **message.stats})
        if participant.role == INSPECTOR:
            return {"type": "server_stats", **self.server_stats()}
        return None

    def server_stats(self) -> dict[str, Any]:
        video = self.video.stats
        return {
            "codec": self.video.codec,
            "frames_in": video.packets_in,
            "frames_out": video.packets_out,
            "keyframes_in": video.keyframes_in,
            "dropped": video.dropped,
            "keyframe_requests": video.keyframe_requests,
            "bytes_in": video.bytes_in,
            "recording_segments": len(self.recorder.segments),
        }

    async def on_capture(self, participant: Participant, message: Any) -> dict[str, Any]:
        return await self.rooms.capture_still(self, participant, message.checkpoint_id)

    async def on_end(self, participant: Participant, message: Message) -> None:
        await self.end("ended by the inspector", participant.actor)

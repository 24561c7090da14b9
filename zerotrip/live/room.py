"""One live session in memory: its participants and their peers, the hubs that relay the
applicant's camera and microphone and the inspector's voice, the recorder, and what each
signalling message does.

A room gets every collaborator through its constructor (aiortc style): the settings, the
database, the clock, the peer factory, the recording archive, the ingest function for stills,
the reactions other domains attach to its end, and the callback that tells its registry it closed.
Nothing reaches back through a parent or a registry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.actor import SYSTEM_LIVE, Actor
from zerotrip.kit.clock import Clock
from zerotrip.kit.reactions import Reactions
from zerotrip.live import booking
from zerotrip.live.dispatch import MessageTable
from zerotrip.live.guidance import Guidance
from zerotrip.live.hub import Hub, HubTrack
from zerotrip.live.interfaces import IngestFile
from zerotrip.live.models import LiveSession
from zerotrip.live.participant import Participant, Seats
from zerotrip.live.party import Party, audio_lines
from zerotrip.live.passthrough import mark_encoded, on_keyframe_request
from zerotrip.live.peers import (
    Peers,
    answer_codec,
    rebundle,
    validate_offer,
    video_preferences,
)
from zerotrip.live.recorder import AudioLane, Segment, SegmentRecorder
from zerotrip.live.recordings import RecordingArchive, segment_facts
from zerotrip.live.signalling import (
    APPLICANT,
    GUEST,
    INSPECTOR,
    ROLE_NAMES_ZH,
    Bare,
    Capture,
    Message,
    Offer,
    Stats,
)
from zerotrip.live.stepdown import StepDown, rules_of
from zerotrip.live.still_capture import StillCapture
from zerotrip.live.stills import StillGrabber
from zerotrip.problems import Conflict, InvalidInput

Reply = dict[str, Any]


@dataclass(frozen=True)
class RoomSession:
    """What a room knows of its session from the database when it opens."""

    live_id: int
    case_id: int
    premises: tuple[float | None, float | None]


class Room:
    def __init__(
        self,
        session: RoomSession,
        *,
        settings: Settings,
        db: Database,
        clock: Clock,
        peers: Peers,
        archive: RecordingArchive,
        ingest: IngestFile,
        reactions: Reactions,
        on_closed: Callable[[Room], Awaitable[None]],
        workdir: Path,
    ) -> None:
        self.live_id = live_id = session.live_id
        self.case_id = session.case_id
        self.settings = settings
        self.db = db
        self.clock = clock
        self.peers = peers
        self.archive = archive
        self.reactions = reactions
        self.on_closed = on_closed
        self.workdir = workdir
        self.video = Hub("video", f"{live_id}-camera")
        self.mic = Hub("audio", f"{live_id}-mic")
        self.voice = Hub("audio", f"{live_id}-voice")
        self.discard = Hub("video", f"{live_id}-discard")  # what nobody should send, still read
        self.guest_voice = Hub("audio", f"{live_id}-guest")  # the second party's voice
        self.seats = Seats()
        self.recorder = SegmentRecorder(
            workdir=workdir,
            segment_seconds=settings.live_segment_seconds,
            on_segment=self._store_segment,
            request_keyframe=lambda: self.video.request_keyframe("recording", force=True),
            audio_lanes=(
                AudioLane(APPLICANT, lambda: self.applicant_audio_codec or self.mic.codec),
                AudioLane(INSPECTOR, lambda: self.inspector_audio_codec or self.voice.codec),
                AudioLane(
                    GUEST, lambda: self.guest_audio_codec, title=lambda: self.party.guest_name
                ),
            ),
        )
        self.video.add_sink(self.recorder.write_video)
        self.mic.add_sink(self.recorder.audio_sink(APPLICANT))
        self.voice.add_sink(self.recorder.audio_sink(INSPECTOR))
        self.guest_voice.add_sink(self.recorder.audio_sink(GUEST))
        self.video.on_source_ended = self._camera_ended
        self.party = Party(
            live_id, seats=self.seats, db=db, video=self.video, mic=self.mic, voice=self.voice,
            guest_voice=self.guest_voice,
        )  # fmt: skip
        self.guidance = Guidance(
            live_id, session.case_id, session.premises, seats=self.seats, db=db, clock=clock,
            video_offset_ms=self.recorder.offset_ms,
            nonce_minutes=settings.evidence_nonce_minutes,
        )  # fmt: skip
        self.stills = StillGrabber(self.video, settings.live_still_timeout_ms / 1000)
        self.capture = StillCapture(
            live_id, session.case_id, grabber=self.stills, seats=self.seats, db=db,
            ingest=ingest, workdir=workdir, video_offset_ms=self.recorder.offset_ms,
            last_fix=lambda: self.guidance.last_fix,
        )  # fmt: skip
        self.stepdown = StepDown(
            live_id, seats=self.seats, db=db, video=self.video, audio=self.mic,
            rules=rules_of(settings), video_offset_ms=self.recorder.offset_ms,
        )  # fmt: skip
        self.messages = MessageTable(
            {
                "offer": self.on_offer,
                "stats": self.on_stats,
                "ping": self.on_ping,
                "leave": self.on_leave,
                "end": self.on_end,
                "capture": self.on_capture,
                "probe": self.stepdown.on_probe,
                "fix": self.guidance.on_fix,
                "capabilities": self.guidance.on_capabilities,
                "prompt": self.guidance.on_prompt,
                "prompt_shown": self.guidance.on_prompt_shown,
                "control": self.guidance.on_control,
                "control_result": self.guidance.on_control_result,
                "photo_request": self.guidance.on_photo_request,
                "photo_uploaded": self.guidance.on_photo_uploaded,
                "challenge": self.guidance.on_challenge,
                "challenge_result": self.guidance.on_challenge_result,
                "consent": self.guidance.on_consent,
                "pointer": self.guidance.on_pointer,
            }
        )
        self.applicant_audio_codec: str | None = None  # negotiated, before the first packet
        self.inspector_audio_codec: str | None = None  # ... None if the inspector sends none
        self.guest_audio_codec: str | None = None
        self.closed = False
        self._rejoin_timer: asyncio.Task[None] | None = None
        self._teardown: asyncio.Task[None] | None = None

    @property
    def still_latencies_ms(self) -> list[float]:
        return self.capture.latencies_ms

    # --- joining and leaving -------------------------------------------------------------

    def other(self, role: str) -> Participant | None:
        return self.seats.other(role)

    async def admit(self, participant: Participant) -> LiveSession:
        if participant.role == GUEST:
            await self.party.admit(participant)
            async with self.db.session() as session:
                return await booking.load(session, self.live_id)
        current = self.seats.get(participant.role)
        if current is not None and not current.gone:
            who = ROLE_NAMES_ZH.get(participant.role, participant.role)
            raise Conflict(
                f"The {participant.role} is already connected to this session elsewhere.",
                zh=f"{who}已在别处连入本次视频踏勘。",
                code="already-connected",
            )
        other = self.other(participant.role)
        live = await booking.joined(
            self.db, self.live_id, participant.actor, participant.role,
            other is not None, self.clock.now(),
        )  # fmt: skip
        self.seats.seat(participant)  # only once the join is recorded
        if self._rejoin_timer is not None and self.seats.both():
            self._rejoin_timer.cancel()
            self._rejoin_timer = None
        if other is not None:
            await other.send({"type": "peer", "role": participant.role, "present": True})
        if participant.role == INSPECTOR:
            await self.guidance.catch_up(participant)
        await self.stepdown.catch_up(participant)
        await self.party.tell_everyone(newcomer=participant)
        return live

    async def depart(self, participant: Participant, reason: str) -> None:
        """A participant left, its socket closed or its connection failed: clean up, keep the
        session open for a rejoin within the window."""
        if participant.gone:
            return
        participant.gone = True
        self.seats.unseat(participant)
        await self._close_peer(participant)
        if participant.role == GUEST:
            await self.party.departed(participant, reason, self.closed)
            return
        if participant.role == APPLICANT:
            self.recorder.cut(f"applicant {reason}")
        if self.closed:
            return
        window = timedelta(seconds=self.settings.live_rejoin_seconds)
        until = self.clock.now() + window
        other = self.other(participant.role)
        await booking.left(
            self.db, self.live_id, participant.actor, participant.role, reason,
            other is not None, until,
        )  # fmt: skip
        if other is not None:
            await other.send(
                {"type": "peer", "role": participant.role, "present": False,
                 "rejoin_until": until.isoformat()}
            )  # fmt: skip
        await self.party.tell_everyone()
        if not self.seats.either():
            # Nobody is connected: hold the room (and its recording timeline) for a while.
            if self._rejoin_timer is None or self._rejoin_timer.done():
                self._rejoin_timer = asyncio.create_task(self._expire(window.total_seconds()))

    async def _expire(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if not self.seats.either() and not self.closed:
            await self.end("nobody rejoined", SYSTEM_LIVE)

    async def end(self, reason: str, actor: Actor) -> None:
        await self.party.session_ending(reason)
        live = await booking.end(
            self.db, self.live_id, actor, reason, self.clock.now(), self.reactions
        )
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
            for participant in self.seats.everyone():
                await participant.send({"type": "ended", "reason": reason, "state": state})
                participant.gone = True
                await self._close_peer(participant)
                if participant.hangup is not None:
                    await participant.hangup()
            self.seats.clear()
            self.stepdown.close()
            self.stills.close()
            await self.recorder.finalize(reason)
        finally:
            for hub in (self.video, self.mic, self.voice, self.discard, self.guest_voice):
                hub.close()
            await self.on_closed(self)

    async def interrupt(self, reason: str) -> None:
        """The process is going away: the session stays rejoinable after a restart."""
        for participant in self.seats.everyone():
            await participant.send({"type": "ended", "reason": reason, "state": "interrupted"})
            if participant.hangup is not None:
                await participant.hangup()
        for participant in self.seats.everyone():
            await self.depart(participant, reason)
        await self.close(reason, state="interrupted")

    async def _close_peer(self, participant: Participant) -> None:
        for track in participant.outgoing:
            track.stop()
        participant.outgoing.clear()
        pc, participant.pc = participant.pc, None
        if pc is None:
            return
        for hub in (self.video, self.mic, self.voice, self.discard, self.guest_voice):
            hub.detach(owner=pc)
        await pc.close()

    async def _camera_ended(self) -> None:
        self.recorder.cut("camera track ended")

    # --- media ---------------------------------------------------------------------------

    async def negotiate(self, participant: Participant, sdp: str) -> Reply:
        offer = validate_offer(sdp, self.settings.live_max_sdp_bytes)
        if participant.role == APPLICANT and not self.guidance.consented:
            # Nothing of the phone is recorded before its recording notice was accepted.
            raise Conflict(
                "Accept the recording notice first.",
                zh="请先同意录像告知。",
                code="consent-required",
            )
        await self._close_peer(participant)  # a new offer replaces the previous connection
        pc = self.peers.new()
        participant.pc = pc
        queue = self.settings.live_queue_packets

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and participant.pc is pc:
                await self.depart(participant, f"connection {pc.connectionState}")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
            guest_target = self.party.inbound(participant.role, track.kind)
            if participant.role == GUEST:
                target = guest_target or self.discard
            elif participant.role == APPLICANT:
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
        elif participant.role == GUEST:
            self.party.guest_transceivers(participant, pc, queue)
        else:
            camera = HubTrack(self.video, queue)
            mic = HubTrack(self.mic, queue)
            participant.outgoing += [camera, mic]
            video_tx = pc.addTransceiver(camera, direction="sendonly")
            video_tx.setCodecPreferences(video_preferences(self.video.codec))
            on_keyframe_request(video_tx.sender, lambda: self.video.request_keyframe("viewer"))
            pc.addTransceiver(mic, direction="sendrecv")
        if audio_lines(sdp) > 1:  # a line for the voice of the third party (or to it)
            self.party.extra_voice(participant, pc, queue)
        try:
            await pc.setRemoteDescription(offer)
            rebundle(pc, sdp)
            mark_encoded(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # aiortc rejects unusable offers with assorted errors
            await self._close_peer(participant)
            raise InvalidInput(
                f"The offer cannot be answered: {exc}", zh=f"无法应答该 SDP 提议：{exc}"
            ) from None
        participant.video_codec = answer_codec(pc, "video")
        audio_codec = answer_codec(pc, "audio", received=True)
        if participant.role == APPLICANT:
            self.applicant_audio_codec = audio_codec
        elif participant.role == GUEST:
            self.guest_audio_codec = audio_codec
        else:
            self.inspector_audio_codec = audio_codec
        self.recorder.lanes_changed()  # e.g. the inspector's voice: a track from the next segment
        if participant.role == APPLICANT:
            self.recorder.start()
            self.stepdown.video_restarted()
            self.stepdown.start()
            inspector = self.seats.get(INSPECTOR)
            if inspector and inspector.video_codec not in (None, participant.video_codec):
                await inspector.send({"type": "renegotiate", "codec": participant.video_codec})
        return {"type": "answer", "sdp": pc.localDescription.sdp}

    async def _store_segment(self, segment: Segment) -> None:
        evidence = await self.archive.store(
            self.live_id, self.case_id, segment, self.guidance.last_fix
        )
        if evidence is not None:
            await self.seats.to_inspector(
                {"type": "recording", "evidence_id": evidence.id, **segment_facts(segment)}
            )

    # --- messages ------------------------------------------------------------------------

    async def handle(self, participant: Participant, message: Message) -> Reply | None:
        return await self.messages.dispatch(participant, message)

    async def on_offer(self, participant: Participant, message: Offer) -> Reply:
        return await self.negotiate(participant, message.sdp)

    async def on_ping(self, participant: Participant, message: Bare) -> Reply:
        return {"type": "pong"}

    async def on_leave(self, participant: Participant, message: Bare) -> Reply:
        await self.depart(participant, "left")
        return {"type": "left"}

    async def on_capture(self, participant: Participant, message: Capture) -> Reply:
        self.stepdown.ensure_video()
        return await self.capture.on_capture(participant, message)

    async def on_stats(self, participant: Participant, message: Stats) -> Reply | None:
        if participant.role == GUEST:
            return None  # the two sides' link figures are about their own connection
        if participant.role == APPLICANT:
            self.stepdown.on_phone_stats(message.stats)
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
            "recording": self.recorder.origin is not None and not self.closed,
            "link_mode": self.stepdown.mode,
        }

    async def on_end(self, participant: Participant, message: Bare) -> None:
        await self.end("ended by the inspector", participant.actor)

"""The live service: the one object the API calls for live sessions (booking, views,
cancelling, joining a room, stills) and that runs the process's rooms from start to stop.

Across processes, each running room has one owner (see :mod:`zerotrip.live.ownership`): the
session's routes answer only there, control from elsewhere reaches it through the control
channel, and each heartbeat also closes rooms whose session ended elsewhere and takes over
the recordings of processes that died."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from zerotrip.cases.models import Case
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.kit.clock import Clock
from zerotrip.kit.reactions import Reactions
from zerotrip.live import booking, passthrough, playback, references
from zerotrip.live.control import (
    ControlChannel,
    ControlMessage,
    PostgresControl,
    SingleProcessControl,
)
from zerotrip.live.guests import GuestDesk
from zerotrip.live.interfaces import IngestFile
from zerotrip.live.models import FINISHED, LiveSession
from zerotrip.live.ownership import Ownership, new_process_id
from zerotrip.live.participant import Participant
from zerotrip.live.peers import Peers, ice_servers
from zerotrip.live.recordings import RecordingArchive
from zerotrip.live.recovery import OrphanRecovery
from zerotrip.live.room import Room, RoomSession
from zerotrip.live.rooms import Rooms
from zerotrip.live.schemas import BookRequest, SessionView, Viewer
from zerotrip.live.summary import SessionSummary, session_summary
from zerotrip.media.interfaces import Storage
from zerotrip.problems import InvalidInput, NotFound

log = logging.getLogger("zerotrip.live")


_sessions = LiveSession.__table__.c  # type: ignore[attr-defined]
SESSION = sa.select(*_sessions).where(_sessions.id == sa.bindparam("live_id"))


class LiveService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        storage: Storage,
        *,
        ingest: IngestFile,
        reactions: Reactions,
        warm_up: Callable[[], None] = lambda: None,
    ) -> None:
        passthrough.install()
        self.settings = settings
        self.db = db
        self.clock = clock
        self.storage = storage
        self.ingest = ingest
        self.reactions = reactions
        self.warm_up = warm_up
        self.peers = Peers(settings)
        self.rooms = Rooms(settings.live_max_sessions)
        self.archive = RecordingArchive(db, ingest)
        self.guests = GuestDesk(settings, db, clock)
        self.ownership = Ownership(
            db, clock, process_id=new_process_id(), address=settings.live_advertise_address,
            heartbeat=timedelta(seconds=settings.live_heartbeat_seconds),
            expiry=timedelta(seconds=settings.live_owner_expiry_seconds),
        )  # fmt: skip
        self.control: ControlChannel = (
            SingleProcessControl() if settings.is_sqlite else PostgresControl(settings.database_url)
        )
        self.workroot = Path(settings.data_dir) / "live"
        self.workdir = self.workroot / self.ownership.process_id  # this process's recordings
        self.recovery = OrphanRecovery(self.workroot, self.workdir, self.archive, self.ownership)
        self._heartbeat: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[int] | None = None
        self._stopping = asyncio.Event()
        self._stopped = False

    # --- the process's life --------------------------------------------------------------

    async def start(self) -> None:
        """Register as a live process, listen for control, and beat (the first beat takes
        over what a crashed run left behind)."""
        await self.ownership.register()
        await self.control.start(self._on_control)
        self._heartbeat = asyncio.create_task(self._beat_forever())

    async def stop(self, reason: str) -> None:
        """Tell participants, finalize every recording, give up every claim. Idempotent.
        A beat or a sweep under way finishes first (a recovery hands its files over whole)."""
        self._stopping.set()
        for task in (self._heartbeat, self._sweep):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.rooms.close_all(reason)
        if not self._stopped:
            self._stopped = True
            await self.control.stop()
            await self.ownership.retire()

    async def _beat_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.beat()
            except Exception:
                log.exception("live: heartbeat failed")
            if self._sweep is None or self._sweep.done():  # never delays the next beat
                self._sweep = asyncio.create_task(self._sweep_logged())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.live_heartbeat_seconds)

    async def beat(self) -> None:
        """One heartbeat: prove this process alive, keep the control listener up, close rooms
        whose session ended (or moved) elsewhere. Each beat also starts a sweep that takes
        over dead processes' recordings, unless the last one is still running."""
        await self.ownership.beat()
        await self.control.check()
        await self._close_stale_rooms()

    async def recover_orphans(self) -> int:
        return await self.recovery.sweep()

    async def _sweep_logged(self) -> int:
        try:
            return await self.recover_orphans()
        except Exception:
            log.exception("live: recovery sweep failed")
            return 0

    async def _close_stale_rooms(self) -> None:
        """A missed notification must not leave a room relaying a session that has ended."""
        running = list(self.rooms)
        for live_id, (owner, state) in (await self.ownership.owners_of(running)).items():
            room = self.rooms.get(live_id)
            if room is None or room.closed:
                continue
            if state in FINISHED:
                await room.close("ended elsewhere", state=state)
            elif owner != self.ownership.process_id:
                await room.close("taken over by another server", state="interrupted")

    async def _on_control(self, message: ControlMessage) -> None:
        room = self.rooms.get(message.live_id)
        if room is not None and not room.closed and message.action == "end":
            await room.end(message.reason, message.actor)

    # --- booking and views ---------------------------------------------------------------

    async def book(
        self, case_id: int, actor: Actor, staff_id: int | None, request: BookRequest
    ) -> SessionView:
        if request.slot_start.tzinfo is None or request.slot_end.tzinfo is None:
            raise InvalidInput(
                "Give the slot times with a time zone offset.", zh="时段须带时区（如 +08:00）。"
            )
        live = await booking.book(
            self.db, case_id, actor, staff_id, request.slot_start, request.slot_end,
            request.note, self.clock.now(), self.reactions,
        )  # fmt: skip
        return self.view(live)

    async def sessions_of_case(self, case_id: int, viewer: Viewer) -> list[SessionView]:
        if not viewer.may_see(case_id):
            raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
        async with self.db.session() as session:
            sessions = await booking.of_case(session, case_id)
        return [self.view(live) for live in sessions]

    async def session(self, live_id: int, viewer: Viewer) -> SessionView:
        """The live console's view, polled while a session runs: the session and whether
        another process runs its room, read in one hop (compiled statements, no ORM)."""
        lives, elsewhere = await self.db.reads.fetch(
            (SESSION, {"live_id": live_id}), self.ownership.elsewhere(live_id)
        )
        if not lives or not viewer.may_see(lives[0].case_id):
            raise NotFound(f"No live session {live_id}.", zh=f"没有编号为 {live_id} 的视频踏勘。")
        self.ownership.refuse_elsewhere(live_id, elsewhere)
        return self.view(lives[0])

    def view(self, live: LiveSession) -> SessionView:
        room = self.rooms.get(live.id or 0)
        connected = room.seats.roles() if room is not None else []
        return SessionView.of(live, connected, ice_servers(self.settings))

    async def _visible(self, live_id: int, viewer: Viewer) -> LiveSession:
        async with self.db.session() as session:
            live = await booking.load(session, live_id)
        if not viewer.may_see(live.case_id):
            raise NotFound(f"No live session {live_id}.", zh=f"没有编号为 {live_id} 的视频踏勘。")
        return live

    async def summary(self, live_id: int, viewer: Viewer) -> SessionSummary:
        """What the session came to (read from the database: any process answers)."""
        await self._visible(live_id, viewer)
        return await session_summary(self.db, live_id, viewer.staff)

    async def recording(self, live_id: int, viewer: Viewer) -> playback.RecordingView:
        """The session's recording on one timeline with its chapter marks (staff only)."""
        await self._visible(live_id, viewer)
        return await playback.recording_view(self.db, live_id)

    async def recording_file(
        self, live_id: int, evidence_id: int, viewer: Viewer
    ) -> tuple[str, str, str]:
        """Storage key, media type and file name of one segment of the session's recording."""
        await self._visible(live_id, viewer)
        return await playback.segment_file(self.db, live_id, evidence_id)

    async def still(self, live_id: int, evidence_id: int, viewer: Viewer) -> bytes:
        await self._visible(live_id, viewer)
        await self.ownership.ensure_here(live_id)
        evidence = await references.session_still(self.db, live_id, evidence_id, viewer.staff)
        return await self.storage.read_bytes(evidence.blob_key)

    # --- control -------------------------------------------------------------------------

    async def cancel(self, live_id: int, actor: Actor, viewer: Viewer) -> SessionView:
        """Cancel a booked session or end a running one (its room closes, wherever it runs:
        here directly, elsewhere through the control channel: see
        :func:`zerotrip.live.control.announce_end`)."""
        await self._visible(live_id, viewer)
        reason = "cancelled by the office"
        room = self.rooms.get(live_id)
        if room is not None:
            await room.end(reason, actor)
        else:
            await booking.end(self.db, live_id, actor, reason, self.clock.now(), self.reactions)
        async with self.db.session() as session:
            return self.view(await booking.load(session, live_id))

    # --- joining -------------------------------------------------------------------------

    async def join(
        self, live_id: int, viewer: Viewer, participant: Participant
    ) -> tuple[Room, SessionView]:
        """Open (or find) the session's room and admit the participant to it; the first
        process to open it becomes its owner, another refuses (421, retry)."""
        return await self._enter(await self._visible(live_id, viewer), participant)

    async def join_guest(self, live_id: int, participant: Participant) -> tuple[Room, SessionView]:
        """An invited guest (its key was checked for this session): admitted like staff."""
        async with self.db.session() as session:
            live = await booking.load(session, live_id)
        return await self._enter(live, participant)

    async def _enter(self, live: LiveSession, participant: Participant) -> tuple[Room, SessionView]:
        live_id = live.id or 0
        booking.ensure_joinable(
            live, self.clock.now(), timedelta(minutes=self.settings.live_join_early_minutes)
        )
        room = await self.rooms.open(live_id, lambda: self._build_room(live_id))
        return room, self.view(await room.admit(participant))

    async def _build_room(self, live_id: int) -> Room:
        async with self.db.session() as session:
            live = await booking.load(session, live_id)
            case = await session.get(Case, live.case_id)
        assert case is not None
        await self.ownership.claim(live_id)
        self.warm_up()  # no analysis start-up wait at the first still or segment
        return Room(
            RoomSession(live_id, live.case_id, (case.premises_lat, case.premises_lon)),
            settings=self.settings,
            db=self.db,
            clock=self.clock,
            peers=self.peers,
            archive=self.archive,
            ingest=self.ingest,
            reactions=self.reactions,
            on_closed=self._room_closed,
            workdir=self.workdir / str(live_id),
        )

    async def let_go_of_guest(self, live_id: int, invitation_id: int) -> None:
        """The guest who came by a revoked invitation leaves the room at once."""
        room = self.rooms.get(live_id)
        guest = room.party.guest() if room is not None else None
        if room is None or guest is None or guest.invitation_id != invitation_id:
            return
        await guest.send({"type": "ended", "reason": "invitation revoked", "state": "revoked"})
        await room.depart(guest, "invitation revoked")
        if guest.hangup is not None:
            await guest.hangup()

    async def _room_closed(self, room: Room) -> None:
        """Give up the claim first: a room gone from the registry is no longer owned here."""
        try:
            await self.ownership.release(room.live_id)
        finally:
            self.rooms.forget(room)
            self.guests.forget(room.live_id)  # invitations end with their session

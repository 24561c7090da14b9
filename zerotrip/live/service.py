"""The live service: the one object the API calls for live sessions (booking, views,
cancelling, joining a room, stills) and that runs the process's rooms from start to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from zerotrip.cases.audit import Actor
from zerotrip.cases.models import Case
from zerotrip.clock import Clock
from zerotrip.config import Settings
from zerotrip.db import Database
from zerotrip.live import booking, passthrough, references
from zerotrip.live.interfaces import IngestFile, SessionBooked, SessionEnded
from zerotrip.live.models import LiveSession
from zerotrip.live.participant import Participant
from zerotrip.live.peers import Peers, ice_servers
from zerotrip.live.recordings import RecordingArchive
from zerotrip.live.recovery import recover_orphans
from zerotrip.live.room import Room, RoomSession
from zerotrip.live.rooms import Rooms
from zerotrip.live.schemas import BookRequest, SessionView, Viewer
from zerotrip.media.interfaces import Storage
from zerotrip.problems import InvalidInput, NotFound


class LiveService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        storage: Storage,
        *,
        ingest: IngestFile,
        on_booked: SessionBooked,
        on_ended: SessionEnded,
        warm_up: Callable[[], None] = lambda: None,
    ) -> None:
        passthrough.install()
        self.settings = settings
        self.db = db
        self.clock = clock
        self.storage = storage
        self.ingest = ingest
        self.on_booked = on_booked
        self.on_ended = on_ended
        self.warm_up = warm_up
        self.peers = Peers(settings)
        self.rooms = Rooms(settings.live_max_sessions)
        self.archive = RecordingArchive(db, ingest)
        self.workroot = Path(settings.data_dir) / "live"
        self._recovery: asyncio.Task[int] | None = None

    # --- the process's life --------------------------------------------------------------

    async def start(self) -> None:
        """Take over what a crashed run left behind, in the background."""
        self._recovery = asyncio.create_task(self.recover_orphans())

    async def stop(self, reason: str) -> None:
        """Tell participants, finalize every recording (a recovery under way finishes its
        hand-over first)."""
        if self._recovery is not None:
            with contextlib.suppress(Exception):
                await self._recovery
        await self.rooms.close_all(reason)

    async def recover_orphans(self) -> int:
        return await recover_orphans(self.workroot, self.archive, self.rooms)

    # --- booking and views ---------------------------------------------------------------

    async def book(
        self, case_id: int, actor: Actor, staff_id: int | None, request: BookRequest
    ) -> SessionView:
        if request.slot_start.tzinfo is None or request.slot_end.tzinfo is None:
            raise InvalidInput("Give the slot times with a time zone offset.")
        live = await booking.book(
            self.db, case_id, actor, staff_id, request.slot_start, request.slot_end,
            request.note, self.clock.now(), on_booked=self.on_booked,
        )  # fmt: skip
        return self.view(live)

    async def sessions_of_case(self, case_id: int, viewer: Viewer) -> list[SessionView]:
        if not viewer.may_see(case_id):
            raise NotFound(f"No case {case_id}.")
        async with self.db.session() as session:
            sessions = await booking.of_case(session, case_id)
        return [self.view(live) for live in sessions]

    async def session(self, live_id: int, viewer: Viewer) -> SessionView:
        return self.view(await self._visible(live_id, viewer))

    def view(self, live: LiveSession) -> SessionView:
        room = self.rooms.get(live.id or 0)
        connected = room.seats.roles() if room is not None else []
        return SessionView.of(live, connected, ice_servers(self.settings))

    async def _visible(self, live_id: int, viewer: Viewer) -> LiveSession:
        async with self.db.session() as session:
            live = await booking.load(session, live_id)
        if not viewer.may_see(live.case_id):
            raise NotFound(f"No live session {live_id}.")
        return live

    async def still(self, live_id: int, evidence_id: int, viewer: Viewer) -> bytes:
        await self._visible(live_id, viewer)
        evidence = await references.session_still(self.db, live_id, evidence_id, viewer.staff)
        return await self.storage.read_bytes(evidence.blob_key)

    # --- control -------------------------------------------------------------------------

    async def cancel(self, live_id: int, actor: Actor, viewer: Viewer) -> SessionView:
        """Cancel a booked session or end a running one (its room closes, wherever it runs)."""
        await self._visible(live_id, viewer)
        reason = "cancelled by the office"
        room = self.rooms.get(live_id)
        if room is not None:
            await room.end(reason, actor)
        else:
            await booking.end(
                self.db, live_id, actor, reason, self.clock.now(), on_ended=self.on_ended
            )
        async with self.db.session() as session:
            return self.view(await booking.load(session, live_id))

    # --- joining -------------------------------------------------------------------------

    async def join(
        self, live_id: int, viewer: Viewer, participant: Participant
    ) -> tuple[Room, SessionView]:
        """Open (or find) the session's room and admit the participant to it."""
        live = await self._visible(live_id, viewer)
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
        self.warm_up()  # no analysis start-up wait at the first still or segment
        return Room(
            RoomSession(live_id, live.case_id, (case.premises_lat, case.premises_lon)),
            settings=self.settings,
            db=self.db,
            clock=self.clock,
            peers=self.peers,
            archive=self.archive,
            ingest=self.ingest,
            on_ended=self.on_ended,
            on_closed=self.rooms.forget,
            workdir=self.workroot / str(live_id),
        )

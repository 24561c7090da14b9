"""What the live domain is given by the composition root: how a file becomes evidence, and
the reactions other domains attach to booking and ending a session (e.g. the applicant's
notification and the withdrawal of its reminder). The live domain imports neither."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import Actor
from zerotrip.cases.models import Case
from zerotrip.live.models import LiveSession
from zerotrip.media.models import Evidence


class IngestFile(Protocol):
    """Store, analyse and record one file as evidence of a case (the media pipeline)."""

    async def __call__(
        self,
        *,
        case_id: int,
        checkpoint_id: int | None,
        path: Path,
        origin: str,
        actor: Actor,
        capture: dict[str, Any] | None = None,
        live_session_id: int | None = None,
        video_offset_ms: int | None = None,
        restricted: bool = False,
    ) -> Evidence: ...


class SessionBooked(Protocol):
    """Runs in the booking's transaction."""

    async def __call__(self, session: AsyncSession, case: Case, live: LiveSession) -> None: ...


class SessionEnded(Protocol):
    """Runs in the transaction that ends or cancels the session."""

    async def __call__(self, session: AsyncSession, live: LiveSession) -> None: ...

"""What the live domain is given by the composition root: how a file becomes evidence (the
media pipeline, with the process's analysis pools bound in)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from zerotrip.kit.actor import Actor
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
        analysis: dict[str, Any] | None = None,
    ) -> Evidence: ...

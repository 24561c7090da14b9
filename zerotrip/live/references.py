"""What a live message names (a checkpoint, a photo) checked to belong to the session's case:
an id of another case looks absent."""

from __future__ import annotations

from zerotrip.cases.models import Checkpoint
from zerotrip.db import Database
from zerotrip.media.models import Evidence
from zerotrip.problems import NotFound


async def checkpoint_of_case(db: Database, case_id: int, checkpoint_id: int) -> Checkpoint:
    async with db.session() as session:
        checkpoint = await session.get(Checkpoint, checkpoint_id)
    if checkpoint is None or checkpoint.case_id != case_id:
        raise NotFound(
            f"No checkpoint {checkpoint_id} in this case.",
            zh=f"本办件没有编号为 {checkpoint_id} 的踏勘要点。",
        )
    return checkpoint


async def session_photo(
    db: Database, live_id: int, case_id: int, evidence_id: int, checkpoint_id: int
) -> Evidence:
    """A full-resolution photo the phone uploaded for this session and checkpoint."""
    async with db.session() as session:
        evidence = await session.get(Evidence, evidence_id)
    if evidence is None or evidence.case_id != case_id or evidence.checkpoint_id != checkpoint_id:
        raise NotFound(
            f"No evidence {evidence_id} for that checkpoint of this case.",
            zh=f"本办件的该踏勘要点下没有编号为 {evidence_id} 的证据。",
        )
    if evidence.source != "live_photo" or evidence.live_session_id != live_id:
        # Only a photo taken for this session goes to the console as its answer.
        raise NotFound(
            f"Evidence {evidence.id} is not a photo taken in this session.",
            zh=f"证据 {evidence.id} 不是本次视频踏勘中拍摄的照片。",
        )
    return evidence


async def session_still(db: Database, live_id: int, evidence_id: int, staff: bool) -> Evidence:
    """A still captured in this session; a restricted one only for staff."""
    async with db.session() as session:
        evidence = await session.get(Evidence, evidence_id)
    if (
        evidence is None
        or evidence.live_session_id != live_id
        or evidence.kind != "still"
        or (evidence.restricted and not staff)
    ):
        raise NotFound(
            f"No still {evidence_id} in this session.",
            zh=f"本次视频踏勘中没有编号为 {evidence_id} 的截图。",
        )
    return evidence

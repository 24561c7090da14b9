"""The rules an inspection's facts follow: the result the checkpoint verdicts imply, and which
rectification round new evidence belongs to."""

from __future__ import annotations

from collections.abc import Iterable

from zerotrip.cases.models import Case, CaseState, Checkpoint
from zerotrip.problems import Conflict

RESULT_ZH = {"pass": "通过", "fail": "不通过", "rectify": "限期整改"}
VERDICT_SEVERITY = {"pass": 0, "rectify": 1, "fail": 2}


def inspection_outcome(verdicts: Iterable[str | None]) -> str | None:
    """The result checkpoint verdicts imply (the worst: fail > rectify > pass); None if any is
    missing or there are none."""
    values = list(verdicts)
    if not values or any(v not in VERDICT_SEVERITY for v in values):
        return None
    return max(values, key=lambda v: VERDICT_SEVERITY[str(v)])


def evidence_round(case: Case, checkpoint: Checkpoint) -> int:
    """The rectification round new evidence for ``checkpoint`` belongs to.

    While the case is rectifying, only the checkpoints reopened by the ``rectify`` result (a
    later round, no verdict yet) take new evidence: the applicant re-submits for what failed.
    """
    if case.state == CaseState.rectifying and not (
        checkpoint.round > 1 and checkpoint.verdict is None
    ):
        raise Conflict(
            "During rectification only the checklist items that did not pass take new evidence.",
            zh=f"整改期间只需为未通过的项目重新提交照片，“{checkpoint.title_zh}”无需重拍。",
            checkpoint=checkpoint.code,
        )
    return checkpoint.round

"""The case's evidence list read in one hop (:mod:`zerotrip.reads`) instead of three ORM
sessions (the caller's identity access, the case and its evidence, the trust verdicts).

The rows are those :func:`zerotrip.review.intake.case_evidence_list` and
:func:`zerotrip.identity_check.service.may_see` give, read together in one snapshot; the views
built from them (:class:`~zerotrip.media.schemas.EvidenceView`) are the same, which
tests/review/test_evidence_reads.py checks on the same fixtures.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from zerotrip.cases.models import Case
from zerotrip.db import Database
from zerotrip.identity_check.access import Viewer
from zerotrip.identity_check.models import IdentityAccess
from zerotrip.media.models import Evidence, TrustVerdict
from zerotrip.problems import NotFound

_cases = Case.__table__.c  # type: ignore[attr-defined]
_evidence = Evidence.__table__  # type: ignore[attr-defined]
_verdicts = TrustVerdict.__table__  # type: ignore[attr-defined]
_grants = IdentityAccess.__table__.c  # type: ignore[attr-defined]

CASE = sa.select(_cases.id).where(_cases.id == sa.bindparam("case_id"))
EVIDENCE = (
    sa.select(*_evidence.c)
    .where(_evidence.c.case_id == sa.bindparam("case_id"))
    .order_by(_evidence.c.id)
)
VERDICTS = (
    sa.select(*_verdicts.c)
    .join_from(_verdicts, _evidence, _verdicts.c.evidence_id == _evidence.c.id)
    .where(_evidence.c.case_id == sa.bindparam("case_id"))
    .order_by(_verdicts.c.id)
)
GRANT = sa.select(_grants.user_id).where(_grants.user_id == sa.bindparam("user_id"))


async def case_evidence(
    db: Database, case_id: int, viewer: Viewer, roles: tuple[str, ...]
) -> list[tuple[Any, list[Any]]]:
    """The case's evidence, oldest first, each with its trust verdicts for staff (none for an
    applicant); identity evidence only for staff who may see it (their role is one of
    ``roles``, or they hold a personal grant). 404 when there is no such case."""
    params = {"case_id": case_id}
    queries: list[Any] = [(CASE, params), (EVIDENCE, params)]
    staff = viewer.is_staff
    if staff:
        queries.append((VERDICTS, params))
    asks_grant = staff and viewer.user_id is not None and viewer.role not in roles
    if asks_grant:
        queries.append((GRANT, {"user_id": viewer.user_id}))
    found = await db.reads.fetch(*queries)
    if not found[0]:
        raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
    if not staff or viewer.user_id is None:
        see_restricted = False
    else:
        see_restricted = bool(found[3]) if asks_grant else True
    rows = [e for e in found[1] if see_restricted or not e.restricted]
    verdicts: dict[int, list[Any]] = {e.id: [] for e in rows}
    if staff:
        for v in found[2]:
            if v.evidence_id in verdicts:
                verdicts[v.evidence_id].append(v)
    return [(e, verdicts.get(e.id, [])) for e in rows]

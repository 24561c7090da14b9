"""Which case a staff route's path is about, so that department scoping holds on every route
that reads or changes one case, whether the path names the case or something of it.

A member of departments sees only their departments' cases (see
:mod:`zerotrip.admin.departments`); another department's case answers exactly like a case that
does not exist (404), so its existence does not leak. Each path parameter that identifies a
case's record is listed here once with how to find its case; tests/security/test_case_scope.py
fails for a staff route whose parameter is neither listed nor declared unrelated to a case.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import web

from zerotrip.accounts.models import Role, StaffUser
from zerotrip.admin.departments import hidden_case_statement
from zerotrip.api.bodies import path_int
from zerotrip.api.keys import DB
from zerotrip.jobs.models import Job
from zerotrip.live.models import LiveSession
from zerotrip.mailing.models import CourierOrder
from zerotrip.media.models import Evidence
from zerotrip.problems import NotFound
from zerotrip.ratings.models import Rating
from zerotrip.review.certificate import normalise_code
from zerotrip.review.models import Certificate
from zerotrip.worklist.models import StaffTask


def _record(name: str, type_: Any = sa.Integer) -> Any:
    """The parameter's value, bound under a name of its own (a route may name two records, and
    their statements may be read as one)."""
    return sa.bindparam(f"record_{name}", type_=type_)


def _case_of(model: Any, name: str) -> Any:
    """The case of the record whose id is the parameter (NULL: no such record, or no case)."""
    table = model.__table__
    return sa.select(table.c.case_id).where(table.c.id == _record(name)).scalar_subquery()


def _certificate_case() -> Any:
    table = Certificate.__table__  # type: ignore[attr-defined]
    code = _record("certificate_code", sa.String)
    return sa.select(table.c.case_id).where(table.c.code == code).scalar_subquery()


# Path parameter -> what it names (en, zh), for the same 404 a missing record gets.
NAMES: dict[str, tuple[str, str]] = {
    "case_id": ("case", "办件"),
    "evidence_id": ("evidence", "证据"),
    "session_id": ("live session", "视频踏勘"),
    "order_id": ("courier order", "快递单"),
    "rating_id": ("rating", "评价"),
    "task_id": ("task", "待办"),
    "job_id": ("job", "任务"),
    "certificate_code": ("certificate", "证书"),
}

# Path parameter -> how to find the case it belongs to (an SQL expression of its value).
CASE_PARAMETERS: dict[str, Any] = {
    "case_id": _record("case_id"),
    "evidence_id": _case_of(Evidence, "evidence_id"),
    "session_id": _case_of(LiveSession, "session_id"),
    "order_id": _case_of(CourierOrder, "order_id"),
    "rating_id": _case_of(Rating, "rating_id"),
    "task_id": _case_of(StaffTask, "task_id"),
    "job_id": _case_of(Job, "job_id"),
    "certificate_code": _certificate_case(),
}
NUMERIC = frozenset(CASE_PARAMETERS) - {"certificate_code"}
# Per parameter, the one statement saying its case is another department's (compiled once by
# the database's hot read path: one hop, no ORM session).
HIDDEN = {name: hidden_case_statement(case) for name, case in CASE_PARAMETERS.items()}


async def refuse_other_departments(request: web.Request, user: StaffUser) -> None:
    """404 when a path parameter belongs to a case of a department ``user`` is not in."""
    wanted = [
        (name, request.match_info[name]) for name in CASE_PARAMETERS if name in request.match_info
    ]
    if not wanted or user.role == Role.admin or user.id is None:  # an administrator sees all
        return
    queries = []
    for name, raw in wanted:
        record: int | str = path_int(request, name) if name in NUMERIC else normalise_code(raw)
        queries.append((HIDDEN[name], {f"record_{name}": record, "user_id": user.id}))
    found = await request.app[DB].reads.fetch(*queries)
    for (name, raw), rows in zip(wanted, found, strict=True):
        if rows:
            raise absent(name, raw)


def absent(name: str, raw: str) -> NotFound:
    """The 404 of a record that is not there (or is another department's)."""
    en, zh = NAMES[name]
    return NotFound(f"No {en} {raw}.", zh=f"没有编号为 {raw} 的{zh}。")

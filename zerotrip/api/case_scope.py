"""Which case a staff route's path is about, so that department scoping holds on every route
that reads or changes one case, whether the path names the case or something of it.

A member of departments sees only their departments' cases (see
:mod:`zerotrip.admin.departments`); another department's case answers exactly like a case that
does not exist (404), so its existence does not leak. Each path parameter that identifies a
case's record is listed here once with how to find its case; tests/security/test_case_scope.py
fails for a staff route whose parameter is neither listed nor declared unrelated to a case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.models import Role, StaffUser
from zerotrip.admin.departments import case_hidden
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

CaseOf = Callable[[AsyncSession, str], Awaitable[int | None]]


def _by_id(column: object) -> CaseOf:
    """The case of the record whose id is the parameter (None: no such record, or no case)."""

    async def case_of(session: AsyncSession, raw: str) -> int | None:
        record_id = int(raw)
        found = (await session.exec(select(column).where(column.table.c.id == record_id))).first()  # type: ignore[attr-defined]
        return int(found) if found is not None else None

    return case_of


async def _case_itself(session: AsyncSession, raw: str) -> int | None:
    return int(raw)


async def _certificate_case(session: AsyncSession, raw: str) -> int | None:
    stmt = select(Certificate.case_id).where(Certificate.code == normalise_code(raw))
    found = (await session.exec(stmt)).first()
    return int(found) if found is not None else None


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

# Path parameter -> how to find the case it belongs to.
CASE_PARAMETERS: dict[str, CaseOf] = {
    "case_id": _case_itself,
    "evidence_id": _by_id(Evidence.case_id),
    "session_id": _by_id(LiveSession.case_id),
    "order_id": _by_id(CourierOrder.case_id),
    "rating_id": _by_id(Rating.case_id),
    "task_id": _by_id(StaffTask.case_id),
    "job_id": _by_id(Job.case_id),
    "certificate_code": _certificate_case,
}
NUMERIC = frozenset(CASE_PARAMETERS) - {"certificate_code"}


async def refuse_other_departments(request: web.Request, user: StaffUser) -> None:
    """404 when a path parameter belongs to a case of a department ``user`` is not in."""
    wanted = [
        (name, request.match_info[name]) for name in CASE_PARAMETERS if name in request.match_info
    ]
    if not wanted or user.role == Role.admin:  # an administrator sees every case
        return
    async with request.app[DB].session() as session:
        for name, raw in wanted:
            if name in NUMERIC:
                raw = str(path_int(request, name))
            case_id = await CASE_PARAMETERS[name](session, raw)
            if case_id is not None and await case_hidden(session, user, case_id):
                raise absent(name, raw)


def absent(name: str, raw: str) -> NotFound:
    """The 404 of a record that is not there (or is another department's)."""
    en, zh = NAMES[name]
    return NotFound(f"No {en} {raw}.", zh=f"没有编号为 {raw} 的{zh}。")

"""The case views' hot read paths: the same rows as :mod:`zerotrip.cases.store`, read with
compiled statements in one hop (:mod:`zerotrip.reads`) instead of ORM sessions.

The views built from these rows (:class:`~zerotrip.cases.schemas.CaseDetail`,
:class:`~zerotrip.cases.schemas.CaseSummary`) are the same objects the ORM path builds; the
tests compare both on the same fixtures. Writers keep the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.models import CLOCK_RUNNING, Case, CaseMaterial, Checkpoint, MaterialStatus
from zerotrip.cases.schemas import CaseFile
from zerotrip.cases.store import CaseFilter
from zerotrip.db import Database
from zerotrip.problems import NotFound

_cases = Case.__table__.c  # type: ignore[attr-defined]
_materials = CaseMaterial.__table__.c  # type: ignore[attr-defined]
_checkpoints = Checkpoint.__table__.c  # type: ignore[attr-defined]

CASE = sa.select(*_cases).where(_cases.id == sa.bindparam("case_id"))
MATERIALS = (
    sa.select(*_materials)
    .where(_materials.case_id == sa.bindparam("case_id"))
    .order_by(_materials.id)
)
CHECKPOINTS = (
    sa.select(*_checkpoints)
    .where(_checkpoints.case_id == sa.bindparam("case_id"))
    .order_by(_checkpoints.position)
)

SUMMARY_COLUMNS = (
    _cases.id,
    _cases.reference,
    _cases.matter_code,
    _cases.state,
    _cases.applicant_name,
    _cases.organisation,
    _cases.premises_address,
    _cases.submitted_at,
    _cases.updated_at,
    _cases.deadline,
    _cases.inspection_result,
)


async def case_file(db: Database, case_id: int) -> CaseFile:
    """The case, its materials and its checklist: three statements, one snapshot, one hop."""
    params = {"case_id": case_id}
    cases, materials, checkpoints = await db.reads.fetch(
        (CASE, params), (MATERIALS, params), (CHECKPOINTS, params)
    )
    if not cases:
        raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
    return CaseFile(cases[0], materials, checkpoints)


async def case_file_in(db: Database, session: Any, case_id: int) -> CaseFile:
    """The case file as the write transaction in ``session`` leaves it (after a step)."""
    params = {"case_id": case_id}
    cases, materials, checkpoints = await db.reads.fetch_in(
        session, (CASE, params), (MATERIALS, params), (CHECKPOINTS, params)
    )
    if not cases:
        raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
    return CaseFile(cases[0], materials, checkpoints)


def _list_statements(shape: tuple[bool, bool, str | None, bool, int]) -> tuple[Any, Any]:
    """The page and count statements of one filter shape, with every value a bound parameter
    (``hidden``: how many matters of other departments the viewer does not see)."""
    has_state, has_matter, due, has_query, hidden = shape
    conds: list[Any] = []
    if hidden:
        codes = [sa.bindparam(f"hidden_{i}", type_=sa.String) for i in range(hidden)]
        conds.append(_cases.matter_code.not_in(codes))
    if has_state:
        conds.append(_cases.state == sa.bindparam("state"))
    if has_matter:
        conds.append(_cases.matter_code == sa.bindparam("matter"))
    running = sa.or_(
        *(_cases.state == sa.bindparam(f"running_{s.value}", s.value) for s in CLOCK_RUNNING)
    )
    if due == "overdue":
        conds += [running, _cases.deadline < sa.bindparam("today", type_=sa.Date)]
    elif due == "soon":
        conds += [
            running,
            _cases.deadline >= sa.bindparam("today", type_=sa.Date),
            _cases.deadline <= sa.bindparam("horizon", type_=sa.Date),
        ]
    if has_query:
        like = sa.bindparam("like", type_=sa.String)
        conds.append(
            sa.or_(
                _cases.reference.ilike(like),
                _cases.applicant_name.ilike(like),
                _cases.organisation.ilike(like),
                _cases.premises_address.ilike(like),
            )
        )
    where = sa.and_(sa.true(), *conds)
    order = (
        (_cases.deadline.asc(), _cases.id.asc())
        if due
        else (_cases.updated_at.desc(), _cases.id.desc())
    )
    # an outstanding (容缺) material past its due date: flagged on the staff list
    overdue = (
        sa.exists()
        .where(
            _materials.case_id == _cases.id,
            _materials.status == sa.bindparam("outstanding", MaterialStatus.outstanding.value),
            _materials.due_date < sa.bindparam("materials_today", type_=sa.Date),
        )
        .label("materials_overdue")
    )
    page = (
        sa.select(*SUMMARY_COLUMNS, overdue)
        .where(where)
        .order_by(*order)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
    )
    count = sa.select(sa.func.count().label("total")).select_from(Case.__table__).where(where)
    return page, count


async def case_page(
    db: Database, flt: CaseFilter, *, today: date, calendar: WorkingCalendar, soon_days: int
) -> tuple[int, Sequence[Any]]:
    """One page of cases and the total matching, as :func:`zerotrip.cases.store.list_cases`."""
    hidden = sorted(flt.hidden_matters)
    shape = (bool(flt.state), bool(flt.matter_code), flt.due, bool(flt.query), len(hidden))
    page, count = db.reads.shaped(("cases.page", shape), lambda: _list_statements(shape))
    params: dict[str, Any] = {"limit": flt.limit, "offset": flt.offset, "materials_today": today}
    params.update({f"hidden_{i}": code for i, code in enumerate(hidden)})
    if flt.state:
        params["state"] = flt.state
    if flt.matter_code:
        params["matter"] = flt.matter_code
    if flt.due:
        params["today"] = today
        if flt.due == "soon":
            params["horizon"] = calendar.add_working_days(today, soon_days)
    if flt.query:
        params["like"] = f"%{flt.query.replace('%', '').replace('_', '')}%"
    rows, total = await db.reads.fetch((page, params), (count, params))
    return int(total[0].total), rows

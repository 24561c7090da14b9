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

from zerotrip.cases.cursor import Cursor
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.models import CLOCK_RUNNING, Case, CaseMaterial, Checkpoint, MaterialStatus
from zerotrip.cases.schemas import CaseFile
from zerotrip.cases.search import CaseSearch, CaseSearchGram, normalise, query_grams
from zerotrip.cases.store import CaseFilter
from zerotrip.db import Database
from zerotrip.problems import NotFound

_cases = Case.__table__.c  # type: ignore[attr-defined]
_materials = CaseMaterial.__table__.c  # type: ignore[attr-defined]
_checkpoints = Checkpoint.__table__.c  # type: ignore[attr-defined]
_search = CaseSearch.__table__.c  # type: ignore[attr-defined]
_grams = CaseSearchGram.__table__.c  # type: ignore[attr-defined]

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


def _list_statement(shape: tuple[bool, bool, str | None, int, int, bool, str]) -> Any:
    """The page statement of one filter shape, with every value a bound parameter
    (``hidden``: how many matters of other departments the viewer does not see; ``grams``: how
    many grams of the search text; ``after``: a cursor continues an earlier page)."""
    has_state, has_matter, due, grams, hidden, after, dialect = shape
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
    if grams:
        # Cases holding every gram of the text (index ranges on case_search_grams), then the
        # exact substring test on their normalised text.
        g = _grams
        having = (
            sa.select(g.case_id)
            .where(sa.or_(*(g.gram == sa.bindparam(f"gram_{i}") for i in range(grams))))
            .group_by(g.case_id)
            .having(sa.func.count() == sa.bindparam("grams", grams))
        )
        find = sa.func.instr if dialect == "sqlite" else sa.func.strpos
        text = (
            sa.select(_search.case_id)
            .where(_search.case_id == _cases.id, find(_search.body, sa.bindparam("text")) > 0)
            .exists()
        )
        conds += [_cases.id.in_(having), text]
    if due:
        key, later = _cases.deadline, lambda a, b: a > b
        order = (_cases.deadline.asc(), _cases.id.asc())
    else:
        key, later = _cases.updated_at, lambda a, b: a < b
        order = (_cases.updated_at.desc(), _cases.id.desc())
    if after:
        type_ = sa.Date if due else key.type
        conds.append(
            later(
                sa.tuple_(key, _cases.id),
                sa.tuple_(
                    sa.bindparam("after_key", type_=type_),
                    sa.bindparam("after_id", type_=sa.Integer),
                ),
            )
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
    return (
        sa.select(*SUMMARY_COLUMNS, overdue)
        .where(sa.and_(sa.true(), *conds))
        .order_by(*order)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


async def case_page(
    db: Database,
    flt: CaseFilter,
    *,
    today: date,
    calendar: WorkingCalendar,
    soon_days: int,
    after: str | None = None,
) -> tuple[Sequence[Any], str | None]:
    """One page of cases in the list's order (newest change first; by deadline when filtering
    on it) and the cursor of the next page (None: this is the last). ``after`` is the cursor
    an earlier page gave; a bad one is a 422 problem. ``flt.offset`` is not used."""
    order = "deadline" if flt.due else "updated"
    secret = db.settings.secret_key
    cursor = Cursor.decode(after, secret, order) if after else None
    hidden = sorted(flt.hidden_matters)
    text = normalise(flt.query or "")
    grams = query_grams(text)
    dialect = db.reads.dialect_name
    shape = (
        bool(flt.state),
        bool(flt.matter_code),
        flt.due,
        len(grams),
        len(hidden),
        cursor is not None,
        dialect,
    )
    page = db.reads.shaped(("cases.page", shape), lambda: _list_statement(shape))
    params: dict[str, Any] = {"limit": flt.limit + 1, "materials_today": today}
    params.update({f"hidden_{i}": code for i, code in enumerate(hidden)})
    if flt.state:
        params["state"] = flt.state
    if flt.matter_code:
        params["matter"] = flt.matter_code
    if flt.due:
        params["today"] = today
        if flt.due == "soon":
            params["horizon"] = calendar.add_working_days(today, soon_days)
    if grams:
        params.update({f"gram_{i}": gram for i, gram in enumerate(grams)})
        params["text"] = text
    if cursor is not None:
        params["after_key"], params["after_id"] = cursor.key, cursor.id
    (rows,) = await db.reads.fetch((page, params), scan=True)
    if len(rows) <= flt.limit:
        return rows, None
    rows = rows[: flt.limit]
    last = rows[-1]
    key = last.deadline if flt.due else last.updated_at
    return rows, Cursor(order, key, last.id).encode(secret)

"""Creating, loading and listing cases."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.audit import append_event
from zerotrip.cases.catalogue import Catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.geo import Datum, to_wgs84
from zerotrip.cases.models import (
    CLOCK_RUNNING,
    Case,
    CaseMaterial,
    CaseState,
    Checkpoint,
)
from zerotrip.cases.versions import current_matter
from zerotrip.db import session_now
from zerotrip.kit.actor import Actor
from zerotrip.problems import InvalidInput, NotFound


class Application(BaseModel):
    """What an applicant (or a clerk on their behalf) submits."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    matter_code: str = Field(min_length=1, max_length=64)
    applicant_name: str = Field(min_length=1, max_length=200)
    applicant_phone: str = Field(default="", max_length=40, pattern=r"^[0-9+\- ()]*$")
    applicant_email: EmailStr | None = None
    organisation: str = Field(default="", max_length=200)
    premises_address: str = Field(min_length=1, max_length=500)
    premises_lat: float | None = Field(default=None, ge=-90, le=90)
    premises_lon: float | None = Field(default=None, ge=-180, le=180)
    # The datum the coordinates are in (a phone gives WGS-84, AMap/Tencent GCJ-02, Baidu BD-09)
    # and, for a phone's position, its 95 % accuracy radius; stored converted to WGS-84.
    premises_datum: Datum = Datum.wgs84
    premises_accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    premises_source: Literal["typed", "device", "map_link"] | None = None
    # The language the applicant's messages are written in (default: the applicant's browser
    # when they apply themselves, Chinese when a clerk files for them).
    language: Literal["zh", "en"] | None = None


def _premises_position(
    application: Application,
) -> tuple[float | None, float | None, dict[str, Any] | None]:
    """The premises in WGS-84 and what the applicant gave. A position is converted only when
    both coordinates are given; a lone coordinate is kept as it came (it locates nothing)."""
    lat, lon = application.premises_lat, application.premises_lon
    if lat is None or lon is None:
        return lat, lon, None
    given: dict[str, Any] = {"lat": lat, "lon": lon, "datum": application.premises_datum.value}
    if application.premises_accuracy_m is not None:
        given["accuracy_m"] = application.premises_accuracy_m
    if application.premises_source:
        given["source"] = application.premises_source
    w_lat, w_lon = to_wgs84(lat, lon, application.premises_datum)
    return round(w_lat, 7), round(w_lon, 7), given


def new_reference(now: datetime) -> str:
    return f"ZT{now:%y%m%d}-{secrets.token_hex(3).upper()}"


async def create_case(
    session: AsyncSession,
    catalogue: Catalogue,
    application: Application,
    actor: Actor,
    *,
    submitted_by: int | None = None,
) -> Case:
    matter = catalogue.get(application.matter_code)
    if matter is None:
        raise InvalidInput(
            f"Unknown matter {application.matter_code!r}.",
            zh=f"没有事项 {application.matter_code}。",
            errors=[{"field": "matter_code", "message": "unknown matter"}],
        )
    matter, version = await current_matter(session, matter)
    now = session_now(session)
    lat, lon, given = _premises_position(application)
    case = Case(
        reference=new_reference(now),
        matter_code=matter.code,
        matter_version=version,
        time_limit_working_days=matter.time_limit_working_days,
        state=CaseState.submitted,
        applicant_name=application.applicant_name,
        applicant_phone=application.applicant_phone,
        applicant_email=str(application.applicant_email or ""),
        organisation=application.organisation,
        premises_address=application.premises_address,
        premises_lat=lat,
        premises_lon=lon,
        premises_datum=application.premises_datum.value,
        premises_input=given,
        language=application.language or "zh",
        submitted_via="clerk" if submitted_by else "applicant",
        submitted_by=submitted_by,
        submitted_at=now,
        updated_at=now,
    )
    session.add(case)
    await session.flush()
    assert case.id is not None
    for item in matter.materials:
        session.add(CaseMaterial(case_id=case.id, **item.model_dump()))
    for position, cp in enumerate(matter.checklist):
        session.add(Checkpoint(case_id=case.id, position=position, **cp.model_dump()))
    append_event(
        session,
        case,
        actor,
        "case.submitted",
        {
            "reference": case.reference,
            "matter": matter.code,
            "catalogue_version": catalogue.version,
            "matter_version": version,
            "via": case.submitted_via,
            "applicant_name": case.applicant_name,
            "premises_address": case.premises_address,
            **({"premises_position": given} if given else {}),
        },
        at=now,
    )
    return case


async def get_case(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
    return case


async def case_with_materials(
    session: AsyncSession, case_id: int
) -> tuple[Case, list[CaseMaterial]]:
    """The case and its material list in one statement (the case view's hot path)."""
    stmt = (
        select(Case, CaseMaterial)
        .outerjoin(CaseMaterial, col(CaseMaterial.case_id) == Case.id)
        .where(Case.id == case_id)
        .order_by(col(CaseMaterial.id))
    )
    rows = (await session.exec(stmt)).all()
    if not rows:
        raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
    return rows[0][0], [m for _, m in rows if m is not None]


async def lock_case(session: AsyncSession, case_id: int) -> Case:
    """Load a case for change, holding its row lock until the transaction ends.

    On PostgreSQL this is ``SELECT ... FOR UPDATE``; on SQLite the write transaction already holds
    the database's single write lock (``BEGIN IMMEDIATE``).
    """
    stmt = select(Case).where(Case.id == case_id).with_for_update()
    case = (await session.exec(stmt)).first()
    if case is None:
        raise NotFound(f"No case {case_id}.", zh=f"没有编号为 {case_id} 的办件。")
    return case


async def materials_of(session: AsyncSession, case_id: int) -> list[CaseMaterial]:
    rows = await session.exec(
        select(CaseMaterial).where(CaseMaterial.case_id == case_id).order_by(CaseMaterial.id)
    )
    return list(rows.all())


async def checkpoints_of(session: AsyncSession, case_id: int) -> list[Checkpoint]:
    rows = await session.exec(
        select(Checkpoint).where(Checkpoint.case_id == case_id).order_by(Checkpoint.position)
    )
    return list(rows.all())


@dataclass(frozen=True)
class CaseFilter:
    state: str | None = None
    matter_code: str | None = None
    due: str | None = None  # overdue | soon
    query: str | None = None
    limit: int = 50
    offset: int = 0
    # Matters of departments the viewer is not in (see zerotrip.admin.departments).
    hidden_matters: frozenset[str] = frozenset()


def clock_status(case: Any, today: date, calendar: WorkingCalendar, soon_days: int) -> str:
    """``overdue``, ``due_soon``, ``on_time``, ``paused`` or ``none`` for a case row."""
    if case.state == CaseState.rectifying:
        return "paused"
    if case.deadline is None or case.state not in CLOCK_RUNNING:
        return "none"
    if case.deadline < today:
        return "overdue"
    if calendar.working_days_between(today, case.deadline) <= soon_days:
        return "due_soon"
    return "on_time"


async def list_cases(
    session: AsyncSession,
    flt: CaseFilter,
    *,
    today: date,
    calendar: WorkingCalendar,
    soon_days: int,
) -> tuple[int, Sequence[Any]]:
    """One page of cases (newest change first) and the total matching the filter."""
    cols = (
        Case.id,
        Case.reference,
        Case.matter_code,
        Case.state,
        Case.applicant_name,
        Case.organisation,
        Case.premises_address,
        Case.submitted_at,
        Case.updated_at,
        Case.deadline,
        Case.inspection_result,
    )
    conds: list[Any] = []
    if flt.state:
        conds.append(Case.state == flt.state)
    if flt.matter_code:
        conds.append(Case.matter_code == flt.matter_code)
    if flt.hidden_matters:
        conds.append(col(Case.matter_code).not_in(sorted(flt.hidden_matters)))
    running = [s.value for s in CLOCK_RUNNING]
    if flt.due == "overdue":
        conds += [col(Case.state).in_(running), col(Case.deadline) < today]
    elif flt.due == "soon":
        horizon = calendar.add_working_days(today, soon_days)
        conds += [
            col(Case.state).in_(running),
            col(Case.deadline) >= today,
            col(Case.deadline) <= horizon,
        ]
    if flt.query:
        like = f"%{flt.query.replace('%', '').replace('_', '')}%"
        conds.append(
            sa.or_(
                col(Case.reference).ilike(like),
                col(Case.applicant_name).ilike(like),
                col(Case.organisation).ilike(like),
                col(Case.premises_address).ilike(like),
            )
        )
    where = sa.and_(sa.true(), *conds)
    order = (
        (col(Case.deadline).asc(), col(Case.id).asc())
        if flt.due
        else (col(Case.updated_at).desc(), col(Case.id).desc())
    )
    stmt = sa.select(*cols).where(where).order_by(*order).limit(flt.limit).offset(flt.offset)
    rows = (await session.execute(stmt)).all()
    total = (
        await session.execute(sa.select(sa.func.count()).select_from(Case).where(where))
    ).scalar_one()
    return int(total), rows

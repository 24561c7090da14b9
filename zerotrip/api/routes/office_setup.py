"""Setting the office up: its profile (the name, address and phone couriers and documents use),
its working calendar and its matters catalogue, each change recorded in the administration trail."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from zerotrip.admin import calendar, matters, office
from zerotrip.admin.schemas import (
    CalendarDayBody,
    CalendarDayView,
    CalendarQuery,
    CalendarView,
    MatterConfigBody,
    MatterVersionBody,
    OfficeMatterList,
    OfficeMatterView,
    OfficeProfileBody,
    OfficeProfileView,
    PrefillBody,
    Prefilled,
)
from zerotrip.api.keys import CALENDAR, CATALOGUE, CLOCK, DB, SETTINGS
from zerotrip.api.principal import Principal
from zerotrip.api.routing import ACKNOWLEDGED, Acknowledged, RouteTable
from zerotrip.problems import InvalidInput

routes = RouteTable("admin")
DAY = {"day": {"type": "string", "format": "date"}}
CODE = {"code": {"type": "string"}}


def _matter(found: matters.OfficeMatter) -> OfficeMatterView:
    m = found.matter
    return OfficeMatterView(
        code=m.code,
        name_zh=m.name_zh,
        name_en=m.name_en,
        department_id=found.department_id,
        enabled=found.enabled,
        version=found.version,
        versions=found.versions,
        time_limit_working_days=m.time_limit_working_days,
        materials=list(m.materials),
        checklist=list(m.checklist),
    )


@routes.get(
    "/api/admin/office",
    summary="The office profile (the settings' values until one is saved)",
    audience="admin",
    response=OfficeProfileView,
    errors=(401, 403),
)
async def read_office(request: web.Request) -> OfficeProfileView:
    return OfficeProfileView(**await office.read_profile(request.app[DB], request.app[SETTINGS]))


@routes.put(
    "/api/admin/office",
    summary="Save the office profile: name, address and phone couriers and documents use",
    audience="admin",
    body=OfficeProfileBody,
    response=OfficeProfileView,
    errors=(400, 401, 403, 413, 422),
)
async def save_office(
    request: web.Request, *, principal: Principal, body: OfficeProfileBody
) -> OfficeProfileView:
    saved = await office.save_profile(
        request.app[DB], body.model_dump(), principal.staff_user, request.app[CLOCK].now()
    )
    return OfficeProfileView(**saved)


async def _calendar_view(request: web.Request, year: int) -> CalendarView:
    async with request.app[DB].session() as session:
        days = await calendar.saved_days(session, year)
    try:
        calendar.published_days(year)
        published = True
    except InvalidInput:
        published = False
    return CalendarView(
        year=year, days=[CalendarDayView.model_validate(d) for d in days], published=published
    )


@routes.get(
    "/api/admin/calendar",
    summary="The saved holidays and make-up working days (调休) of one year",
    audience="admin",
    query=CalendarQuery,
    response=CalendarView,
    errors=(401, 403, 422),
)
async def read_calendar(request: web.Request, *, query: CalendarQuery) -> CalendarView:
    return await _calendar_view(request, query.year)


async def _reload(request: web.Request) -> None:
    await calendar.refresh(request.app[DB], request.app[SETTINGS], request.app[CALENDAR])


@routes.post(
    "/api/admin/calendar/prefill",
    summary="Add the year's published holidays and make-up working days (chinesecalendar); "
    "days already saved are kept",
    audience="admin",
    body=PrefillBody,
    response=Prefilled,
    errors=(400, 401, 403, 413, 422),
)
async def prefill_calendar(
    request: web.Request, *, principal: Principal, body: PrefillBody
) -> Prefilled:
    added = await calendar.prefill(
        request.app[DB], body.year, principal.staff_user, request.app[CLOCK].now()
    )
    await _reload(request)
    return Prefilled(added=added)


def _day(request: web.Request) -> date:
    try:
        return date.fromisoformat(request.match_info["day"])
    except ValueError:
        raise InvalidInput("day: a date as YYYY-MM-DD.", zh="日期格式应为 YYYY-MM-DD。") from None


@routes.put(
    "/api/admin/calendar/{day}",
    summary="Make a day a holiday or a make-up working day",
    audience="admin",
    body=CalendarDayBody,
    response=CalendarDayView,
    path_schemas=DAY,
    errors=(400, 401, 403, 413, 422),
)
async def set_calendar_day(
    request: web.Request, *, principal: Principal, body: CalendarDayBody
) -> CalendarDayView:
    row = await calendar.set_day(
        request.app[DB],
        _day(request),
        body.kind,
        body.name,
        principal.staff_user,
        request.app[CLOCK].now(),
    )
    await _reload(request)
    return CalendarDayView.model_validate(row)


@routes.delete(
    "/api/admin/calendar/{day}",
    summary="Forget a saved day: it is again what its weekday says",
    audience="admin",
    response=Acknowledged,
    path_schemas=DAY,
    errors=(400, 401, 403),
)
async def clear_calendar_day(request: web.Request, *, principal: Principal) -> Acknowledged:
    await calendar.clear_day(
        request.app[DB], _day(request), principal.staff_user, request.app[CLOCK].now()
    )
    await _reload(request)
    return ACKNOWLEDGED


@routes.get(
    "/api/admin/matters",
    summary="The matters catalogue as the office runs it: department, offered, current version",
    audience="admin",
    response=OfficeMatterList,
    errors=(401, 403),
)
async def list_office_matters(request: web.Request) -> OfficeMatterList:
    found = await matters.office_matters(request.app[DB], request.app[CATALOGUE])
    return OfficeMatterList(items=[_matter(m) for m in found])


@routes.put(
    "/api/admin/matters/{code}",
    summary="Set a matter's department, or offer / withdraw it",
    audience="admin",
    body=MatterConfigBody,
    response=OfficeMatterView,
    path_schemas=CODE,
    errors=(400, 401, 403, 404, 413, 422),
)
async def configure_matter(
    request: web.Request, *, principal: Principal, body: MatterConfigBody
) -> OfficeMatterView:
    found = await matters.configure(
        request.app[DB],
        request.app[CATALOGUE],
        request.match_info["code"],
        body.model_dump(exclude_unset=True),
        principal.staff_user,
        request.app[CLOCK].now(),
    )
    return _matter(found)


@routes.post(
    "/api/admin/matters/{code}/versions",
    summary="Save an edited time limit, material list and checklist as the matter's next "
    "version (running cases keep theirs)",
    audience="admin",
    body=MatterVersionBody,
    response=OfficeMatterView,
    status=201,
    path_schemas=CODE,
    errors=(400, 401, 403, 404, 413, 422),
)
async def version_matter(
    request: web.Request, *, principal: Principal, body: MatterVersionBody
) -> OfficeMatterView:
    found = await matters.new_version(
        request.app[DB],
        request.app[CATALOGUE],
        request.match_info["code"],
        time_limit_working_days=body.time_limit_working_days,
        materials=body.materials,
        checklist=body.checklist,
        note=body.note,
        by=principal.staff_user,
        now=request.app[CLOCK].now(),
    )
    return _matter(found)

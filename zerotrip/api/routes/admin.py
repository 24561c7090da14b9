"""Administration: staff accounts and departments, and the administration trail that records
each change (the office profile, calendar and matters are in ``office_setup``)."""

from __future__ import annotations

from aiohttp import web

from zerotrip.admin import departments, events, staff
from zerotrip.admin.schemas import (
    AccountChangeBody,
    AccountList,
    AccountView,
    AdminEventList,
    AdminEventView,
    DepartmentChangeBody,
    DepartmentList,
    DepartmentView,
    NewAccountBody,
    NewDepartmentBody,
    PasswordReset,
)
from zerotrip.api.bodies import path_int
from zerotrip.api.keys import CLOCK, CREDENTIALS, DB
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable

routes = RouteTable("admin")


def _account(found: staff.Account) -> AccountView:
    u = found.user
    assert u.id is not None
    return AccountView(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=u.role,  # type: ignore[arg-type]
        active=u.active,
        must_change_password=u.must_change_password,
        departments=found.departments,
        created_at=u.created_at,
    )


@routes.get(
    "/api/admin/staff",
    summary="Staff accounts with their departments",
    audience="admin",
    response=AccountList,
    errors=(401, 403),
)
async def list_accounts(request: web.Request) -> AccountList:
    return AccountList(items=[_account(a) for a in await staff.accounts(request.app[DB])])


@routes.post(
    "/api/admin/staff",
    summary="Create a staff account; its first password must be changed at the first sign-in",
    audience="admin",
    body=NewAccountBody,
    response=AccountView,
    status=201,
    errors=(400, 401, 403, 409, 413, 422),
)
async def create_account(
    request: web.Request, *, principal: Principal, body: NewAccountBody
) -> AccountView:
    found = await staff.add_account(
        request.app[DB],
        body.username,
        body.display_name,
        body.role.value,
        body.password,
        body.departments,
        principal.staff_user,
        request.app[CLOCK].now(),
    )
    return _account(found)


@routes.put(
    "/api/admin/staff/{user_id}",
    summary="Change a staff account: name, role, departments, or disable / enable it "
    "(disabling ends its sessions and tokens)",
    audience="admin",
    body=AccountChangeBody,
    response=AccountView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def change_account(
    request: web.Request, *, principal: Principal, body: AccountChangeBody
) -> AccountView:
    changes = body.model_dump(exclude_none=True)
    if "role" in changes:
        changes["role"] = body.role.value if body.role else None
    found = await staff.change_account(
        request.app[DB],
        path_int(request, "user_id"),
        changes,
        principal.staff_user,
        request.app[CLOCK].now(),
    )
    request.app[CREDENTIALS].clear()
    return _account(found)


@routes.post(
    "/api/admin/staff/{user_id}/password-reset",
    summary="Reset a staff password: a one-time password, to be changed at the next sign-in; "
    "every session and token of the account ends",
    audience="admin",
    response=PasswordReset,
    errors=(401, 403, 404),
)
async def reset_password(request: web.Request, *, principal: Principal) -> PasswordReset:
    found, password = await staff.reset_password(
        request.app[DB],
        path_int(request, "user_id"),
        principal.staff_user,
        request.app[CLOCK].now(),
    )
    request.app[CREDENTIALS].clear()
    return PasswordReset(account=_account(found), password=password)


@routes.get(
    "/api/departments",
    summary="The departments of the service centre",
    audience="staff",
    response=DepartmentList,
    errors=(401, 403),
)
async def list_departments(request: web.Request) -> DepartmentList:
    async with request.app[DB].session() as session:
        found = await departments.all_departments(session)
    return DepartmentList(items=[DepartmentView.model_validate(d) for d in found])


@routes.post(
    "/api/admin/departments",
    summary="Add a department",
    audience="admin",
    body=NewDepartmentBody,
    response=DepartmentView,
    status=201,
    errors=(400, 401, 403, 409, 413, 422),
)
async def add_department(
    request: web.Request, *, principal: Principal, body: NewDepartmentBody
) -> DepartmentView:
    dept = await departments.add_department(
        request.app[DB],
        body.code,
        body.name_zh,
        body.name_en,
        principal.staff_user,
        request.app[CLOCK].now(),
    )
    return DepartmentView.model_validate(dept)


@routes.put(
    "/api/admin/departments/{dept_id}",
    summary="Rename a department or set it inactive",
    audience="admin",
    body=DepartmentChangeBody,
    response=DepartmentView,
    errors=(400, 401, 403, 404, 413, 422),
)
async def change_department(
    request: web.Request, *, principal: Principal, body: DepartmentChangeBody
) -> DepartmentView:
    dept = await departments.change_department(
        request.app[DB],
        path_int(request, "dept_id"),
        body.model_dump(exclude_none=True),
        principal.staff_user,
        request.app[CLOCK].now(),
    )
    return DepartmentView.model_validate(dept)


@routes.get(
    "/api/admin/events",
    summary="The administration trail, newest first",
    audience="admin",
    response=AdminEventList,
    errors=(401, 403),
)
async def list_admin_events(request: web.Request) -> AdminEventList:
    async with request.app[DB].session() as session:
        found = await events.recent(session)
    return AdminEventList(items=[AdminEventView.model_validate(e) for e in found])

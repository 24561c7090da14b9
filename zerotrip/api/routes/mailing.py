"""Mailing routes: the case's courier orders and the applicant's choices, the staff console
(open orders, retry, cancel, reassign, local courier steps), and courier callbacks."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlmodel import col, select

from zerotrip.api.bodies import parse_body, path_int, reply
from zerotrip.api.keys import CLOCK, DB, MAILING, OUTBOX, SETTINGS
from zerotrip.api.principal import authorize_case, resolve_principal
from zerotrip.api.routes.mailing_views import ORDER_SCHEMA, order_view
from zerotrip.api.routing import RouteTable
from zerotrip.cases.audit import append_event
from zerotrip.cases.models import Case, CaseState
from zerotrip.cases.store import get_case, lock_case
from zerotrip.db import retry_on_conflict
from zerotrip.mailing.local import advance
from zerotrip.mailing.models import CourierOrder, DeliveryPreference, OrderEvent
from zerotrip.mailing.orders import (
    cancel_order,
    choose_pickup,
    dispatch_message,
    lock_order,
    orders_of,
    reassign_order,
    retry_order,
)
from zerotrip.mailing.statuses import OPEN, SCANNABLE, OrderStatus
from zerotrip.problems import (
    Conflict,
    NotFound,
)

routes = RouteTable("mailing")
ORDERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": ORDER_SCHEMA}},
}


def _wake(request: web.Request) -> None:
    worker = request.app.get(OUTBOX)
    if worker is not None:
        worker.wake()


# --- the case's orders --------------------------------------------------------------------------


async def _views(session: Any, orders: list[CourierOrder], *, staff: bool) -> list[dict[str, Any]]:
    out = []
    for order in orders:
        events = (
            await session.exec(select(OrderEvent).where(OrderEvent.order_id == order.id))
        ).all()
        message = await dispatch_message(session, order) if staff else None
        case = await session.get(Case, order.case_id) if staff else None
        out.append(
            order_view(
                order,
                list(events),
                staff=staff,
                message=message,
                case_reference=case.reference if case else None,
            )
        )
    return out


@routes.get(
    "/api/cases/{case_id}/mailing",
    summary="The case's courier orders with their timelines, and the delivery preference",
    audience="case",
    response={
        "type": "object",
        "required": ["orders", "delivery_preference"],
        "properties": {
            "orders": {"type": "array", "items": ORDER_SCHEMA},
            "delivery_preference": {"type": "string"},
            "couriers": {"type": "array", "items": {"type": "string"}},
        },
    },
    errors=(401, 404, 410, 422),
)
async def read_case_mailing(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    async with request.app[DB].session() as session:
        await get_case(session, case_id)
        orders = await orders_of(session, case_id)
        pref = await session.get(DeliveryPreference, case_id)
        views = await _views(session, orders, staff=principal.is_staff)
    return reply(
        {
            "orders": views,
            "delivery_preference": pref.method if pref else "courier",
            "couriers": sorted(request.app[MAILING].couriers) if principal.is_staff else [],
        }
    )


class ChoiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    hand_in: bool = False
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    address: dict[str, str] | None = Field(default=None, max_length=9)


async def _order_of_case(session: Any, case_id: int, order_id: int) -> tuple[Case, CourierOrder]:
    case = await lock_case(session, case_id)
    order = await lock_order(session, order_id)
    if order.case_id != case_id:
        raise NotFound(f"No courier order {order_id} on this case.")
    return case, order


@routes.post(
    "/api/cases/{case_id}/mailing/orders/{order_id}/choice",
    summary="Choose a pickup window (or to hand the originals in at the office)",
    audience="case",
    body=ChoiceBody,
    response=ORDER_SCHEMA,
    errors=(400, 401, 404, 409, 410, 413, 422),
)
async def choose(request: web.Request) -> web.Response:
    case_id, order_id = path_int(request, "case_id"), path_int(request, "order_id")
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    body = await parse_body(request, ChoiceBody, request.app[SETTINGS].max_json_bytes)

    async def attempt() -> dict[str, Any]:
        async with request.app[DB].transaction() as session:
            case, order = await _order_of_case(session, case_id, order_id)
            await choose_pickup(
                session,
                case,
                order,
                principal.actor,
                hand_in=body.hand_in,
                window_start=body.window_start,
                window_end=body.window_end,
                address=body.address,
                now=request.app[CLOCK].now(),
            )
            return (await _views(session, [order], staff=principal.is_staff))[0]

    view = await retry_on_conflict(attempt)
    _wake(request)
    return reply(view)


class PreferenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["courier", "self_collect"]


@routes.put(
    "/api/cases/{case_id}/mailing/delivery-preference",
    summary="How the certificate should reach the applicant (before it is issued)",
    audience="case",
    body=PreferenceBody,
    response={
        "type": "object",
        "required": ["method"],
        "properties": {"method": {"type": "string"}},
    },
    errors=(400, 401, 404, 409, 410, 413, 422),
)
async def set_preference(request: web.Request) -> web.Response:
    case_id = path_int(request, "case_id")
    principal = await resolve_principal(request)
    authorize_case(principal, case_id)
    body = await parse_body(request, PreferenceBody, request.app[SETTINGS].max_json_bytes)

    async def attempt() -> dict[str, Any]:
        async with request.app[DB].transaction() as session:
            case = await lock_case(session, case_id)
            if case.state in (CaseState.certificate_issued, CaseState.delivered, CaseState.closed):
                raise Conflict("The certificate is already on its way or delivered.")
            pref = await session.get(DeliveryPreference, case_id)
            now = request.app[CLOCK].now()
            if pref is None:
                pref = DeliveryPreference(case_id=case_id, method=body.method, chosen_at=now)
            pref.method, pref.chosen_at = body.method, now
            session.add(pref)
            append_event(
                session,
                case,
                principal.actor,
                "mailing.delivery_preference",
                {"method": body.method},
            )
            return {"method": body.method}

    return reply(await retry_on_conflict(attempt))


# --- the staff console ----------------------------------------------------------------------------


@routes.get(
    "/api/mailing/orders",
    summary="Open courier orders, the ones needing a person first",
    audience="staff",
    response=ORDERS_SCHEMA,
    errors=(401, 403),
)
async def list_open_orders(request: web.Request) -> web.Response:
    async with request.app[DB].session() as session:
        rows = await session.exec(
            select(CourierOrder)
            .where(col(CourierOrder.status).in_([s.value for s in OPEN]))
            .order_by(col(CourierOrder.updated_at))
            .limit(500)
        )
        views = await _views(session, list(rows.all()), staff=True)
    ranked = sorted(views, key=lambda v: (_stuck_rank(v), v["updated_at"]))
    return reply({"items": ranked})


def _stuck_rank(view: dict[str, Any]) -> int:
    """Needs a person first, then failing dispatches, then waiting, then moving."""
    d = view.get("dispatch") or {}
    if view["status"] == OrderStatus.attention or d.get("state") == "dead":
        return 0
    if d.get("attempts", 0) > 1 and d.get("state") != "done":
        return 1
    return 2 if view["status"] in (OrderStatus.queued, OrderStatus.awaiting_choice) else 3


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=500)


class ReassignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    courier: str = Field(min_length=1, max_length=32)


class AdvanceBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: Literal[tuple(s.value for s in SCANNABLE)]  # type: ignore[valid-type]
    note: str = Field(default="", max_length=500)


async def _staff_change(request: web.Request, change: Any) -> web.Response:
    order_id = path_int(request, "order_id")
    principal = await resolve_principal(request)

    async def attempt() -> dict[str, Any]:
        async with request.app[DB].transaction() as session:
            peek = await session.get(CourierOrder, order_id)
            if peek is None:
                raise NotFound(f"No courier order {order_id}.")
            case, order = await _order_of_case(session, peek.case_id, order_id)
            await change(session, case, order, principal.actor)
            return (await _views(session, [order], staff=True))[0]

    view = await retry_on_conflict(attempt)
    _wake(request)
    return reply(view)


@routes.post(
    "/api/mailing/orders/{order_id}/retry",
    summary="Dispatch an order again now (after its dispatch failed)",
    audience="staff",
    response=ORDER_SCHEMA,
    errors=(401, 403, 404, 409, 422),
)
async def retry(request: web.Request) -> web.Response:
    now = request.app[CLOCK].now()
    return await _staff_change(
        request, lambda s, case, order, actor: retry_order(s, case, order, actor, now)
    )


@routes.post(
    "/api/mailing/orders/{order_id}/cancel",
    summary="Cancel an order before the courier holds the parcel (refunds its label)",
    audience="staff",
    body=CancelBody,
    response=ORDER_SCHEMA,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def cancel(request: web.Request) -> web.Response:
    body = await parse_body(request, CancelBody, request.app[SETTINGS].max_json_bytes)
    return await _staff_change(
        request, lambda s, case, order, actor: cancel_order(s, case, order, actor, body.reason)
    )


@routes.post(
    "/api/mailing/orders/{order_id}/reassign",
    summary="Hand an order no courier has accepted to another courier",
    audience="staff",
    body=ReassignBody,
    response=ORDER_SCHEMA,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def reassign(request: web.Request) -> web.Response:
    body = await parse_body(request, ReassignBody, request.app[SETTINGS].max_json_bytes)
    request.app[MAILING].courier(body.courier)  # 422 for an unknown courier
    now = request.app[CLOCK].now()
    return await _staff_change(
        request,
        lambda s, case, order, actor: reassign_order(s, case, order, actor, body.courier, now),
    )


@routes.post(
    "/api/mailing/orders/{order_id}/advance",
    summary="Record a local courier's step (the office's own messengers or the counter)",
    audience="staff",
    body=AdvanceBody,
    response=ORDER_SCHEMA,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def advance_local(request: web.Request) -> web.Response:
    order_id = path_int(request, "order_id")
    body = await parse_body(request, AdvanceBody, request.app[SETTINGS].max_json_bytes)
    mailing = request.app[MAILING]
    async with request.app[DB].session() as session:
        order = await session.get(CourierOrder, order_id)
    if order is None:
        raise NotFound(f"No courier order {order_id}.")
    if order.courier != "local" or not order.remote_id:
        raise Conflict("Only a booked order of the local courier is advanced by hand.")
    result = await advance(mailing, order, OrderStatus(body.status), description=body.note)
    if result.ignored:
        raise Conflict(f"Not applied: {', '.join(result.ignored)}.", status=order.status)
    async with request.app[DB].session() as session:
        order = await session.get(CourierOrder, order_id)
        assert order is not None
        return reply((await _views(session, [order], staff=True))[0])

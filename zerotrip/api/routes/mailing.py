"""Mailing routes: the case's courier orders and the applicant's choices, the staff console
(open orders, retry, cancel, reassign, local courier steps), and courier callbacks."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from zerotrip.api.bodies import path_int
from zerotrip.api.keys import CLOCK, DB, MAILING, OUTBOX
from zerotrip.api.principal import Principal
from zerotrip.api.routing import RouteTable
from zerotrip.cases.hand_ins import parcel_contents
from zerotrip.mailing import service
from zerotrip.mailing.schemas import (
    CaseMailing,
    DeliveryPreferenceView,
    OrderList,
    OrderRecord,
    OrderView,
)
from zerotrip.mailing.statuses import OPEN, SCANNABLE, OrderKind, OrderStatus

routes = RouteTable("mailing")


def _wake(request: web.Request) -> None:
    worker = request.app.get(OUTBOX)
    if worker is not None:
        worker.wake()


def _changed(request: web.Request, record: OrderRecord) -> OrderView:
    """A staff step queued work for the courier: wake the outbox, show the order as staff."""
    _wake(request)
    return OrderView.of(record, staff=True)


# --- the case's orders --------------------------------------------------------------------------


@routes.get(
    "/api/cases/{case_id}/mailing",
    summary="The case's courier orders with their timelines, and the delivery preference",
    audience="case",
    response=CaseMailing,
    errors=(401, 404, 410, 422),
)
async def read_case_mailing(request: web.Request, *, principal: Principal) -> CaseMailing:
    staff, case_id = principal.is_staff, path_int(request, "case_id")
    records, preference = await service.case_orders(request.app[DB], case_id, staff=staff)
    orders = [OrderView.of(r, staff=staff) for r in records]
    open_pickups = [o for o in orders if o.kind == OrderKind.pickup and o.status in OPEN]
    if open_pickups:
        contents = await parcel_contents(request.app[DB], case_id)
        for order in open_pickups:
            order.contents = contents
    return CaseMailing(
        orders=orders,
        delivery_preference=preference,
        couriers=sorted(request.app[MAILING].couriers) if staff else [],
    )


class ChoiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    hand_in: bool = False
    window_start: AwareDatetime | None = None
    window_end: AwareDatetime | None = None
    address: dict[str, str] | None = Field(default=None, max_length=9)


@routes.post(
    "/api/cases/{case_id}/mailing/orders/{order_id}/choice",
    summary="Choose a pickup window (or to hand the originals in at the office)",
    audience="case",
    body=ChoiceBody,
    response=OrderView,
    errors=(400, 401, 404, 409, 410, 413, 422),
)
async def choose(request: web.Request, *, principal: Principal, body: ChoiceBody) -> OrderView:
    record = await service.choose(
        request.app[DB],
        path_int(request, "case_id"),
        path_int(request, "order_id"),
        principal.actor,
        hand_in=body.hand_in,
        window_start=body.window_start,
        window_end=body.window_end,
        address=body.address,
        now=request.app[CLOCK].now(),
        staff=principal.is_staff,
    )
    _wake(request)
    return OrderView.of(record, staff=principal.is_staff)


class PreferenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["courier", "self_collect"]


@routes.put(
    "/api/cases/{case_id}/mailing/delivery-preference",
    summary="How the certificate should reach the applicant (before it is issued)",
    audience="case",
    body=PreferenceBody,
    response=DeliveryPreferenceView,
    errors=(400, 401, 404, 409, 410, 413, 422),
)
async def set_preference(
    request: web.Request, *, principal: Principal, body: PreferenceBody
) -> DeliveryPreferenceView:
    method = await service.set_delivery_preference(
        request.app[DB],
        path_int(request, "case_id"),
        body.method,
        principal.actor,
        now=request.app[CLOCK].now(),
    )
    return DeliveryPreferenceView(method=method)


# --- the staff console ----------------------------------------------------------------------------


@routes.get(
    "/api/mailing/orders",
    summary="Open courier orders, the ones needing a person first",
    audience="staff",
    response=OrderList,
    errors=(401, 403),
)
async def list_open_orders(request: web.Request) -> OrderList:
    views = [OrderView.of(r, staff=True) for r in await service.open_orders(request.app[DB])]
    return OrderList(items=sorted(views, key=lambda v: (v.stuck_rank(), v.updated_at)))


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


@routes.post(
    "/api/mailing/orders/{order_id}/retry",
    summary="Dispatch an order again now (after its dispatch failed)",
    audience="staff",
    response=OrderView,
    errors=(401, 403, 404, 409, 422),
)
async def retry(request: web.Request, *, principal: Principal) -> OrderView:
    record = await service.retry_dispatch(
        request.app[DB],
        path_int(request, "order_id"),
        principal.actor,
        now=request.app[CLOCK].now(),
    )
    return _changed(request, record)


@routes.post(
    "/api/mailing/orders/{order_id}/cancel",
    summary="Cancel an order before the courier holds the parcel (refunds its label)",
    audience="staff",
    body=CancelBody,
    response=OrderView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def cancel(request: web.Request, *, principal: Principal, body: CancelBody) -> OrderView:
    record = await service.cancel(
        request.app[DB], path_int(request, "order_id"), principal.actor, reason=body.reason
    )
    return _changed(request, record)


@routes.post(
    "/api/mailing/orders/{order_id}/reassign",
    summary="Hand an order no courier has accepted to another courier",
    audience="staff",
    body=ReassignBody,
    response=OrderView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def reassign(request: web.Request, *, principal: Principal, body: ReassignBody) -> OrderView:
    request.app[MAILING].courier(body.courier)  # 422 for an unknown courier
    record = await service.hand_to_courier(
        request.app[DB],
        path_int(request, "order_id"),
        principal.actor,
        courier=body.courier,
        now=request.app[CLOCK].now(),
    )
    return _changed(request, record)


@routes.post(
    "/api/mailing/orders/{order_id}/advance",
    summary="Record a local courier's step (the office's own messengers or the counter)",
    audience="staff",
    body=AdvanceBody,
    response=OrderView,
    errors=(400, 401, 403, 404, 409, 413, 422),
)
async def advance_local(request: web.Request, *, body: AdvanceBody) -> OrderView:
    record = await service.advance_local(
        request.app[MAILING],
        path_int(request, "order_id"),
        OrderStatus(body.status),
        note=body.note,
    )
    return OrderView.of(record, staff=True)

"""Lifecycle listeners: the case steps that create courier orders, in the step's transaction.

* pre-review accepted, and the matter needs paper originals: a pickup order, waiting for the
  applicant to pick a window or to choose to hand the originals in (after
  ``pickup_choice_hours`` the next day's working hours are booked);
* certificate issued: a delivery order, unless the applicant chose to collect it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases import lifecycle
from zerotrip.cases.audit import Actor, append_event
from zerotrip.cases.lifecycle import StepContext
from zerotrip.cases.models import Case, MaterialStatus
from zerotrip.cases.store import materials_of
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.models import CourierOrder, DeliveryPreference
from zerotrip.mailing.orders import applicant_address, create_order, office_address, orders_of
from zerotrip.mailing.statuses import OrderKind, OrderStatus

SYSTEM = Actor("system", "", "mailing")


def install(mailing: Mailing) -> Callable[[], None]:
    """Register the listeners; return the function that removes them again."""

    async def after_prereview(ctx: StepContext, payload: dict[str, Any]) -> None:
        if payload.get("to") == "accepted":
            await create_pickup(ctx.session, mailing, ctx.case)

    async def after_issue(ctx: StepContext, payload: dict[str, Any]) -> None:
        await create_delivery(ctx.session, mailing, ctx.case)

    lifecycle.on_step("prereview", after_prereview)
    lifecycle.on_step("issue_certificate", after_issue)

    def uninstall() -> None:
        lifecycle.remove_listener("prereview", after_prereview)
        lifecycle.remove_listener("issue_certificate", after_issue)

    return uninstall


async def create_pickup(session: AsyncSession, mailing: Mailing, case: Case) -> CourierOrder | None:
    paper = [
        m
        for m in await materials_of(session, case.id or 0)
        if m.paper_original and m.status == MaterialStatus.expected
    ]
    if not paper:
        return None
    now = mailing.clock.now()
    return await create_order(
        session,
        case,
        OrderKind.pickup,
        courier=mailing.settings.courier,
        sender=applicant_address(case, mailing.settings),
        recipient=office_address(mailing.settings),
        actor=SYSTEM,
        status=OrderStatus.awaiting_choice,
        dispatch_at=now + timedelta(hours=mailing.settings.pickup_choice_hours),
    )


async def create_delivery(
    session: AsyncSession, mailing: Mailing, case: Case
) -> CourierOrder | None:
    preference = await session.get(DeliveryPreference, case.id)
    if preference is not None and preference.method == "self_collect":
        append_event(
            session, case, SYSTEM, "mailing.self_collect", {"chosen_at": preference.chosen_at}
        )
        return None
    recipient = applicant_address(case, mailing.settings)
    pickups = [o for o in await orders_of(session, case.id or 0) if o.kind == OrderKind.pickup]
    if pickups:
        recipient = dict(pickups[-1].sender)  # where the applicant said they are
    return await create_order(
        session,
        case,
        OrderKind.delivery,
        courier=mailing.settings.courier,
        sender=office_address(mailing.settings),
        recipient=recipient,
        actor=SYSTEM,
    )

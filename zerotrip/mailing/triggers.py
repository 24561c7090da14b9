"""Lifecycle reactions: the case steps that create courier orders, in the step's transaction.

* pre-review accepted, and the matter needs paper originals: a pickup order, waiting for the
  applicant to pick a window or to choose to hand the originals in (after
  ``pickup_choice_hours`` the next day's working hours are booked);
* certificate issued: a delivery order, unless the applicant chose to collect it;
* paper originals received some other way (at the counter) while the pickup still waits for
  the applicant's window: the pickup is called off, so nobody is asked to book a courier for
  papers already in the office.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.admin.office import office_address
from zerotrip.cases.addresses import courier_fields
from zerotrip.cases.audit import append_event
from zerotrip.cases.lifecycle import Lifecycle, StepContext
from zerotrip.cases.models import Case, HandInState, MaterialHandIn, MaterialStatus
from zerotrip.cases.store import materials_of
from zerotrip.kit.actor import SYSTEM_MAILING
from zerotrip.mailing.addresses import applicant_address
from zerotrip.mailing.changes import cancel_order
from zerotrip.mailing.context import Mailing
from zerotrip.mailing.models import CourierOrder, DeliveryPreference
from zerotrip.mailing.orders import create_order, orders_of
from zerotrip.mailing.statuses import OrderKind, OrderStatus

# Written like a clerk's own reason for a cancel, which the order shows as its note.
PICKUP_NOT_NEEDED = "材料已在窗口签收，无需上门取件"


class OrderTriggers:
    """The courier orders one service's case steps create."""

    def __init__(self, mailing: Mailing) -> None:
        self.mailing = mailing

    def register(self, lifecycle: Lifecycle) -> None:
        lifecycle.on_step("prereview", self.after_prereview)
        lifecycle.on_step("issue_certificate", self.after_issue)
        lifecycle.on_step("receive_materials", self.after_receive)

    async def after_prereview(self, step: StepContext) -> None:
        if step.payload.get("to") == "accepted":
            await create_pickup(step.session, self.mailing, step.case)

    async def after_issue(self, step: StepContext) -> None:
        await create_delivery(step.session, self.mailing, step.case)

    async def after_receive(self, step: StepContext) -> None:
        if step.payload.get("channel") == "courier":
            return  # the pickup itself brought them
        missing = [
            m
            for m in await materials_of(step.session, step.case.id or 0)
            if m.paper_original and m.status != MaterialStatus.received
        ]
        mailed = await step.session.exec(
            select(MaterialHandIn.id).where(
                MaterialHandIn.case_id == step.case.id, MaterialHandIn.state == HandInState.mail
            )
        )
        if missing or mailed.first() is not None:
            return  # the parcel still has something to carry
        for order in await orders_of(step.session, step.case.id or 0):
            if order.kind == OrderKind.pickup and order.status == OrderStatus.awaiting_choice:
                await cancel_order(step.session, step.case, order, step.actor, PICKUP_NOT_NEEDED)


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
        recipient=await office_address(session, mailing.settings),
        actor=SYSTEM_MAILING,
        status=OrderStatus.awaiting_choice,
        dispatch_at=now + timedelta(hours=mailing.settings.pickup_choice_hours),
    )


async def create_delivery(
    session: AsyncSession, mailing: Mailing, case: Case
) -> CourierOrder | None:
    preference = await session.get(DeliveryPreference, case.id)
    if preference is not None and preference.method == "self_collect":
        append_event(
            session,
            case,
            SYSTEM_MAILING,
            "mailing.self_collect",
            {"chosen_at": preference.chosen_at},
        )
        return None
    recipient = applicant_address(case, mailing.settings)
    pickups = [o for o in await orders_of(session, case.id or 0) if o.kind == OrderKind.pickup]
    confirmed = courier_fields(case)
    if confirmed is not None:  # the address the applicant confirmed for the certificate
        recipient = {**recipient, **confirmed, "street2": ""}
    elif pickups:
        recipient = dict(pickups[-1].sender)  # where the applicant said they are
    return await create_order(
        session,
        case,
        OrderKind.delivery,
        courier=mailing.settings.courier,
        sender=await office_address(session, mailing.settings),
        recipient=recipient,
        actor=SYSTEM_MAILING,
    )

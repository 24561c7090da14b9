"""When applicants are told something: the lifecycle steps, a booked inspection (and its
reminder, withdrawn when the session ends) and a booked courier pickup.

One way for all of them: :func:`zerotrip.notify.setup` registers a :class:`NotificationTriggers`
on the process's reactions, and each trigger queues its message inside the transaction of what
happened, so a message is never lost or sent for something that rolled back.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.hand_ins import HandInDecided
from zerotrip.cases.lifecycle import Lifecycle, StepContext
from zerotrip.cases.models import Case
from zerotrip.cases.store import materials_of
from zerotrip.kit.clock import Clock
from zerotrip.kit.reactions import Reactions
from zerotrip.live.events import InspectionBooked, InspectionEnded
from zerotrip.mailing.events import PickupBooked
from zerotrip.notify.messages import outstanding_lines
from zerotrip.notify.service import queue_notification, withdraw_notification

_METHODS = {
    "courier": ("快递", "by courier"),
    "self_collect": ("自取", "collected in person"),
    "electronic": ("电子证照", "electronically"),
}


def _matter_names(step: StepContext) -> dict[str, str]:
    matter = step.catalogue.get(step.case.matter_code)
    zh = matter.name_zh if matter else step.case.matter_code
    en = matter.name_en if matter else step.case.matter_code
    return {"matter_zh": zh, "matter_en": en}


class NotificationTriggers:
    """The messages one service queues; ``channel`` is its notifier's (``record``: offline)."""

    def __init__(self, channel: str, *, clock: Clock, reminder_hours: int) -> None:
        self.channel = channel
        self.clock = clock
        self.reminder_hours = reminder_hours

    @property
    def zone(self) -> ZoneInfo:
        return self.clock.zone

    def register(self, lifecycle: Lifecycle, reactions: Reactions) -> None:
        lifecycle.on_step("prereview", self.after_prereview)
        lifecycle.on_step("prereview", self.remind_outstanding)
        lifecycle.on_step("receive_materials", self.materials_received)
        lifecycle.on_step("record_inspection", self.after_inspection)
        lifecycle.on_step("issue_certificate", self.after_certificate)
        lifecycle.on_step("mark_delivered", self.after_delivery)
        reactions.on(InspectionBooked, self.inspection_booked)
        reactions.on(InspectionEnded, self.inspection_ended)
        reactions.on(PickupBooked, self.pickup_booked)
        reactions.on(HandInDecided, self.hand_in_decided)

    async def _queue(
        self,
        session: AsyncSession,
        case: Case,
        topic: str,
        params: dict[str, Any],
        *,
        dedupe_key: str,
        not_before: datetime | None = None,
    ) -> None:
        await queue_notification(
            session,
            case,
            topic,
            params,
            dedupe_key=dedupe_key,
            channel=self.channel,
            now=self.clock.now(),
            not_before=not_before,
        )

    async def _for_step(self, step: StepContext, topic: str, params: dict[str, Any]) -> None:
        # The step's own audit sequence number makes the key unique per step and stable on retry.
        key = f"{topic}:{step.case.id}:{step.case.audit_seq}"
        await self._queue(step.session, step.case, topic, params, dedupe_key=key)

    async def after_prereview(self, step: StepContext) -> None:
        names = _matter_names(step)
        payload = step.payload
        if payload.get("to") == "returned":
            params = {**names, "reasons": "; ".join(payload.get("reasons", []))}
            topic = "prereview.returned"
        else:
            materials = {
                m.code: (m.name_zh, m.name_en)
                for m in await materials_of(step.session, step.case.id)
            }
            params = {
                **names,
                "deadline": payload.get("deadline"),
                **outstanding_lines(payload.get("outstanding", []), materials),
            }
            topic = "prereview.accepted"
        await self._for_step(step, topic, params)

    async def after_inspection(self, step: StepContext) -> None:
        if step.payload.get("result") == "rectify":
            comment = step.payload.get("comment") or "—"
            await self._for_step(step, "inspection.rectify", {"comment": comment})

    async def after_certificate(self, step: StepContext) -> None:
        matter = step.catalogue.get(step.case.matter_code)
        titles = {
            "certificate_zh": matter.certificate_title_zh if matter else "许可证",
            "certificate_en": matter.certificate_title_en if matter else "certificate",
        }
        await self._for_step(step, "certificate.issued", titles)

    async def after_delivery(self, step: StepContext) -> None:
        zh, en = _METHODS.get(step.payload.get("method", ""), ("—", "—"))
        await self._for_step(step, "delivery.handed_over", {"method_zh": zh, "method_en": en})

    async def inspection_booked(self, event: InspectionBooked) -> None:
        """A booked live inspection: tell the applicant now, and remind them before the slot."""
        live = event.live
        start, end = live.slot_start.astimezone(self.zone), live.slot_end.astimezone(self.zone)
        params = {"when": f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"}
        await self._queue(
            event.session,
            event.case,
            "inspection.booked",
            params,
            dedupe_key=f"inspection.booked:{live.id}",
        )
        remind_at = live.slot_start - timedelta(hours=self.reminder_hours)
        if remind_at > event.now:
            await self._queue(
                event.session,
                event.case,
                "inspection.reminder",
                params,
                dedupe_key=f"inspection.reminder:{live.id}",
                not_before=remind_at,
            )

    async def inspection_ended(self, event: InspectionEnded) -> None:
        """A session that ended or was cancelled: its reminder, if not sent yet, must not go
        out."""
        live = event.live
        now = live.ended_at or self.clock.now()
        await withdraw_notification(event.session, f"inspection.reminder:{live.id}", now)

    async def pickup_booked(self, event: PickupBooked) -> None:
        """A courier booked to collect the paper materials: tell the applicant the window."""
        order = event.order
        start, end = order.window_start, order.window_end
        if start is not None and end is not None:
            zone = self.zone
            window = f"{start.astimezone(zone):%Y-%m-%d %H:%M}–{end.astimezone(zone):%H:%M}"
        else:
            window = f"({order.waybill or '—'})"
        await self._queue(
            event.session,
            event.case,
            "courier.pickup",
            {"window": window, "waybill": order.waybill or ""},
            dedupe_key=f"courier.pickup:{order.id}",
        )

    # --- outstanding (容缺) materials: a reminder before the due date, withdrawn on receipt ---

    def reminder_time(self, due: date, now: datetime) -> datetime | None:
        """09:00 office time two days before the due date (or the day before, if that has
        passed); None when both have passed."""
        for days in (MATERIAL_REMINDER_DAYS, 1):
            at = datetime.combine(due - timedelta(days=days), time(9, 0), tzinfo=self.zone)
            if at > now:
                return at
        return None

    async def remind_outstanding(self, step: StepContext) -> None:
        if step.payload.get("to") != "accepted":
            return
        materials = {m.code: m for m in await materials_of(step.session, step.case.id)}
        now = self.clock.now()
        for item in step.payload.get("outstanding", []):
            due = date.fromisoformat(item["due_date"])
            at = self.reminder_time(due, now)
            material = materials.get(item["code"])
            if at is None or material is None:
                continue
            await self._queue(
                step.session,
                step.case,
                "material.reminder",
                _material_params(material.name_zh, material.name_en, due),
                dedupe_key=_reminder_key(step.case.id, item["code"]),
                not_before=at,
            )

    async def materials_received(self, step: StepContext) -> None:
        for code in step.payload.get("codes", []):
            await withdraw_notification(
                step.session, _reminder_key(step.case.id, code), self.clock.now()
            )

    async def hand_in_decided(self, event: HandInDecided) -> None:
        material, now = event.material, self.clock.now()
        if event.accepted:
            await withdraw_notification(
                event.session, _reminder_key(event.case.id, material.code), now
            )
            return
        params = _material_params(material.name_zh, material.name_en, material.due_date)
        await self._queue(
            event.session,
            event.case,
            "material.rejected",
            {**params, "reason": event.reason},
            dedupe_key=f"material.rejected:{event.case.id}:{event.case.audit_seq}",
        )


MATERIAL_REMINDER_DAYS = 2


def _reminder_key(case_id: int | None, code: str) -> str:
    return f"material.reminder:{case_id}:{code}"


def _material_params(zh: str, en: str, due: date | None) -> dict[str, Any]:
    return {"material_zh": zh, "material_en": en, "due": due.isoformat() if due else "—"}

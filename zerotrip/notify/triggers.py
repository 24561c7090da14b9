"""When applicants are told something: the lifecycle steps, a booked inspection (and its
reminder) and a booked courier pickup each queue a message in their own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.cases.lifecycle import StepContext, on_step
from zerotrip.cases.models import Case
from zerotrip.cases.store import materials_of
from zerotrip.notify.messages import outstanding_lines
from zerotrip.notify.service import queue_notification, withdraw_notification


def _matter_names(ctx: StepContext) -> dict[str, str]:
    matter = ctx.catalogue.get(ctx.case.matter_code)
    zh = matter.name_zh if matter else ctx.case.matter_code
    en = matter.name_en if matter else ctx.case.matter_code
    return {"matter_zh": zh, "matter_en": en}


async def _after_prereview(ctx: StepContext, payload: dict[str, Any]) -> None:
    names = _matter_names(ctx)
    if payload.get("to") == "returned":
        params = {**names, "reasons": "; ".join(payload.get("reasons", []))}
        topic = "prereview.returned"
    else:
        materials = {
            m.code: (m.name_zh, m.name_en) for m in await materials_of(ctx.session, ctx.case.id)
        }
        params = {
            **names,
            "deadline": payload.get("deadline"),
            **outstanding_lines(payload.get("outstanding", []), materials),
        }
        topic = "prereview.accepted"
    await _queue_for_step(ctx, topic, params)


async def _after_inspection(ctx: StepContext, payload: dict[str, Any]) -> None:
    if payload.get("result") == "rectify":
        await _queue_for_step(ctx, "inspection.rectify", {"comment": payload.get("comment") or "—"})


async def _after_certificate(ctx: StepContext, payload: dict[str, Any]) -> None:
    matter = ctx.catalogue.get(ctx.case.matter_code)
    titles = {
        "certificate_zh": matter.certificate_title_zh if matter else "许可证",
        "certificate_en": matter.certificate_title_en if matter else "certificate",
    }
    await _queue_for_step(ctx, "certificate.issued", titles)


_METHODS = {
    "courier": ("快递", "by courier"),
    "self_collect": ("自取", "collected in person"),
    "electronic": ("电子证照", "electronically"),
}


async def _after_delivery(ctx: StepContext, payload: dict[str, Any]) -> None:
    zh, en = _METHODS.get(payload.get("method", ""), ("—", "—"))
    await _queue_for_step(ctx, "delivery.handed_over", {"method_zh": zh, "method_en": en})


async def _queue_for_step(ctx: StepContext, topic: str, params: dict[str, Any]) -> None:
    # The step's own audit sequence number makes the key unique per step and stable on retry.
    await queue_notification(
        ctx.session,
        ctx.case,
        topic,
        params,
        dedupe_key=f"{topic}:{ctx.case.id}:{ctx.case.audit_seq}",
    )


async def queue_inspection_booked(
    session: AsyncSession,
    case: Case,
    live: Any,
    *,
    reminder_hours: int,
    zone: ZoneInfo,
    now: datetime,
) -> None:
    """A booked live inspection: tell the applicant now, and remind them before the slot."""
    start, end = live.slot_start.astimezone(zone), live.slot_end.astimezone(zone)
    params = {"when": f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"}
    await queue_notification(
        session, case, "inspection.booked", params, dedupe_key=f"inspection.booked:{live.id}"
    )
    remind_at = live.slot_start - timedelta(hours=reminder_hours)
    if remind_at > now:
        await queue_notification(
            session,
            case,
            "inspection.reminder",
            params,
            dedupe_key=f"inspection.reminder:{live.id}",
            not_before=remind_at,
        )


async def withdraw_inspection_reminder(session: AsyncSession, live: Any) -> None:
    """A session that ended or was cancelled: its reminder, if not sent yet, must not go out."""
    await withdraw_notification(session, f"inspection.reminder:{live.id}", live.ended_at)


async def queue_courier_pickup(
    session: AsyncSession, case: Case, order: Any, *, zone: ZoneInfo
) -> None:
    """A courier booked to collect the paper materials: tell the applicant the window."""
    start, end = getattr(order, "window_start", None), getattr(order, "window_end", None)
    if start is not None and end is not None:
        window = f"{start.astimezone(zone):%Y-%m-%d %H:%M}–{end.astimezone(zone):%H:%M}"
    else:
        window = f"({getattr(order, 'waybill', '') or '—'})"
    await queue_notification(
        session,
        case,
        "courier.pickup",
        {"window": window, "waybill": getattr(order, "waybill", "")},
        dedupe_key=f"courier.pickup:{order.id}",
    )


LISTENERS = {
    "prereview": _after_prereview,
    "record_inspection": _after_inspection,
    "issue_certificate": _after_certificate,
    "mark_delivered": _after_delivery,
}
_installed = False


def install() -> None:
    """Register the lifecycle listeners once per process."""
    global _installed
    if not _installed:
        _installed = True
        for action, listener in LISTENERS.items():
            on_step(action, listener)

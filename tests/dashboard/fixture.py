"""A hand-computed set of finished cases: each case's chain is written event by event with
chosen times, and the expected dashboard figures are worked out by hand in the test."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from zerotrip.accounts.service import create_staff
from zerotrip.cases.audit import append_event
from zerotrip.cases.catalogue import load_catalogue
from zerotrip.cases.deadlines import WorkingCalendar
from zerotrip.cases.models import Case
from zerotrip.dashboard.facts import record_facts
from zerotrip.db import Database
from zerotrip.kit.actor import Actor
from zerotrip.ratings.models import RatedStep, RatingLevel
from zerotrip.ratings.rectifications import record_call, record_reply
from zerotrip.ratings.service import RectificationPolicy, rate

ZONE = ZoneInfo("Asia/Shanghai")
CLERK = Actor("staff", "1", "Clerk (clerk)")


def at(text: str) -> datetime:
    """Local office time 'MM-DD HH:MM' in 2026."""
    return datetime.fromisoformat(f"2026-{text}:00").replace(tzinfo=ZONE)


# (name, matter, submitted, [(kind, when, payload)], final state or None if still open)
CASES: list[tuple[str, str, str, list[tuple[str, str, dict[str, Any]]], str | None]] = [
    (
        "A",
        "food-business",
        "03-02 09:00",
        [
            ("case.prereview", "03-02 10:00", {"to": "accepted"}),
            ("mailing.order_created", "03-02 11:00", {"kind": "pickup"}),
            ("case.receive_materials", "03-04 10:00", {"channel": "courier"}),
            ("live.joined", "03-05 10:00", {"session": 1, "role": "inspector", "state": "waiting"}),
            ("live.joined", "03-05 10:01", {"session": 1, "role": "applicant", "state": "live"}),
            ("live.ended", "03-05 10:13", {"session": 1, "reason": "done", "state": "ended"}),
            ("case.approve", "03-09 09:00", {"to": "approved"}),
            ("case.issue_certificate", "03-09 10:00", {"to": "certificate_issued"}),
            ("mailing.order_created", "03-09 11:00", {"kind": "delivery"}),
            ("mailing.status", "03-09 12:00", {"kind": "delivery", "to": "picked_up"}),
            ("mailing.status", "03-10 09:00", {"kind": "delivery", "to": "in_transit"}),
            ("mailing.status", "03-11 12:00", {"kind": "delivery", "to": "delivered"}),
            ("case.mark_delivered", "03-11 13:00", {"method": "courier"}),
            ("case.close", "03-12 10:00", {"to": "closed"}),
        ],
        "closed",
    ),
    (
        "B",
        "food-business",
        "03-03 09:00",
        [
            ("case.prereview", "03-03 10:00", {"to": "accepted"}),
            ("evidence.received", "03-04 10:00", {"origin": "capture"}),
            ("case.record_inspection", "03-05 10:00", {"to": "rectifying", "result": "rectify"}),
            (
                "case.resume_inspection",
                "03-10 10:00",
                {"to": "inspecting", "paused_working_days": 3},
            ),
            ("case.receive_materials", "03-11 10:00", {"channel": "in_person"}),
            ("case.approve", "03-24 09:00", {"to": "approved"}),
            ("case.issue_certificate", "03-24 10:00", {}),
            ("case.mark_delivered", "03-24 15:00", {"method": "self_collect"}),
            ("case.close", "03-25 10:00", {"to": "closed"}),
        ],
        "closed",
    ),
    (
        "C",
        "food-business",
        "03-05 09:00",
        [
            ("case.prereview", "03-05 10:00", {"to": "accepted"}),
            ("evidence.received", "03-06 10:00", {"origin": "gallery"}),
            ("case.reject", "03-12 09:00", {"to": "rejected"}),
            ("case.close", "03-13 10:00", {"to": "closed"}),
        ],
        "closed",
    ),
    (
        "D",
        "food-business",
        "04-01 09:00",
        [
            ("case.withdraw", "04-02 09:00", {"to": "withdrawn"}),
        ],
        "withdrawn",
    ),
    ("E", "food-business", "04-10 09:00", [], None),
    (
        "F",
        "food-business",
        "02-20 09:00",
        [
            ("case.prereview", "02-20 10:00", {"to": "accepted"}),
            ("live.joined", "02-25 10:00", {"session": 2, "role": "applicant", "state": "live"}),
            ("live.ended", "02-25 10:30", {"session": 2, "reason": "done", "state": "ended"}),
            ("live.booked", "02-26 10:00", {"session": 3}),
            (
                "live.ended",
                "02-26 10:05",
                {"session": 3, "reason": "no-show", "state": "cancelled"},
            ),
            ("case.approve", "03-06 09:00", {"to": "approved"}),
            ("case.issue_certificate", "03-06 12:00", {}),
            ("mailing.order_created", "03-06 12:30", {"kind": "delivery"}),
            ("case.mark_delivered", "03-07 00:00", {"method": "courier"}),
            ("case.close", "04-01 10:00", {"to": "closed"}),
        ],
        "closed",
    ),
    (
        "G",
        "swimming-venue",
        "03-10 09:00",
        [
            ("case.prereview", "03-10 10:00", {"to": "accepted"}),
            ("case.approve", "03-20 09:00", {"to": "approved"}),
            ("case.close", "03-21 10:00", {"to": "closed"}),
        ],
        "closed",
    ),
    (
        "H",
        "food-business",
        "04-20 09:00",
        [
            ("case.prereview", "04-20 10:00", {"to": "accepted"}),
            ("case.approve", "05-04 09:00", {"to": "approved"}),
            ("case.close", "05-05 10:00", {"to": "closed"}),
        ],
        "closed",
    ),
]

# (case, step, level, when, rectification: None | "open" | "done")
RATINGS = [
    ("A", RatedStep.delivery, RatingLevel.very_satisfied, "03-12 12:00"),
    ("B", RatedStep.delivery, RatingLevel.very_dissatisfied, "03-26 12:00"),
    ("C", RatedStep.prereview, RatingLevel.satisfied, "03-06 12:00"),
    ("F", RatedStep.delivery, RatingLevel.dissatisfied, "04-02 12:00"),
    ("G", RatedStep.prereview, RatingLevel.very_satisfied, "03-22 12:00"),
]


async def _build_case(
    session: AsyncSession,
    name: str,
    matter: str,
    submitted: str,
    events: list[tuple[str, str, dict[str, Any]]],
    final: str | None,
) -> Case:
    when = at(submitted)
    case = Case(
        reference=f"ZT-FIXTURE-{name}",
        matter_code=matter,
        applicant_name=f"Applicant {name}",
        premises_address="文三路 90 号",
        submitted_at=when,
        updated_at=when,
    )
    session.add(case)
    await session.flush()
    append_event(session, case, Actor("applicant"), "case.submitted", {"matter": matter}, at=when)
    for kind, moment, payload in events:
        append_event(session, case, CLERK, kind, payload, at=at(moment))
    if final is not None:
        case.state = final
        case.closed_at = at(events[-1][1])
        await record_facts(
            session, case, catalogue=load_catalogue(), calendar=WorkingCalendar(), zone=ZONE
        )
    return case


async def build(db: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with db.transaction() as session:
        clerk = await create_staff(session, "fixture-clerk", "Clerk", "clerk", "long enough pw")
        for name, matter, submitted, events, final in CASES:
            case = await _build_case(session, name, matter, submitted, events, final)
            ids[name] = case.id
    policy = RectificationPolicy(5, WorkingCalendar(), ZONE)
    for name, step, level, when in RATINGS:
        async with db.transaction() as session:
            rating = await rate(
                session,
                ids[name],
                step,
                level,
                "",
                actor=Actor("applicant"),
                link_id=None,
                now=at(when),
                today=at(when).date(),
                policy=policy,
            )
        if name == "B":  # B's complaint was answered and followed up; F's is still open
            async with db.transaction() as session:
                await record_reply(
                    session, rating.id, "已整改", user=clerk, actor=CLERK, now=at(when)
                )
                await record_call(
                    session, rating.id, "reached", "", user=clerk, actor=CLERK, now=at(when)
                )
    return ids

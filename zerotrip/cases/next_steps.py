"""What the applicant must do now ("下一步"), decided from the case file and a few facts other
domains hold (a pickup waiting for a window, a booked live session, photos taken, steps to rate).

The decision lives here, apart from the page, so it is tested from the case state: the page only
draws the cards in this order and links each to its section. The facts are gathered by the
caller (``notify.journey``), because the case file does not import the domains above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from zerotrip.cases.models import CaseMaterial, CaseState, MaterialStatus

if TYPE_CHECKING:
    from zerotrip.cases.schemas import CaseFile

StepKind = Literal[
    "resubmit",
    "wait_prereview",
    "supply_material",
    "book_pickup",
    "confirm_address",
    "join_inspection",
    "take_photos",
    "redo_checkpoints",
    "rate",
]
Inspection = Literal["pending", "photos", "live", "done"]

# Photos are invited only once pre-review accepted the case, and until the inspection is recorded.
PHOTO_STATES = frozenset({CaseState.accepted, CaseState.inspecting})
# The delivery address can be confirmed or changed until the certificate is issued.
ADDRESS_STATES = frozenset(
    {CaseState.accepted, CaseState.inspecting, CaseState.rectifying, CaseState.inspected}
    | {CaseState.approved}
)
# Sections of the applicant page; a section with nothing left to do is shown folded.
SECTIONS = (
    "materials",
    "mailing",
    "delivery-address",
    "live-sessions",
    "evidence-capture",
    "rating-card",
)
# The service is rated as a task once it is done; single steps stay rateable in their section.
RATE_STATES = frozenset({CaseState.delivered, CaseState.closed, CaseState.rejected})


@dataclass(frozen=True)
class JourneyFacts:
    """What other domains know about the case that decides the applicant's next step."""

    pickup_order_id: int | None = None  # a pickup waiting for the applicant's window
    live_session_id: int | None = None  # the next open live session
    live_session_at: datetime | None = None
    photographed: frozenset[int] = frozenset()  # checkpoint ids with at least one photo
    rateable: tuple[str, ...] = ()
    handed_in: frozenset[str] = frozenset()  # materials handed in or mailed, awaiting the clerk
    delivery_by_courier: bool = True
    orders_in_progress: bool = False  # a courier order the applicant may want to follow


class NamedItem(BaseModel):
    code: str
    name_zh: str
    name_en: str


class NextStep(BaseModel):
    """One card of the task list; ``section`` is the id of the page section it links to."""

    kind: StepKind
    section: str
    due: date | None = None
    at: datetime | None = None
    ref: int | None = None  # the order or live session the step is about
    items: list[NamedItem] = []


class NextSteps(BaseModel):
    steps: list[NextStep]
    inspection: Inspection | None  # how the premises are inspected: photos or a live session
    done_sections: list[str]  # sections with nothing left to do (shown folded)


def _inspection(found: CaseFile, facts: JourneyFacts) -> Inspection | None:
    state = found.case.state
    if not found.checkpoints:
        return None
    if state in (CaseState.submitted, CaseState.returned):
        return "pending"
    if state in (CaseState.accepted, CaseState.inspecting, CaseState.rectifying):
        return "live" if facts.live_session_id is not None else "photos"
    if state == CaseState.withdrawn:
        return None
    return "done"


def next_steps(found: CaseFile, facts: JourneyFacts) -> NextSteps:
    """The applicant's tasks, most urgent first, and which page sections are done."""
    case = found.case
    state = case.state
    steps: list[NextStep] = []
    if state == CaseState.returned:
        steps.append(NextStep(kind="resubmit", section="returned"))
    if state == CaseState.submitted:
        steps.append(NextStep(kind="wait_prereview", section="steps"))
    owed = [
        m
        for m in found.materials
        if m.status == MaterialStatus.outstanding and m.code not in facts.handed_in
    ]
    if owed and state not in (CaseState.withdrawn, CaseState.rejected, CaseState.closed):
        due = min((m.due_date for m in owed if m.due_date), default=None)
        steps.append(
            NextStep(kind="supply_material", section="materials", due=due, items=_named(owed))
        )
    if facts.pickup_order_id is not None:
        steps.append(NextStep(kind="book_pickup", section="mailing", ref=facts.pickup_order_id))
    if facts.live_session_id is not None and state in (
        CaseState.accepted,
        CaseState.inspecting,
        CaseState.rectifying,
    ):
        steps.append(
            NextStep(
                kind="join_inspection",
                section="live-sessions",
                at=facts.live_session_at,
                ref=facts.live_session_id,
            )
        )
    if state == CaseState.rectifying:
        redo = [cp for cp in found.checkpoints if cp.round > 1 and not cp.verdict]
        steps.append(
            NextStep(
                kind="redo_checkpoints",
                section="rectification",
                items=[
                    NamedItem(code=c.code, name_zh=c.title_zh, name_en=c.title_en) for c in redo
                ],
            )
        )
    elif state in PHOTO_STATES and facts.live_session_id is None:
        # identity items (restricted) are checked by staff, not photographed by the applicant
        missing = [
            cp for cp in found.checkpoints if cp.id not in facts.photographed and not cp.restricted
        ]
        if missing:
            steps.append(
                NextStep(
                    kind="take_photos",
                    section="evidence-capture",
                    items=[
                        NamedItem(code=c.code, name_zh=c.title_zh, name_en=c.title_en)
                        for c in missing
                    ],
                )
            )
    if state in ADDRESS_STATES and facts.delivery_by_courier and case.delivery_confirmed_at is None:
        steps.append(NextStep(kind="confirm_address", section="delivery-address"))
    if facts.rateable and (state in RATE_STATES or "delivery" in facts.rateable):
        steps.append(NextStep(kind="rate", section="rating-card"))
    open_sections = {s.section for s in steps}
    # Parcels on their way, and the certificate's own journey, stay unfolded to follow them.
    if facts.orders_in_progress or state in (CaseState.certificate_issued, CaseState.delivered):
        open_sections.add("mailing")
    return NextSteps(
        steps=steps,
        inspection=_inspection(found, facts),
        done_sections=[s for s in SECTIONS if s not in open_sections],
    )


def _named(materials: list[CaseMaterial]) -> list[NamedItem]:
    return [NamedItem(code=m.code, name_zh=m.name_zh, name_en=m.name_en) for m in materials]

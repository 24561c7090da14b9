"""How ratings are shown: to the applicant as given, to staff with their rectification."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from zerotrip.ratings.models import RatedStep, Rating, RatingLevel
from zerotrip.ratings.rectifications import is_overdue


class RectificationView(BaseModel):
    state: str
    owner_id: int | None
    due_date: date | None
    overdue: bool
    task_id: int | None
    call_outcome: str | None
    call_note: str
    called_at: datetime | None
    done_at: datetime | None


class CallBack(BaseModel):
    """Whom to call back about a complaint (a rectification is a phone call back), and who owns
    it; in the staff list only."""

    case_reference: str
    applicant_name: str
    applicant_phone: str
    owner_name: str


class RatingView(BaseModel):
    id: int
    case_id: int
    step: RatedStep
    level: RatingLevel
    score: int
    comment: str
    created_at: datetime
    reply: str
    replied_at: datetime | None
    rectification: RectificationView | None = None  # staff only, dissatisfied ratings only
    call_back: CallBack | None = None  # the rectification list only

    @classmethod
    def of(cls, rating: Rating, today: date, *, for_applicant: bool = False) -> RatingView:
        view = cls(
            id=rating.id or 0,
            case_id=rating.case_id,
            step=RatedStep(rating.step),
            level=RatingLevel(rating.level),
            score=rating.score,
            comment=rating.comment,
            created_at=rating.created_at,
            reply=rating.reply,
            replied_at=rating.replied_at,
        )
        if rating.rectification_state is not None and not for_applicant:
            view.rectification = RectificationView(
                state=rating.rectification_state,
                owner_id=rating.owner_id,
                due_date=rating.due_date,
                overdue=is_overdue(rating, today),
                task_id=rating.task_id,
                call_outcome=rating.call_outcome,
                call_note=rating.call_note,
                called_at=rating.called_at,
                done_at=rating.done_at,
            )
        return view


class CaseRatings(BaseModel):
    items: list[RatingView]
    rateable: list[RatedStep]  # for the applicant: steps that can be rated now


class RectificationPage(BaseModel):
    total: int
    items: list[RatingView]

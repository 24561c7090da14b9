"""Ratings: one per case and rated step, with the rectification a dissatisfied one opens."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class RatingLevel(enum.StrEnum):
    """The five levels of the national government-service rating scheme (好差评)."""

    very_satisfied = "very_satisfied"  # 非常满意
    satisfied = "satisfied"  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    dissatisfied = "dissatisfied"  # 不满意
    very_dissatisfied = "very_dissatisfied"  # 非常不满意


LEVEL_SCORE = {
    RatingLevel.very_satisfied: 5,
    RatingLevel.satisfied: 4,
    RatingLevel.basically_satisfied: 3,
    RatingLevel.dissatisfied: 2,
    RatingLevel.very_dissatisfied: 1,
}
LEVEL_ZH = {
    RatingLevel.very_satisfied: "非常满意",
    RatingLevel.satisfied: "满意",
    RatingLevel.basically_satisfied: "基本满意",
    RatingLevel.dissatisfied: "不满意",
    RatingLevel.very_dissatisfied: "非常不满意",
}
DISSATISFIED = frozenset({RatingLevel.dissatisfied, RatingLevel.very_dissatisfied})


class RatedStep(enum.StrEnum):
    """What can be rated, and the audit event that shows the step has happened."""

    prereview = "prereview"
    inspection = "inspection"
    certificate = "certificate"
    delivery = "delivery"


STEP_EVENT = {
    RatedStep.prereview: "case.prereview",
    RatedStep.inspection: "case.record_inspection",
    RatedStep.certificate: "case.issue_certificate",
    RatedStep.delivery: "case.mark_delivered",
}
# How the rating page names each step.
STEP_NAMES_ZH = {
    RatedStep.prereview: "预审受理",
    RatedStep.inspection: "远程踏勘",
    RatedStep.certificate: "制证",
    RatedStep.delivery: "送达",
}


class Rating(SQLModel, table=True):
    """A rating; when dissatisfied it carries its rectification (owner, due date, reply, call).

    ``matter_code`` is copied from the case so the dashboard counts ratings of one matter and
    period from one index range, without joining cases.
    """

    __tablename__ = "ratings"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "step", name="uq_ratings_case_step"),
        # Covering the dashboard's count by level and rectification state.
        sa.Index(
            "ix_ratings_matter_created", "matter_code", "created_at", "level", "rectification_state"
        ),
        sa.Index("ix_ratings_created", "created_at", "level", "rectification_state"),
        sa.Index("ix_ratings_rectification_open", "rectification_state", "due_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    matter_code: str = Field(max_length=64)
    step: str = Field(max_length=16)
    level: str = Field(max_length=24)
    score: int
    comment: str = Field(default="", max_length=2000)
    created_at: datetime
    link_id: int | None = Field(default=None, foreign_key="applicant_links.id")

    # Rectification (整改): only for dissatisfied ratings.
    rectification_state: str | None = Field(default=None, max_length=16)  # open | done
    owner_id: int | None = Field(default=None, foreign_key="staff_users.id")
    due_date: date | None = None
    task_id: int | None = Field(default=None, foreign_key="staff_tasks.id")  # on the staff list
    reply: str = Field(default="", max_length=4000)
    replied_at: datetime | None = None
    replied_by: int | None = Field(default=None, foreign_key="staff_users.id")
    call_outcome: str | None = Field(default=None, max_length=16)  # reached | unreachable
    call_note: str = Field(default="", max_length=4000)
    called_at: datetime | None = None
    called_by: int | None = Field(default=None, foreign_key="staff_users.id")
    done_at: datetime | None = None

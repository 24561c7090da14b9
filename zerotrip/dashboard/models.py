"""One row of measured facts per finished case, and the indexes the dashboard reads through.

The facts are derived from the case's own audit chain when the case is closed or withdrawn
(:mod:`zerotrip.dashboard.facts`), in the same transaction, so the dashboard reads one narrow
row per case over an index range instead of re-reading and parsing every event of every case.
They can always be derived again from the chain (``zerotrip dashboard rebuild``).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from zerotrip.cases.models import Case

FIGURE_COLUMNS = (
    "closed_month",
    "outcome",
    "handling_days",
    "within_limit",
    "limit_days",
    "visit",
    "inspection_mode",
    "live_sessions",
    "live_minutes",
    "courier_orders",
    "delivery_days",
)


class CaseMetrics(SQLModel, table=True):
    __tablename__ = "case_metrics"
    # Both indexes cover every column the dashboard aggregates, so a period's figures are one
    # scan of an index range and never touch the table (SQLite "COVERING INDEX").
    __table_args__ = (
        sa.Index("ix_case_metrics_matter_closed", "matter_code", "closed_at", *FIGURE_COLUMNS),
        sa.Index("ix_case_metrics_closed", "closed_at", *FIGURE_COLUMNS),
    )

    case_id: int = Field(
        foreign_key="cases.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    matter_code: str = Field(max_length=64)
    outcome: str = Field(max_length=16)  # approved | rejected | returned | withdrawn
    submitted_at: datetime
    closed_at: datetime
    closed_month: str = Field(max_length=7)  # "YYYY-MM" in the office's time zone
    accepted_on: date | None = None
    decided_on: date | None = None
    limit_days: int
    handling_days: int | None = None  # working days, acceptance to decision, pauses excluded
    within_limit: bool | None = None
    visit: bool = False  # the applicant had to come to the office
    inspection_mode: str = Field(default="none", max_length=8)  # live | photo | none
    live_sessions: int = 0
    live_minutes: float = 0.0
    courier_orders: int = 0
    delivery_days: float | None = None  # certificate issued -> handed to the applicant
    derived_seq: int = 0  # the audit sequence number the facts were derived up to


# Received cases over all matters: a range on submission time alone.
CASES_SUBMITTED_INDEX = sa.Index("ix_cases_submitted", Case.submitted_at)

"""The dashboard's figures as the API shows them (and the charts draw them)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class _Figures(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class PeriodView(_Figures):
    start: date = Field(alias="from")
    end: date = Field(alias="to")


class Share(_Figures):
    count: int
    share: float | None


class HandlingDays(_Figures):
    decided: int
    average: float | None
    p90: int | None
    statutory_limit: float | None
    within_limit: int
    within_limit_share: float | None
    histogram: list[tuple[int, int]]  # [working days, cases]


class Inspections(_Figures):
    photo: int
    live: int
    live_sessions: int
    average_live_minutes: float | None


class CourierFigures(_Figures):
    orders: int
    deliveries: int
    average_delivery_days: float | None


class RatingFigures(_Figures):
    total: int
    distribution: dict[str, int]  # rating level -> count
    satisfied_share: float | None
    rectifications: int
    rectified: int
    rectification_rate: float | None


class MonthFigures(_Figures):
    month: str
    received: int
    closed: int


class Figures(_Figures):
    period: PeriodView
    matter: str | None
    received: int
    closed: int
    withdrawn: int
    without_visit: Share
    handling_days: HandlingDays
    inspections: Inspections
    courier: CourierFigures
    ratings: RatingFigures
    months: list[MonthFigures]


class DepartmentRow(BaseModel):
    """One department's figures for the period (``department_id`` None: matters no department
    owns)."""

    department_id: int | None
    code: str | None
    name_zh: str
    name_en: str
    received: int
    closed: int
    decided: int
    within_limit: int
    within_share: float | None
    average_days: float | None


class DepartmentComparison(BaseModel):
    items: list[DepartmentRow]

"""What the administration API takes and answers."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from zerotrip.accounts.models import Role
from zerotrip.cases.catalogue import ChecklistItem, MaterialItem


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AccountView(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    must_change_password: bool
    departments: list[int]
    created_at: dt.datetime


class AccountList(BaseModel):
    items: list[AccountView]


class NewAccountBody(_Body):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-zA-Z0-9._-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=1, max_length=200)  # the policy names what is wrong
    departments: list[int] = Field(default_factory=list, max_length=100)


class AccountChangeBody(_Body):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None
    departments: list[int] | None = Field(default=None, max_length=100)


class PasswordReset(BaseModel):
    """The one-time password is shown once, here; it must be changed at the next sign-in."""

    account: AccountView
    password: str


class OfficeProfileBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(default="", max_length=100)
    zip: str = Field(pattern=r"^[A-Za-z0-9 -]{3,10}$")
    country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")
    phone: str = Field(pattern=r"^[0-9+\- ()]{5,40}$")


class OfficeProfileView(BaseModel):
    name: str
    street: str
    city: str
    state: str
    zip: str
    country: str
    phone: str


class CalendarDayView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: dt.date
    kind: Literal["holiday", "workday"]
    name: str
    source: str


class CalendarView(BaseModel):
    year: int
    days: list[CalendarDayView]
    published: bool  # the package has the State Council's notice for this year


class CalendarQuery(_Body):
    year: int = Field(ge=2000, le=2100)


class CalendarDayBody(_Body):
    kind: Literal["holiday", "workday"]
    name: str = Field(default="", max_length=100)


class PrefillBody(_Body):
    year: int = Field(ge=2004, le=2100)


class Prefilled(BaseModel):
    added: int


class DepartmentView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    active: bool


class DepartmentList(BaseModel):
    items: list[DepartmentView]


class NewDepartmentBody(_Body):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-zA-Z0-9._-]+$")
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)


class DepartmentChangeBody(_Body):
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class OfficeMatterView(BaseModel):
    code: str
    name_zh: str
    name_en: str
    department_id: int | None
    enabled: bool
    version: int
    versions: int
    time_limit_working_days: int
    materials: list[MaterialItem]
    checklist: list[ChecklistItem]


class OfficeMatterList(BaseModel):
    items: list[OfficeMatterView]


class MatterConfigBody(_Body):
    department_id: int | None = None
    enabled: bool | None = None


class MatterVersionBody(_Body):
    time_limit_working_days: int = Field(gt=0, le=365)
    materials: list[MaterialItem] = Field(min_length=1, max_length=100)
    checklist: list[ChecklistItem] = Field(max_length=200)
    note: str = Field(default="", max_length=500)


class AdminEventView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor_label: str
    kind: str
    subject: str
    detail: str


class AdminEventList(BaseModel):
    items: list[AdminEventView]

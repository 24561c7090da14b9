"""What each step of the case state machine takes from its caller (validated before the step
runs, documented in the API as the action's body)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StepParams(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutstandingMaterial(StepParams):
    code: str = Field(max_length=64)
    due_date: date


class PrereviewParams(StepParams):
    outcome: Literal["accept", "return"]
    outstanding: list[OutstandingMaterial] = Field(default_factory=list, max_length=50)
    reasons: list[str] = Field(default_factory=list, max_length=20)
    note: str = Field(default="", max_length=2000)


class NoteParams(StepParams):
    note: str = Field(default="", max_length=2000)


class ReceiveMaterialsParams(StepParams):
    codes: list[str] = Field(min_length=1, max_length=50)
    channel: Literal["courier", "in_person", "electronic"] = "in_person"
    note: str = Field(default="", max_length=2000)


class InspectionResultParams(StepParams):
    result: Literal["pass", "fail", "rectify"]
    comment: str = Field(default="", max_length=4000)


class DecisionParams(StepParams):
    reasons: list[str] = Field(default_factory=list, max_length=20)
    note: str = Field(default="", max_length=2000)


class DeliveredParams(StepParams):
    method: Literal["courier", "self_collect", "electronic"] = "courier"
    note: str = Field(default="", max_length=2000)

"""How staff tasks are shown."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class TaskView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int | None
    kind: str
    title: str
    detail: str
    owner_id: int | None
    due_at: datetime | None
    state: Literal["open", "done"]
    created_at: datetime
    closed_at: datetime | None
    resolution: str


class TaskList(BaseModel):
    items: list[TaskView]

"""How personal identity grants are shown to administrators."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class GrantView(BaseModel):
    user_id: int
    username: str | None = None
    granted_at: datetime | None = None


class GrantList(BaseModel):
    roles: list[str]  # roles that see identity evidence without a personal grant
    items: list[GrantView]

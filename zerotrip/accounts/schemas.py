"""How staff accounts and their credentials are shown."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from zerotrip.accounts.models import Role


class UserView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    must_change_password: bool


class SignedIn(BaseModel):
    user: UserView
    csrf_token: str


class UserList(BaseModel):
    items: list[UserView]


class IssuedApiToken(BaseModel):
    """The token is shown once, here; only its digest is stored."""

    id: int
    token: str
    expires_at: datetime | None


class TokenView(BaseModel):
    """One of the caller's sessions or API tokens, never the secret itself."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Literal["session", "api"]
    label: str
    created_at: datetime
    expires_at: datetime | None
    current: bool = False  # the credential making this request


class TokenList(BaseModel):
    items: list[TokenView]

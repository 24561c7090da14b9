"""Who may see identity evidence: an explicit grant per staff member, never implied by a role."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class IdentityAccess(SQLModel, table=True):
    __tablename__ = "identity_access"

    user_id: int = Field(
        foreign_key="staff_users.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    granted_by: int | None = Field(default=None, foreign_key="staff_users.id")
    granted_at: datetime

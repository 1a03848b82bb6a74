"""Partner organisations (and the vendor's own, which has no partner tier rules)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    region_code: str = Field(foreign_key="region.code", max_length=16)
    tier_code: str = Field(foreign_key="tier.code", max_length=16)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

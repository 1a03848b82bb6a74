"""Regions and partner tiers: configurable data, not code."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Region(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=80)


class Tier(SQLModel, table=True):
    """A partner tier; ``rank`` orders them (higher rank sees more)."""

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=80)
    rank: int = Field(index=True, unique=True)

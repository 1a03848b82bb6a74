"""Audiences: who among partners may see an object (documents, templates, articles,
forum categories point at one through ``audience_id``).

The rule itself lives in ``services/access.py``; these rows only hold its data.
"""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Field, SQLModel


class Status(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    EXPIRED = "expired"


class Audience(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    all_regions: bool = Field(default=False)
    min_tier: str | None = Field(default=None, foreign_key="tier.code", max_length=16)


class AudienceRegion(SQLModel, table=True):
    __tablename__ = "audience_region"

    audience_id: int = Field(foreign_key="audience.id", primary_key=True, ondelete="CASCADE")
    region_code: str = Field(foreign_key="region.code", primary_key=True, max_length=16)


class AudienceOrg(SQLModel, table=True):
    """Explicit grant: this organisation sees the object whatever its region and tier."""

    __tablename__ = "audience_org"

    audience_id: int = Field(foreign_key="audience.id", primary_key=True, ondelete="CASCADE")
    org_id: int = Field(foreign_key="organisation.id", primary_key=True, index=True)

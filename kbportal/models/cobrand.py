"""Co-branding: each partner organisation's branding profile, and the PDFs made from templates.

Templates themselves are documents of type ``template``; the fields found in a
template version are stored on it (``DocumentVersion.template_fields``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class OrgBranding(SQLModel, table=True):
    """An organisation's branding profile. ``version`` grows with every change: generated
    PDFs are cached per (template version, branding version, overrides)."""

    __tablename__ = "org_branding"

    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    partner_name: str = Field(default="", max_length=120)  # the company name printed on co-branded PDFs
    contact_name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=400)  # lines separated by "\n"
    website: str = Field(default="", max_length=300)
    footer: str = Field(default="", max_length=200)
    brand_colour: str = Field(default="", max_length=7)  # "#RRGGBB" or ""
    # The logo: a clean re-encoded PNG/JPEG under branding/<org id>/logo-<n>.<ext>.
    logo_key: str = Field(default="", max_length=512)
    logo_version_id: str = Field(default="", max_length=128)
    logo_sha256: str = Field(default="", max_length=64)
    logo_mime_type: str = Field(default="", max_length=40)
    logo_size: int = Field(default=0)
    logo_width: int = Field(default=0)
    logo_height: int = Field(default=0)
    version: int = Field(default=0)
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class GeneratedPdf(SQLModel, table=True):
    """One co-branded PDF, stored under generated/<org id>/<cache key>.pdf. A repeat request
    with the same inputs (same ``cache_key`` for the organisation) is served from it."""

    __tablename__ = "generated_pdf"
    __table_args__ = (UniqueConstraint("org_id", "cache_key"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)  # who asked for it first
    template_document_id: int = Field(foreign_key="document.id", index=True)
    template_version_id: int = Field(foreign_key="document_version.id")
    template_version_number: int
    branding_version: int
    # Values typed for this PDF only (those that differ from the branding profile).
    overrides: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cache_key: str = Field(max_length=64)
    title: str = Field(default="", max_length=500)
    filename: str = Field(max_length=255)
    storage_key: str = Field(max_length=512)
    storage_version_id: str = Field(max_length=128)
    sha256: str = Field(max_length=64)
    size: int
    page_count: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, index=True)

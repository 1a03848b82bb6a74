"""Documents (collateral) and their immutable versions.

A document carries the metadata partners filter on and an audience; a version holds
one upload's bytes (in the blob store) and what was extracted from them. Publishing
picks the version partners see (``published_version_id``); versions never change.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class DocType(StrEnum):
    BROCHURE = "brochure"
    DATASHEET = "datasheet"
    PRESENTATION = "presentation"
    CASE_STUDY = "case_study"
    PRICE_LIST = "price_list"
    TRAINING = "training"
    TEMPLATE = "template"
    OTHER = "other"


class VersionState(StrEnum):
    """A version is stored at once and checked in the background: only ``ready`` ones
    can be published or downloaded; a file the check rejects is removed entirely."""

    PROCESSING = "processing"
    READY = "ready"


class Document(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200, index=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    doc_type: str = Field(default=DocType.OTHER.value, max_length=20, index=True)
    product: str = Field(default="", max_length=120, index=True)
    source_language: str = Field(default="en", max_length=10, index=True)
    audience_id: int | None = Field(default=None, foreign_key="audience.id", index=True)
    status: str = Field(default="draft", max_length=20, index=True)
    expires_at: datetime | None = Field(default=None)
    # The version partners see. No FK (document <-> version would be a cycle); the
    # repository service sets it only to a version of this document.
    published_version_id: int | None = Field(default=None)
    published_at: datetime | None = Field(default=None)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class DocumentTag(SQLModel, table=True):
    __tablename__ = "document_tag"

    document_id: int = Field(foreign_key="document.id", primary_key=True, ondelete="CASCADE")
    tag: str = Field(primary_key=True, max_length=60, index=True)


class DocumentVersion(SQLModel, table=True):
    """One immutable upload. Its row is committed only after its bytes are stored."""

    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    number: int
    label: str = Field(default="", max_length=80)
    note: str = Field(default="", max_length=2000)
    filename: str = Field(max_length=255)
    storage_key: str = Field(max_length=512)
    storage_version_id: str = Field(max_length=128)
    sha256: str = Field(max_length=64, index=True)
    size: int
    mime_type: str = Field(max_length=120)
    page_count: int = Field(default=0)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    thumbnail_key: str = Field(default="", max_length=512)
    thumbnail_version_id: str = Field(default="", max_length=128)
    light_key: str = Field(default="", max_length=512)
    light_version_id: str = Field(default="", max_length=128)
    light_size: int = Field(default=0)
    author_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    state: str = Field(default=VersionState.READY.value, max_length=20, index=True)
    # "Publish" asked for while the file was still being checked: done when it is ready.
    publish_when_ready: bool = Field(default=False)
    # Templates (doc_type "template"): the fields the check found (co-branding engine's
    # ``TemplateFields.to_dict()``); None for every other document.
    template_fields: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))

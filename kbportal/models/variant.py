"""Translated variants of documents (issue 6).

A variant is a document's content in another language, made from one source version:
by machine (a ``document.translate`` job), edited and approved by marketing
(``reviewed``), or uploaded as a localized file (``human``). There is one current
variant per document and language; a newer source version replaces it. ``stale`` is
kept by the repository's publish hook: the source version is no longer the published one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class VariantKind(StrEnum):
    MACHINE = "machine"
    REVIEWED = "reviewed"
    HUMAN = "human"


class VariantState(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class DocumentVariant(SQLModel, table=True):
    __tablename__ = "document_variant"
    __table_args__ = (UniqueConstraint("document_id", "language", name="uq_document_variant_language"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    source_version_id: int = Field(foreign_key="document_version.id", index=True)
    source_number: int
    language: str = Field(max_length=10)
    kind: str = Field(default=VariantKind.MACHINE.value, max_length=20)
    state: str = Field(default=VariantState.PROCESSING.value, max_length=20)
    stale: bool = Field(default=False)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The source title and description a person approved the translations of ("" = none):
    # while the document's own stay the same, a later machine translation keeps them.
    reviewed_title_source: str = Field(default="", max_length=200)
    reviewed_description_source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Readable translation: what search indexes and what a partner reads for PDFs.
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # A translated DOCX or a human-uploaded file ("" when the variant is text only).
    filename: str = Field(default="", max_length=255)
    storage_key: str = Field(default="", max_length=512)
    storage_version_id: str = Field(default="", max_length=128)
    size: int = Field(default=0)
    mime_type: str = Field(default="", max_length=120)
    sha256: str = Field(default="", max_length=64)
    job_id: int | None = Field(default=None)
    failure_code: str = Field(default="", max_length=120)
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    reviewed_by: int | None = Field(default=None, foreign_key="user.id")
    reviewed_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class VariantSegmentEdit(SQLModel, table=True):
    """A reviewer's correction of one segment of a variant, keyed like the segment cache
    (sha256 of the source segment): it wins over machine output whenever the variant is
    made again (the reviewed file, and a later translation of a newer source version
    for the segments that did not change)."""

    __tablename__ = "variant_segment_edit"
    __table_args__ = (UniqueConstraint("variant_id", "source_sha256", name="uq_variant_segment_edit"),)

    id: int | None = Field(default=None, primary_key=True)
    variant_id: int = Field(foreign_key="document_variant.id", index=True)
    source_sha256: str = Field(max_length=64)
    source_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    translation: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    edited_by: int | None = Field(default=None, foreign_key="user.id")
    edited_at: datetime = Field(default_factory=utcnow)

"""Machine translation bookkeeping: the segment cache.

Every segment (a sentence, see ``services/translation/segments.py``) the model has
translated is kept, keyed by the sha256 of its exact text and the language pair, so
translating the same text again costs a lookup instead of a model run (a new
version of a document mostly repeats the old one). The source text is not stored:
the cache is derived data and may be emptied at any time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class TranslationSegment(SQLModel, table=True):
    __tablename__ = "translation_segment"
    __table_args__ = (UniqueConstraint("source_sha256", "source_lang", "target_lang",
                                       name="uq_translation_segment_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source_sha256: str = Field(max_length=64)
    source_lang: str = Field(max_length=10)
    target_lang: str = Field(max_length=10)
    translation: str = Field(sa_column=Column(Text, nullable=False))
    engine: str = Field(default="", max_length=120)  # e.g. "argos translate-en_de 1.0", or "argos translate-de_en+translate-en_id"
    created_at: datetime = Field(default_factory=utcnow)

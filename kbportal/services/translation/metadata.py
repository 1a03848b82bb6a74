"""Translating a document's title and description together (one batch, one cache query)."""

from __future__ import annotations

from dataclasses import dataclass

from kbportal.services.translation.engine import TranslationEngine


@dataclass(frozen=True)
class TranslatedMetadata:
    title: str
    description: str


def translate_metadata(title: str, description: str, source: str, target: str,
                       engine: TranslationEngine) -> TranslatedMetadata:
    batch = engine.batch(source, target)
    pending_title, pending_description = batch.add(title), batch.add(description)
    batch.run()
    return TranslatedMetadata(title=pending_title.value or "", description=pending_description.value or "")

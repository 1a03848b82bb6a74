"""The segment cache: (sha256 of a source segment, source language, target language) -> translation.

It reads and writes in its own short transactions (like job progress), not in the
caller's: a cached translation is valid whatever happens to the caller's work, a
long document job keeps what it has translated when it fails half-way (the retry
is cheap), and no write lock is held while a model runs. Concurrent writers of the
same segment are fine (insert-or-ignore). A cache failure never fails a
translation: it is logged and the model is used.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from kbportal.models.translation import TranslationSegment
from kbportal.timeutil import utcnow

log = logging.getLogger(__name__)
_CHUNK = 400  # keys per IN (...) query


def segment_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SegmentCache:
    """Cache rows in the kbportal database (the current ``KBPORTAL_DATABASE_URL``)."""

    def get_many(self, texts: Iterable[str], source: str, target: str) -> dict[str, str]:
        """Cached translations of ``texts`` (by source text; misses are absent)."""
        by_key = {segment_key(t): t for t in texts}
        if not by_key:
            return {}
        keys = list(by_key)
        found: dict[str, str] = {}
        try:
            with _session() as session:
                for i in range(0, len(keys), _CHUNK):
                    rows = session.execute(
                        select(TranslationSegment.source_sha256, TranslationSegment.translation).where(
                            TranslationSegment.source_lang == source, TranslationSegment.target_lang == target,
                            TranslationSegment.source_sha256.in_(keys[i:i + _CHUNK])))
                    for sha, translation in rows:
                        found[by_key[sha]] = translation
        except SQLAlchemyError:
            log.exception("translation cache: lookup failed; translating without it")
            return {}
        return found

    def put_many(self, translations: dict[str, str], source: str, target: str, engine: str = "") -> None:
        """Remember ``{source text: translation}``; existing entries are kept."""
        if not translations:
            return
        now = utcnow()
        rows = [{"source_sha256": segment_key(text), "source_lang": source, "target_lang": target,
                 "translation": translated, "engine": engine[:120], "created_at": now}
                for text, translated in translations.items()]
        try:
            with _session() as session:
                insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
                for i in range(0, len(rows), _CHUNK):
                    session.execute(insert(TranslationSegment).values(rows[i:i + _CHUNK]).on_conflict_do_nothing())
        except SQLAlchemyError:
            log.exception("translation cache: could not store %d segments", len(rows))

    def forget_through(self, source: str, target: str, pivot: str) -> int:
        """Drop what a package ``source -> target`` may have produced: the pair itself and,
        for a half of the pivot, every pair that went through it."""
        with _session() as session:
            clauses = [(TranslationSegment.source_lang == source) & (TranslationSegment.target_lang == target)]
            if target == pivot:
                clauses.append(TranslationSegment.source_lang == source)
            if source == pivot:
                clauses.append(TranslationSegment.target_lang == target)
            return session.execute(delete(TranslationSegment).where(or_(*clauses))).rowcount or 0

    def count(self) -> int:
        """Cached segments (for the admin page)."""
        with _session() as session:
            return int(session.execute(select(func.count()).select_from(TranslationSegment)).scalar_one())


def _session():
    from kbportal.db import session_scope

    return session_scope()

"""The Whoosh schema and the mapping ``SearchEntry`` -> Whoosh document.

Fields (one Whoosh document per ``SearchEntry``, i.e. per language variant):

==================  ==========================================================
key                 unique id ``kind:object_id:language`` (updates/deletes)
obj                 column ``kind:object_id``: collapses language variants
kind, doc_type,     single-term fields: filters and facets (postings give one
product, language   docnum set per value)
tags                comma-separated keywords: filter and facet
status, access      access filtering (``access.IndexFields``): status term and
                    the audience tokens (``org:7``, ``rt:EMEA:gold``, ...)
published, expires  int64 columns (epoch microseconds; expires 0 = never):
                    date filter, recency tie-break, expiry at query time
text_<lang>         title (``TITLE_REPEAT`` times: the title boost) + description
                    + tags + product + body, analysed for the entry's language;
                    only the entry's own language field is filled, so a document
                    is matched by the query analysed the way its text was. One
                    combined field: a query walks one posting list per word.
                    No positions: reading a block of postings with positions
                    costs 4-5x more (Whoosh unpickles them with the ids), and
                    only phrases need them
pos_<lang>          the same text with positions only: phrase verification
spell               unstemmed words (title, description, tags, start of body):
                    the vocabulary "did you mean" picks corrections from
title_ac            unstemmed, accent-folded title words: as-you-type titles
stored              title, description, a zlib-compressed excerpt of the body
                    for snippets, url, object id, source language, ...
==================  ==========================================================
"""

from __future__ import annotations

import zlib
from datetime import datetime, timezone

from whoosh import columns, fields, formats

from .analysis import language_analyzer, prefix_analyzer, spell_analyzer
from .types import LANGUAGES, MAX_BODY_CHARS, SearchEntry

SCHEMA_VERSION = 3
TITLE_REPEAT = 3  # the title counts three times in the text field: title matches rank first
EXCERPT_CHARS = 16_000  # body text kept (compressed) for snippets
SPELL_BODY_CHARS = 1_000  # body text feeding the "did you mean" vocabulary (it doubles indexing cost)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class _ExistenceField(fields.FieldType):
    """An analysed field that records only which documents contain a term."""

    format_class = formats.Existence

    def __init__(self, analyzer):
        self.analyzer = analyzer
        self.format = self.format_class()
        self.scorable = False
        self.stored = False
        self.vector = None

    def __eq__(self, other):  # schemas compare fields
        return type(self) is type(other) and self.analyzer == other.analyzer


class _PositionsField(_ExistenceField):
    """An analysed field with term positions only (no scoring data): phrases."""

    format_class = formats.Positions


def text_field(lang: str) -> str:
    return f"text_{lang}"


def positions_field(fieldname: str) -> str:
    """The positional twin of a ``text_<lang>`` field."""
    return "pos_" + fieldname[len("text_"):]


def build_schema() -> fields.Schema:
    spec: dict[str, fields.FieldType] = dict(
        key=fields.ID(unique=True, stored=True),
        obj=fields.COLUMN(columns.VarBytesColumn()),
        kind=fields.ID(stored=True),
        object_id=fields.STORED(),
        language=fields.ID(stored=True),
        source_language=fields.STORED(),
        is_translation=fields.STORED(),
        doc_type=fields.ID(stored=True),
        product=fields.ID(stored=True),
        tags=fields.KEYWORD(stored=True, commas=True, scorable=False),
        status=fields.ID(),
        access=fields.KEYWORD(),
        published=fields.COLUMN(columns.NumericColumn("q", default=0)),
        expires=fields.COLUMN(columns.NumericColumn("q", default=0)),
        updated=fields.STORED(),
        title=fields.STORED(),
        description=fields.STORED(),
        excerpt=fields.STORED(),
        url=fields.STORED(),
        spell=_ExistenceField(spell_analyzer()),
        title_ac=_ExistenceField(prefix_analyzer()),
    )
    for lang in LANGUAGES:
        analyzer = language_analyzer(lang)
        spec[text_field(lang)] = fields.TEXT(analyzer=analyzer, phrase=False, multitoken_query="phrase")
        spec[positions_field(text_field(lang))] = _PositionsField(analyzer)
    return fields.Schema(**spec)


def to_micros(value: datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:  # naive values are UTC by the app's convention
        value = value.replace(tzinfo=timezone.utc)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    from datetime import timedelta

    return EPOCH + timedelta(microseconds=value)


def clean_tag(tag: str) -> str:
    return " ".join(tag.replace(",", " ").split())


def analysis_language(language: str) -> str:
    """Entries in a language the portal does not know are analysed as English."""
    return language if language in LANGUAGES else "en"


def entry_document(entry: SearchEntry) -> dict:
    """The Whoosh document for one entry."""
    lang = analysis_language(entry.language)
    body = entry.body[:MAX_BODY_CHARS] if entry.body else ""
    tags = [t for t in (clean_tag(tag) for tag in entry.tags) if t]
    title = "\n".join([entry.title] * TITLE_REPEAT) if entry.title else ""
    text = "\n".join(part for part in (title, entry.description, " ".join(tags), entry.product, body) if part)
    excerpt = body[:EXCERPT_CHARS]
    expires = entry.access.expires_at
    doc = dict(
        key=entry.key,
        obj=f"{entry.kind}:{entry.object_id}".encode(),
        kind=entry.kind,
        object_id=int(entry.object_id),
        language=entry.language,
        source_language=entry.source_language or entry.language,
        is_translation=bool(entry.is_translation),
        status=entry.access.status,
        published=to_micros(entry.published_at),
        # An expiry at the epoch itself would read as "never": it is long past anyway.
        expires=max(to_micros(expires), 1) if expires is not None else 0,
        updated=to_micros(entry.updated_at) if entry.updated_at else None,
        title=entry.title,
        description=entry.description,
        excerpt=zlib.compress(excerpt.encode("utf-8"), 6) if excerpt else b"",
        url=entry.url,
        spell="\n".join((entry.title, entry.description, " ".join(tags), body[:SPELL_BODY_CHARS])),
        title_ac=entry.title,
    )
    doc[text_field(lang)] = text
    doc[positions_field(text_field(lang))] = text
    if tags:
        doc["tags"] = ",".join(tags)
    if entry.access.access_tokens:
        doc["access"] = " ".join(sorted(entry.access.access_tokens))
    if entry.doc_type:
        doc["doc_type"] = entry.doc_type
    if entry.product:
        doc["product"] = entry.product
    return doc


def excerpt_text(stored: dict) -> str:
    data = stored.get("excerpt") or b""
    return zlib.decompress(data).decode("utf-8") if data else ""

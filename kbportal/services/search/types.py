"""Engine-agnostic values of the search interface (no Whoosh here).

The indexer turns database rows into ``SearchEntry`` values (one per language
variant of a document, article or post); the UI turns a form into a
``SearchQuery`` and shows a ``SearchResult``. Any engine behind
``kbportal.services.search.open_index`` speaks these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from kbportal.services.access import IndexFields

LANGUAGES: tuple[str, ...] = ("en", "id", "de", "fr", "es", "pt", "ja", "zh")
KINDS: tuple[str, ...] = ("document", "article", "post")
# Facet names, in the order the UI shows them.
FACETS: tuple[str, ...] = ("kind", "doc_type", "product", "language", "tags")

MAX_BODY_CHARS = 200_000  # body text indexed per entry; the rest is ignored
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class SearchEntry:
    """One searchable language variant of one object.

    ``key`` is unique in the index (``"<kind>:<object_id>:<language>"``, see
    ``make_key``); variants of one object share ``kind`` and ``object_id`` and
    are collapsed into one hit. ``body`` may be large: only the first
    ``MAX_BODY_CHARS`` characters are indexed.
    """

    key: str
    kind: str
    object_id: int
    language: str
    title: str
    published_at: datetime  # aware; sorts "newest first" among equal scores
    access: IndexFields
    source_language: str = ""  # "" = same as ``language``
    is_translation: bool = False
    description: str = ""
    body: str = ""
    tags: tuple[str, ...] = ()
    doc_type: str = ""
    product: str = ""
    updated_at: datetime | None = None
    url: str = ""  # where the UI links the hit to (optional)


def make_key(kind: str, object_id: int, language: str) -> str:
    return f"{kind}:{object_id}:{language}"


@dataclass(frozen=True)
class SearchQuery:
    """What the user asked for.

    ``text`` accepts AND / OR / NOT (upper case), ``-word``, ``"a phrase"``,
    ``prefix*``, ``word~`` (fuzzy) and parentheses; anything malformed is read
    as plain words. ``language`` is the user's UI language: documents in any
    language are found, and a hit shows the user's language variant when it
    matches. Filters take several values each (any of them matches); the
    ``published_at`` range is ``date_from <= published < date_to + 1 day``.
    """

    text: str = ""
    language: str = "en"
    kinds: frozenset[str] = frozenset()
    doc_types: frozenset[str] = frozenset()
    products: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    date_from: date | datetime | None = None
    date_to: date | datetime | None = None
    page: int = 1
    page_size: int = 10
    with_facets: bool = True  # False skips facet counting (API callers, bench)


@dataclass(frozen=True)
class SearchHit:
    key: str  # the variant shown
    kind: str
    object_id: int
    language: str
    title: str  # plain text (escape it when rendering)
    title_html: str  # HTML-safe, query terms in <mark>
    snippet: str  # HTML-safe, query terms in <mark>
    score: float
    published_at: datetime
    source_language: str = ""
    is_translation: bool = False
    doc_type: str = ""
    product: str = ""
    tags: tuple[str, ...] = ()
    url: str = ""
    other_languages: tuple[str, ...] = ()  # further variants that matched the query


@dataclass(frozen=True)
class SearchResult:
    """One page of collapsed hits (one per object).

    ``total`` counts objects (not language variants) the user may see that match
    the query and every filter. ``facets[name]`` lists ``(value, count)`` over
    the user's permitted matches with every *other* filter applied (so the UI can
    offer alternatives within a facet); counts are objects, except ``language``
    which counts objects having a matching variant in that language.
    ``relaxed`` is True when no object matched all the words and the hits
    match some of them. ``degraded`` is True when the index could not be read:
    the caller should show "search unavailable" and trigger a rebuild.
    """

    hits: tuple[SearchHit, ...] = ()
    total: int = 0
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    suggestion: str | None = None
    page: int = 1
    page_count: int = 0
    relaxed: bool = False
    degraded: bool = False


@dataclass(frozen=True)
class IndexStats:
    doc_count: int  # live entries (language variants)
    size_bytes: int
    last_modified: datetime | None
    generation: int = -1
    segments: int = 0
    healthy: bool = True
    problem: str = ""
    path: str = ""


class SearchIndexError(Exception):
    """The index cannot be used as it is; ``rebuild()`` repairs it."""


class IndexMissing(SearchIndexError):
    """There is no index at the path (new installation, deleted directory)."""


class IndexCorrupt(SearchIndexError):
    """The index exists but cannot be read (truncated/garbled files, old schema)."""

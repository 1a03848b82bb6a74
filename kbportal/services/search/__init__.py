"""Full-text search over documents, articles and posts (the engine behind an interface).

Whoosh is an implementation detail (``engine``): another engine can replace it
by providing the same methods.

    index = open_index(settings.data_dir / "search")      # never raises
    if not index.healthy:
        enqueue_reindex()                                  # index.rebuild(entries_from_db())
    index.apply(upserts=[entry, ...], deletes=["document:12:de"])
    index.compact()                                        # when the outbox is drained
    result = index.search(SearchQuery(text="install guide", language="de"),
                          access.index_filter(principal))
    titles = index.suggest("inst", access.index_filter(principal), language="de")

Callers use only what this module exports: the value types, ``open_index`` and
the methods of the index it returns (``apply``, ``compact``, ``optimize``,
``rebuild``, ``search``, ``suggest``, ``stats``, ``check``, ``healthy`` /
``problem``, ``close``).
"""

from __future__ import annotations

import os

from .engine import SearchIndex
from .types import (
    FACETS,
    KINDS,
    LANGUAGES,
    IndexCorrupt,
    IndexMissing,
    IndexStats,
    SearchEntry,
    SearchHit,
    SearchIndexError,
    SearchQuery,
    SearchResult,
    make_key,
)

__all__ = [
    "FACETS", "KINDS", "LANGUAGES", "IndexCorrupt", "IndexMissing", "IndexStats", "SearchEntry", "SearchHit",
    "SearchIndex", "SearchIndexError", "SearchQuery", "SearchResult", "make_key", "open_index",
]


def open_index(path: str | os.PathLike) -> SearchIndex:
    """The search index at ``path``, created empty if missing; never raises.

    Check ``.healthy`` (False: missing, damaged or built by an older schema;
    ``.problem`` says which) and ``rebuild`` from the database when needed.
    Keep one instance per process: it holds the reused searcher and the caches.
    """
    return SearchIndex.open_or_create(path)

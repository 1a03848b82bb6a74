"""Search as users see it: the policy's access filter applied inside the query, every
search logged (zero-result searches feed the analytics), a damaged index rebuilt.

The engine (``services.search``) knows nothing about users; this module turns a
principal into the index filter (``access.index_filter``), so nobody ever sees a hit
they may not open.
"""

from __future__ import annotations

import json
import logging

from sqlmodel import Session

from kbportal.models import SearchLog
from kbportal.services import access, indexing
from kbportal.services.access import Principal
from kbportal.services.search import SearchQuery, SearchResult
from kbportal.services.validation import clean_text

log = logging.getLogger(__name__)

MAX_QUERY = 500


def search(session: Session, principal: Principal, query: SearchQuery, *, record: bool = True) -> SearchResult:
    """One page of hits the principal may open (the filter is inside the query, before the limit)."""
    index = indexing.get_index()
    if not index.healthy:
        _repair()
        return SearchResult(degraded=True)
    result = index.search(query, access.index_filter(principal))
    if result.degraded:
        _repair()
    elif record and query.text.strip():
        _log(session, principal, query, result.total)
    return result


def suggest(principal: Principal, prefix: str, language: str = "en", limit: int = 8) -> list[str]:
    """Titles the principal may open that start with what they typed."""
    prefix = (prefix or "").strip()[:100]
    if len(prefix) < 2:
        return []
    index = indexing.get_index()
    if not index.healthy:
        return []
    return index.suggest(prefix, access.index_filter(principal), language, limit)


def _log(session: Session, principal: Principal, query: SearchQuery, total: int) -> None:
    filters = {name: sorted(getattr(query, name)) for name in ("kinds", "doc_types", "products", "languages", "tags")
               if getattr(query, name)}
    for name in ("date_from", "date_to"):
        if getattr(query, name):
            filters[name] = str(getattr(query, name))
    try:
        text = clean_text(query.text, "q", max_len=MAX_QUERY)
    except Exception:  # noqa: BLE001 - an odd query is still worth counting, but not its raw bytes
        text = query.text.replace("\x00", "")[:MAX_QUERY]
    session.add(SearchLog(user_id=principal.user_id, org_id=principal.org_id, query=text, language=query.language,
                          filters=json.dumps(filters), results=total))
    session.flush()


def _repair() -> None:
    """A missing or damaged index: rebuild it (on the worker in queue mode)."""
    from kbportal.config import get_settings
    from kbportal.db import session_scope

    try:
        if get_settings().jobs == "inline":
            indexing.rebuild()
        else:
            with session_scope() as session:
                if not indexing.rebuild_pending(session):
                    indexing.request_rebuild(session, None)
    except Exception:  # noqa: BLE001 - search stays "unavailable" and says so; admins see the error
        log.exception("could not start a search index rebuild")

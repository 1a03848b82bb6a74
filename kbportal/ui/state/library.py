"""Library: the documents this user may see, with filters, sort and pages."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import format_date, format_size
from kbportal.services import repository
from kbportal.services.repository import DocumentCard, DocumentFilters
from kbportal.ui.state.session import SessionState

PAGE_SIZE = 24


def card_view(card: DocumentCard, lang: str, time_zone: str) -> dict:
    """A document card as the UI shows it (formatted for the user's locale)."""
    return {
        "id": card.id,
        "href": f"/documents/{card.id}",
        "title": card.local_title or card.title,
        "source_title": card.title,
        "translated": bool(card.local_title),
        "local_language": card.local_language,
        "local_kind": card.local_kind,
        "doc_type": card.doc_type,
        "product": card.product,
        "language": card.language,
        "tags": list(card.tags),
        "status": card.status,
        "version": card.version_number,
        "size": format_size(card.size, lang),
        "pages": card.page_count,
        "updated": format_date(card.updated_at, lang, time_zone),
        "is_new": card.is_new,
        "is_updated": card.is_updated and not card.is_new,
        "thumb": f"/api/documents/{card.id}/thumbnail?v={card.version_number}" if card.has_thumbnail else "",
    }


class LibraryState(SessionState):
    query: str = ""
    doc_type: str = ""
    product: str = ""
    language: str = ""
    tag: str = ""
    sort: str = "updated"
    page: int = 0
    total: int = 0
    cards: list[dict] = []
    facets: dict[str, list[list]] = {}
    loading: bool = False

    @rx.var
    def page_count(self) -> int:
        return max(1, (self.total + PAGE_SIZE - 1) // PAGE_SIZE)

    @rx.var
    def has_filters(self) -> bool:
        return bool(self.query or self.doc_type or self.product or self.language or self.tag)

    def _filters(self) -> DocumentFilters:
        return DocumentFilters(query=self.query, doc_type=self.doc_type, product=self.product,
                               language=self.language, tag=self.tag, sort=self.sort, page=self.page,
                               page_size=PAGE_SIZE, reader_language=self.lang or "en")

    def _reload(self) -> None:
        with session_scope() as session:
            result = repository.list_documents(session, self.principal(session), self._filters())
        lang = self.lang or "en"
        self.cards = [card_view(c, lang, self.time_zone) for c in result.items]
        self.total = result.total
        self.facets = {name: [[value, count] for value, count in values] for name, values in result.facets.items()}

    @rx.event
    def load(self):
        self.page = 0
        self._reload()

    @rx.event
    def set_filter(self, name: str, value: str):
        if name in ("doc_type", "product", "language", "tag", "sort"):
            setattr(self, name, "" if value == "__all__" else value)
            self.page = 0
            self._reload()

    @rx.event
    def set_query(self, value: str):
        self.query = value
        self.page = 0
        self._reload()

    @rx.event
    def clear_filters(self):
        self.query = self.doc_type = self.product = self.language = self.tag = ""
        self.page = 0
        self._reload()

    @rx.event
    def next_page(self):
        if self.page + 1 < self.page_count:
            self.page += 1
            self._reload()

    @rx.event
    def prev_page(self):
        if self.page > 0:
            self.page -= 1
            self._reload()

"""Search page and the top bar's live suggestions. Thin: read input, ask the searching
service (which applies the access policy inside the query), show the result."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import format_date
from kbportal.services import searching
from kbportal.services.search import FACETS, SearchQuery
from kbportal.ui.state.session import SessionState

PAGE_SIZE = 10


class SearchState(SessionState):
    q: str = ""
    doc_types: list[str] = []
    products: list[str] = []
    languages: list[str] = []
    tags: list[str] = []
    page: int = 1
    page_count: int = 0
    total: int = 0
    hits: list[dict] = []
    facets: dict[str, list[list]] = {}
    suggestion: str = ""
    relaxed: bool = False
    unavailable: bool = False
    searched: bool = False
    # the top bar
    box: str = ""
    suggestions: list[str] = []

    def _run(self) -> None:
        text = self.q.strip()
        if not text:
            self.hits, self.total, self.page_count, self.facets, self.searched = [], 0, 0, {}, False
            self.suggestion, self.relaxed, self.unavailable = "", False, False
            return
        lang = self.lang or "en"
        query = SearchQuery(text=text, language=lang, doc_types=frozenset(self.doc_types),
                            products=frozenset(self.products), languages=frozenset(self.languages),
                            tags=frozenset(self.tags), page=self.page, page_size=PAGE_SIZE)
        with session_scope() as session:
            result = searching.search(session, self.principal(session), query)
        self.searched = True
        self.unavailable = result.degraded
        self.total, self.page_count = result.total, result.page_count
        self.suggestion, self.relaxed = result.suggestion or "", result.relaxed
        self.hits = [{
            "href": h.url or f"/documents/{h.object_id}", "title_html": h.title_html, "snippet": h.snippet,
            "kind": h.kind, "doc_type": h.doc_type, "product": h.product, "language": h.language,
            "date": format_date(h.published_at, lang, self.time_zone or "UTC"), "tags": list(h.tags),
            "translated": h.is_translation,
        } for h in result.hits]
        self.facets = {name: [[value, count] for value, count in result.facets.get(name, [])][:12]
                       for name in FACETS if name != "kind"}

    @rx.event
    def load(self):
        params = self.router.page.params
        self.q = str(params.get("q", "") or "")[:500]
        self.box = self.q
        self.page = 1
        self._run()

    @rx.event
    def set_q(self, value: str):
        self.q = value[:500]

    @rx.event
    def submit(self, form: dict | None = None):
        self.page = 1
        self._run()

    @rx.event
    def toggle(self, facet: str, value: str):
        current = list(getattr(self, facet, []))
        setattr(self, facet, [v for v in current if v != value] if value in current else current + [value])
        self.page = 1
        self._run()

    @rx.event
    def clear_filters(self):
        self.doc_types, self.products, self.languages, self.tags = [], [], [], []
        self.page = 1
        self._run()

    @rx.event
    def use_suggestion(self):
        self.q = self.suggestion
        self.page = 1
        self._run()

    @rx.event
    def go_page(self, page: int):
        self.page = max(1, min(page, max(self.page_count, 1)))
        self._run()

    # ------------------------------------------------------------------ top bar

    @rx.event
    def type_box(self, value: str):
        self.box = value[:200]
        with session_scope() as session:
            principal = self.principal(session)
        self.suggestions = searching.suggest(principal, self.box, self.lang or "en")

    @rx.event
    def go(self, form: dict | None = None):
        text = self.box.strip()
        self.suggestions = []
        if text:
            return rx.redirect(f"/search?q={_quote(text)}")

    @rx.event
    def pick(self, title: str):
        self.box, self.suggestions = title, []
        return rx.redirect(f"/search?q={_quote(title)}")

    @rx.event
    def close_suggestions(self):
        self.suggestions = []


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")

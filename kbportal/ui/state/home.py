"""Home page data: greeting facts, the newest documents, the partner's co-branded PDFs,
collateral usage for staff and a glance at the portal for admins (``services.home``)."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import format_size
from kbportal.services import home as home_service
from kbportal.ui.state.library import card_view
from kbportal.ui.state.session import SessionState


class HomeState(SessionState):
    loaded: bool = False
    last_login: str = ""
    stats: dict[str, int] = {}
    logins_by_day: list[dict] = []
    recent: list[dict] = []
    generated: list[dict] = []
    has_usage: bool = False
    usage: dict[str, int] = {}
    downloads_by_day: list[dict] = []
    top_documents: list[dict] = []

    @rx.event
    def load(self):
        with session_scope() as session:
            user = self.current_user(session)
            if user is None:
                return
            overview = home_service.overview(session, self.principal(session), user, reader_language=self.lang or "en")
        lang = self.lang or "en"
        self.last_login = self.fmt_dt(overview.previous_login)
        self.stats = overview.stats
        self.logins_by_day = overview.logins_by_day
        self.recent = [card_view(card, lang, self.time_zone) for card in overview.recent]
        self.generated = [dict(id=item.id, title=item.title, template=item.template_title,
                               created=self.fmt_dt(item.created_at), size=format_size(item.size, lang),
                               url=f"/api/cobrand/{item.id}/download") for item in overview.generated]
        usage = overview.usage
        self.has_usage = usage is not None
        if usage is not None:
            self.usage = dict(published=usage.published, drafts=usage.drafts,
                              stale=usage.stale_translations, downloads_7d=usage.downloads_7d,
                              downloads_14d=sum(day["downloads"] for day in usage.downloads_by_day))
            self.downloads_by_day = usage.downloads_by_day
            self.top_documents = [dict(href=f"/documents/{t.document_id}", title=t.title, downloads=t.downloads)
                                  for t in usage.top_documents]
        self.loaded = True

"""The top bar's "what's new" (bell): unread count on every page, the list when opened
(``services.notifications``); opening it marks what it shows as seen."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import format_date
from kbportal.services import notifications
from kbportal.ui.state.session import SessionState


class FeedState(SessionState):
    unread: int = 0
    counted: bool = False  # the count of this page view has arrived
    items: list[dict] = []
    loaded: bool = False

    @rx.event
    def count(self):
        with session_scope() as session:
            user = self.current_user(session)
            self.unread = notifications.unread_count(session, self.principal(session), user) if user else 0
        self.counted = True

    @rx.event
    def opened(self, is_open: bool):
        if not is_open:
            return
        lang = self.lang or "en"
        with session_scope() as session:
            user = self.current_user(session)
            if user is None:
                return
            found = notifications.feed(session, self.principal(session), user, reader_language=lang)
            notifications.mark_seen(session, user)
        self.items = [dict(href=f"/documents/{item.card.id}", title=item.card.local_title or item.card.title,
                           updated=not item.card.is_new and item.card.is_updated,
                           date=format_date(item.card.published_at, lang, self.time_zone), unread=item.unread)
                      for item in found]
        self.unread = 0
        self.loaded = True

"""Home page data: greeting facts, and for admins a glance at the portal."""

from __future__ import annotations


import reflex as rx

from kbportal.db import session_scope
from kbportal.services import home as home_service
from kbportal.ui.state.session import SessionState


class HomeState(SessionState):
    last_login: str = ""
    stats: dict[str, int] = {}
    logins_by_day: list[dict] = []

    @rx.event
    def load(self):
        with session_scope() as session:
            user = self.current_user(session)
            if user is None:
                return
            overview = home_service.overview(session, self.principal(session), user)
        self.last_login = self.fmt_dt(overview.previous_login)
        self.stats = overview.stats
        self.logins_by_day = overview.logins_by_day

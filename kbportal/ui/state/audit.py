"""Audit log page (admins)."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.services import audit
from kbportal.services.errors import NotFound
from kbportal.ui.state.session import SessionState


class AuditState(SessionState):
    events: list[dict] = []
    action_filter: str = ""

    @rx.event
    def load(self):
        try:
            with session_scope() as session:
                found = audit.recent(session, self.principal(session), limit=300, action=self.action_filter or None)
        except NotFound:
            self.events = []
            return
        self.events = [
            dict(at=self.fmt_dt(e.at), actor=e.actor_email or "-", action=e.action,
                 target=f"{e.target_type} {e.target_id}".strip(), ip=e.ip, detail=e.detail if e.detail != "{}" else "",
                 failed=e.action in ("login.failed", "login.locked"))
            for e in found
        ]

    @rx.event
    def set_action_filter(self, value: str):
        self.action_filter = "" if value == "all" else value
        return AuditState.load

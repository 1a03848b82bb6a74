"""Sign-in form."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.services import auth
from kbportal.services.errors import AuthFailed
from kbportal.ui.state.session import SessionState


class LoginState(SessionState):
    error: str = ""
    notice: str = ""
    busy: bool = False

    @rx.event
    def open(self):
        """on_load: already signed in -> home; otherwise show why we are here."""
        self.error = ""
        self.busy = False
        if not self.lang:
            from kbportal.i18n import best_language

            self.lang = best_language(self.router.headers.accept_language)
        if self.router.url.query_parameters.get("expired"):
            self.notice = self.tr("auth.session_expired")
        else:
            self.notice = ""
        if self.token:
            with session_scope() as session:
                if self.current_user(session) is not None:
                    return rx.redirect("/")

    @rx.event
    def submit(self, form: dict):
        self.error = ""
        self.busy = True
        yield
        try:
            result = auth.authenticate(
                form.get("email", ""),
                form.get("password", ""),
                ip=self.client_ip(),
                user_agent=self.router.headers.user_agent or "",
            )
        except AuthFailed as exc:
            self.error = self.error_text(exc)
            self.busy = False
            return
        self.token = result.token
        self.lang = result.user.ui_language or self.lang
        self.busy = False
        self.notice = ""
        target = self.router.url.query_parameters.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        yield rx.redirect(target)

"""The user's own settings: language, time zone, password."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import LANGUAGES
from kbportal.services import reference, users
from kbportal.services.errors import KbError, ValidationFailed
from kbportal.ui.state.session import SessionState


class ProfileState(SessionState):
    p_time_zone: str = "UTC"
    time_zones: list[str] = []
    current_password: str = ""
    new_password: str = ""
    errors: dict[str, str] = {}
    saving: bool = False

    @rx.var
    def languages(self) -> list[list[str]]:
        return [[code, name] for code, name in LANGUAGES.items()]

    @rx.event
    def load(self):
        self.p_time_zone = self.time_zone
        self.time_zones = reference.time_zones()
        self.current_password = self.new_password = ""
        self.errors = {}

    @rx.event
    def set_p_time_zone(self, value: str):
        self.p_time_zone = value

    @rx.event
    def set_current_password(self, value: str):
        self.current_password = value

    @rx.event
    def set_new_password(self, value: str):
        self.new_password = value

    @rx.event
    def save_time_zone(self):
        self.errors = {}
        try:
            with session_scope() as session:
                user = self.current_user(session)
                if user is None:
                    return rx.redirect("/login")
                users.set_own_preferences(session, user, time_zone=self.p_time_zone)
        except ValidationFailed as exc:
            self.errors = {"time_zone": self.error_text(exc)}
            return
        self.time_zone = self.p_time_zone
        return rx.toast.success(self.tr("profile.saved"))

    @rx.event
    def change_password(self):
        self.errors = {}
        self.saving = True
        yield
        try:
            with session_scope() as session:
                user = self.current_user(session)
                if user is None:
                    yield rx.redirect("/login")
                    return
                users.change_own_password(session, user, self.actor(), self.current_password, self.new_password,
                                          keep_token=self.token)
        except ValidationFailed as exc:
            self.errors = {exc.field or "new_password": self.error_text(exc)}
            self.saving = False
            return
        except KbError as exc:
            self.errors = {"new_password": self.error_text(exc)}
            self.saving = False
            return
        self.saving = False
        self.current_password = self.new_password = ""
        yield rx.toast.success(self.tr("profile.password_changed"))

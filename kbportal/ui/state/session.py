"""The signed-in user, the UI language and the page guard.

Every page's ``on_load`` starts with ``SessionState.guard(page)``: it resolves the
session cookie through ``services.auth`` and asks ``services.access`` whether this
page may open. Page states inherit from ``SessionState`` and call ``principal()``
inside their own DB session; the services enforce the rules again.
"""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from kbportal.db import session_scope
from kbportal.i18n import LANGUAGES, REFERENCE, best_language, catalogues, format_datetime, translate
from kbportal.models import Role, User
from kbportal.services import access, auth, orgs, reference, users
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import KbError

CATALOGUES = catalogues()
SESSION_COOKIE = "kbp_session"


class SessionState(rx.State):
    token: str = rx.Cookie("", name=SESSION_COOKIE, path="/", same_site="strict", max_age=30 * 24 * 3600)
    lang: str = rx.LocalStorage("", name="kbp_lang", sync=True)

    user_id: int = 0
    user_name: str = ""
    user_email: str = ""
    role: str = ""
    org_name: str = ""
    region: str = ""
    tier: str = ""
    time_zone: str = "UTC"
    page_allowed: bool = False
    checked: bool = False
    # Tier code -> how it is shown in the UI language (built-in tiers translated, added ones by name).
    tier_labels: dict[str, str] = {}

    # ------------------------------------------------------------------ vars

    @rx.var
    def t(self) -> dict[str, str]:
        """The UI catalogue of the current language (complete: gaps filled from English)."""
        return CATALOGUES.get(self.lang or REFERENCE, CATALOGUES[REFERENCE])

    @rx.var
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN.value, Role.MARKETING.value)

    @rx.var
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @rx.var
    def can_manage_users(self) -> bool:
        return self.role in (Role.ADMIN.value, Role.PARTNER_ADMIN.value)

    @rx.var
    def initials(self) -> str:
        parts = [p for p in self.user_name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    # ------------------------------------------------------------------ helpers for substates

    def client_ip(self) -> str:
        return self.router.session.client_ip or ""

    def actor(self) -> Actor:
        return Actor(user_id=self.user_id or None, email=self.user_email, ip=self.client_ip())

    def current_user(self, session: Session) -> User | None:
        return auth.resolve_session(session, self.token)

    def principal(self, session: Session) -> Principal:
        """The signed-in user's principal, in one query (every event handler asks for it)."""
        found = auth.resolve_principal(session, self.token)
        return found.principal if found is not None else access.ANONYMOUS

    def tr(self, key: str, **params: object) -> str:
        return translate(self.lang or REFERENCE, key, **params)

    def error_text(self, exc: KbError) -> str:
        return exc.message(self.lang or REFERENCE)

    def fmt_dt(self, value) -> str:
        return format_datetime(value, self.lang or REFERENCE, self.time_zone)

    def _load_user(self, session: Session, user: User) -> None:
        org = orgs.organisation_of(session, user)
        self.user_id = user.id or 0
        self.user_name = user.name
        self.user_email = user.email
        self.role = user.role
        self.org_name = org.name if org else ""
        self.region = org.region_code if org else ""
        self.tier = org.tier_code if org else ""
        self.time_zone = user.time_zone
        if user.ui_language and self.lang != user.ui_language:
            self.lang = user.ui_language
        self._load_tier_labels(session)

    def _load_tier_labels(self, session: Session) -> None:
        lang = self.lang or REFERENCE
        self.tier_labels = {t.code: reference.tier_label(t.code, t.name, lang) for t in reference.tiers(session)}

    def _clear_user(self) -> None:
        self.user_id = 0
        self.user_name = self.user_email = self.role = self.org_name = self.region = self.tier = ""
        self.page_allowed = False

    # ------------------------------------------------------------------ events

    @rx.event
    def guard(self, page: str):
        """on_load of every signed-in page: resolve the session, check the page rule."""
        with session_scope() as session:
            user = self.current_user(session)
            if user is None:
                had_session = bool(self.token)
                self._clear_user()
                self.token = ""
                self.checked = True
                target = self.router.url.path or "/"
                suffix = f"?next={target}" if target not in ("/", "/login") else ""
                if had_session:
                    suffix += ("&" if suffix else "?") + "expired=1"
                return rx.redirect(f"/login{suffix}")
            self._load_user(session, user)
            self.page_allowed = access.can_open_page(access.principal_for(session, user), page)
        self.checked = True

    @rx.event
    def init_language(self):
        """Before login: pick the browser's language unless one was chosen already."""
        if not self.lang:
            self.lang = best_language(self.router.headers.accept_language)

    @rx.event
    def set_language(self, lang: str):
        if lang not in LANGUAGES:
            return
        self.lang = lang
        with session_scope() as session:
            self._load_tier_labels(session)
            if self.token:
                user = self.current_user(session)
                if user is not None:
                    users.set_own_preferences(session, user, ui_language=lang)

    @rx.event
    def logout(self):
        with session_scope() as session:
            auth.logout(session, self.token, ip=self.client_ip())
        self.token = ""
        self._clear_user()
        return rx.redirect("/login")

"""Users admin page: admins see everyone, partner admins their organisation only."""

from __future__ import annotations

import csv
import io

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import LANGUAGES
from kbportal.models import Role
from kbportal.services import access, orgs, reference, users
from kbportal.services.errors import KbError
from kbportal.ui.state.form import FormMixin
from kbportal.ui.state.session import SessionState
from kbportal.ui.state.table import TableMixin

class AdminUsersState(TableMixin, FormMixin, SessionState):
    rows: list[dict] = []
    role_filter: str = "all"
    sort_key: str = "email"
    org_options: list[dict] = []      # [{"id": "3", "name": "Acme"}]
    role_options: list[str] = []      # roles this manager may assign
    time_zones: list[str] = []

    dialog_open: bool = False
    editing_id: int = 0
    f_email: str = ""
    f_name: str = ""
    f_role: str = ""
    f_org: str = ""
    f_language: str = "en"
    f_time_zone: str = "UTC"
    f_password: str = ""

    @rx.var
    def filtered_rows(self) -> list[dict]:
        return [r for r in self.rows if self.role_filter in ("all", r["role"])]

    def table_rows(self) -> list[dict]:
        return self.filtered_rows

    @rx.var
    def needs_org(self) -> bool:
        return self.f_role in (Role.PARTNER_ADMIN.value, Role.PARTNER_USER.value)

    @rx.var
    def languages(self) -> list[list[str]]:
        return [[code, name] for code, name in LANGUAGES.items()]

    def _reload(self) -> None:
        with session_scope() as session:
            principal = self.principal(session)
            found = users.list_users(session, principal, self.query)
            org_rows = orgs.list_orgs(session, principal)
            self.role_options = [r.value for r in Role if access.can_assign_role(principal, r)]
        self.time_zones = reference.time_zones()
        self.org_options = [{"id": str(o.id), "name": o.name} for o in org_rows]
        self.rows = [
            dict(id=u.id, email=u.email, name=u.name, role=u.role, org=u.org_name, org_id=str(u.org_id or ""),
                 language=u.ui_language, time_zone=u.time_zone, active=u.active,
                 last_login=self.fmt_dt(u.last_login_at))
            for u in found
        ]
        self.page = min(self.page, self.page_count - 1)

    @rx.event
    def set_role_filter(self, value: str):
        self.role_filter = value
        self.page = 0

    @rx.event
    def open_new(self):
        self.editing_id = 0
        self.f_email = self.f_name = self.f_password = ""
        self.f_role = self.role_options[-1] if self.role_options else ""
        self.f_org = self.org_options[0]["id"] if len(self.org_options) == 1 else ""
        self.f_language, self.f_time_zone = self.lang or "en", "UTC"
        self.clear_errors()
        self.dialog_open = True

    @rx.event
    def open_edit(self, user_id: int):
        row = next((r for r in self.rows if r["id"] == user_id), None)
        if row is None:
            return
        self.editing_id = user_id
        self.f_email, self.f_name, self.f_role, self.f_org = row["email"], row["name"], row["role"], row["org_id"]
        self.f_language, self.f_time_zone, self.f_password = row["language"], row["time_zone"], ""
        self.clear_errors()
        self.dialog_open = True

    @rx.event
    def set_dialog_open(self, value: bool):
        self.dialog_open = value

    @rx.event
    def set_field(self, name: str, value: str):
        if name in ("f_email", "f_name", "f_role", "f_org", "f_language", "f_time_zone", "f_password"):
            setattr(self, name, value)

    @rx.event
    def save(self):
        self.clear_errors()
        self.saving = True
        yield
        org_id = int(self.f_org) if self.needs_org and self.f_org else None
        try:
            with session_scope() as session:
                principal = self.principal(session)
                if self.editing_id:
                    users.update_user(session, principal, self.actor(), self.editing_id, name=self.f_name,
                                      role=self.f_role, org_id=org_id, change_org=True,
                                      ui_language=self.f_language, time_zone=self.f_time_zone)
                    if self.f_password:
                        users.set_password(session, principal, self.actor(), self.editing_id, self.f_password)
                else:
                    users.create_user(session, principal, self.actor(), email=self.f_email, name=self.f_name,
                                      role=self.f_role, password=self.f_password, org_id=org_id,
                                      ui_language=self.f_language, time_zone=self.f_time_zone)
        except KbError as exc:
            self.show_error(exc)
            return
        self.saving = False
        self.dialog_open = False
        email = self.f_email.strip()
        self._reload()
        yield rx.toast.success(self.tr("users.saved", email=email))

    @rx.event
    def toggle_active(self, user_id: int, active: bool):
        try:
            with session_scope() as session:
                users.set_active(session, self.principal(session), self.actor(), user_id, active)
        except KbError as exc:
            yield rx.toast.error(self.error_text(exc))
            return
        self._reload()

    @rx.event
    def export_csv(self):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "email", "name", "role", "organisation", "language", "time_zone", "active"])
        for r in self.sorted_rows:
            writer.writerow([r["id"], r["email"], r["name"], r["role"], r["org"], r["language"], r["time_zone"],
                             r["active"]])
        return rx.download(data=out.getvalue(), filename="users.csv")

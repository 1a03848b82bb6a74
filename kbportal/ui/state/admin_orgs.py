"""Organisations admin page: list, filter, sort, create, edit, (de)activate, CSV export."""

from __future__ import annotations

import csv
import io

import reflex as rx

from kbportal.db import session_scope
from kbportal.services import orgs, reference
from kbportal.services.errors import KbError
from kbportal.ui.state.form import FormMixin
from kbportal.ui.state.session import SessionState
from kbportal.ui.state.table import TableMixin

class AdminOrgsState(TableMixin, FormMixin, SessionState):
    rows: list[dict] = []
    sort_key: str = "name"
    region_codes: list[str] = []
    tier_codes: list[str] = []

    dialog_open: bool = False
    editing_id: int = 0
    f_name: str = ""
    f_region: str = ""
    f_tier: str = ""
    f_active: bool = True

    def table_rows(self) -> list[dict]:
        return self.rows

    def _reload(self) -> None:
        with session_scope() as session:
            principal = self.principal(session)
            found = orgs.list_orgs(session, principal, self.query)
            self._load_codes(session)
        self.rows = [dict(id=o.id, name=o.name, region=o.region, tier=o.tier, active=o.active, users=o.users)
                     for o in found]
        self.page = min(self.page, self.page_count - 1)

    def _load_codes(self, session) -> None:
        """The regions and tiers to choose from (an admin may have added one on this page)."""
        self.region_codes = [r.code for r in reference.regions(session)]
        self.tier_codes = [t.code for t in reference.tiers(session)]
        self._load_tier_labels(session)

    def _refresh_codes(self) -> None:
        with session_scope() as session:
            self._load_codes(session)

    @rx.event
    def open_new(self):
        self._refresh_codes()
        self.editing_id = 0
        self.f_name, self.f_region, self.f_tier, self.f_active = "", "", "", True
        self.clear_errors()
        self.dialog_open = True

    @rx.event
    def open_edit(self, org_id: int):
        row = next((r for r in self.rows if r["id"] == org_id), None)
        if row is None:
            return
        self._refresh_codes()
        self.editing_id = org_id
        self.f_name, self.f_region, self.f_tier, self.f_active = row["name"], row["region"], row["tier"], row["active"]
        self.clear_errors()
        self.dialog_open = True

    @rx.event
    def set_dialog_open(self, value: bool):
        self.dialog_open = value

    @rx.event
    def set_f_name(self, value: str):
        self.f_name = value

    @rx.event
    def set_f_region(self, value: str):
        self.f_region = value

    @rx.event
    def set_f_tier(self, value: str):
        self.f_tier = value

    @rx.event
    def set_f_active(self, value: bool):
        self.f_active = value

    @rx.event
    def save(self):
        self.clear_errors()
        self.saving = True
        yield
        try:
            with session_scope() as session:
                principal = self.principal(session)
                if self.editing_id:
                    orgs.update_org(session, principal, self.actor(), self.editing_id, name=self.f_name,
                                    region=self.f_region, tier=self.f_tier, active=self.f_active)
                else:
                    orgs.create_org(session, principal, self.actor(), self.f_name, self.f_region, self.f_tier,
                                    self.f_active)
        except KbError as exc:
            self.show_error(exc)
            return
        self.saving = False
        self.dialog_open = False
        name = self.f_name.strip()
        self._reload()
        yield rx.toast.success(self.tr("orgs.saved", name=name))

    @rx.event
    def toggle_active(self, org_id: int, active: bool):
        try:
            with session_scope() as session:
                orgs.update_org(session, self.principal(session), self.actor(), org_id, active=active)
        except KbError as exc:
            yield rx.toast.error(self.error_text(exc))
            return
        self._reload()

    @rx.event
    def export_csv(self):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "name", "region", "tier", "active", "users"])
        for r in self.sorted_rows:
            writer.writerow([r["id"], r["name"], r["region"], r["tier"], r["active"], r["users"]])
        return rx.download(data=out.getvalue(), filename="organisations.csv")

"""Regions and tiers on the organisations page (admins): list with how many organisations
use each, add, rename (``services.reference``)."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.services import reference
from kbportal.services.errors import KbError
from kbportal.ui.state.form import FormMixin
from kbportal.ui.state.session import SessionState


class AdminReferenceState(FormMixin, SessionState):
    regions: list[dict] = []
    tiers: list[dict] = []
    # The add forms
    new_region_code: str = ""
    new_region_name: str = ""
    new_tier_code: str = ""
    new_tier_name: str = ""
    new_tier_rank: str = ""
    # The rename dialog
    rename_kind: str = ""  # region | tier
    rename_code: str = ""
    rename_name: str = ""
    rename_open: bool = False

    def _reload(self) -> None:
        with session_scope() as session:
            principal = self.principal(session)
            regions = reference.region_rows(session, principal)
            tiers = reference.tier_rows(session, principal)
            self._load_tier_labels(session)
        self.regions = [dict(code=r.code, name=r.name, organisations=r.organisations) for r in regions]
        self.tiers = [dict(code=t.code, name=t.name, label=self.tier_labels.get(t.code, t.name), rank=t.rank,
                           organisations=t.organisations) for t in tiers]

    @rx.event
    def load(self):
        if self.page_allowed:
            self._reload()

    @rx.event
    def set_new_region_code(self, value: str):
        self.new_region_code = value

    @rx.event
    def set_new_region_name(self, value: str):
        self.new_region_name = value

    @rx.event
    def set_new_tier_code(self, value: str):
        self.new_tier_code = value

    @rx.event
    def set_new_tier_name(self, value: str):
        self.new_tier_name = value

    @rx.event
    def set_new_tier_rank(self, value: str):
        self.new_tier_rank = value

    @rx.event
    def set_rename_name(self, value: str):
        self.rename_name = value

    @rx.event
    def set_rename_open(self, value: bool):
        self.rename_open = value

    @rx.event
    def add_region(self):
        self.clear_errors()
        try:
            with session_scope() as session:
                region = reference.add_region(session, self.principal(session), self.actor(),
                                              self.new_region_code, self.new_region_name)
                code = region.code
        except KbError as exc:
            self.errors = {"region": self.error_text(exc)}
            return
        self.new_region_code = self.new_region_name = ""
        self._reload()
        return rx.toast.success(self.tr("reference.region_added", code=code))

    @rx.event
    def add_tier(self):
        self.clear_errors()
        try:
            rank = int(self.new_tier_rank.strip())
        except ValueError:
            self.errors = {"tier": self.tr("reference.rank_number")}
            return
        try:
            with session_scope() as session:
                tier = reference.add_tier(session, self.principal(session), self.actor(), self.new_tier_code,
                                          self.new_tier_name, rank)
                code = tier.code
        except KbError as exc:
            self.errors = {"tier": self.error_text(exc)}
            return
        self.new_tier_code = self.new_tier_name = self.new_tier_rank = ""
        self._reload()
        return rx.toast.success(self.tr("reference.tier_added", code=code))

    @rx.event
    def open_rename(self, kind: str, code: str, name: str):
        self.clear_errors()
        self.rename_kind, self.rename_code, self.rename_name = kind, code, name
        self.rename_open = True

    @rx.event
    def save_rename(self):
        self.clear_errors()
        try:
            with session_scope() as session:
                rename = reference.rename_region if self.rename_kind == "region" else reference.rename_tier
                rename(session, self.principal(session), self.actor(), self.rename_code, self.rename_name)
        except KbError as exc:
            self.show_error(exc)
            return
        self.rename_open = False
        self._reload()
        return rx.toast.success(self.tr("reference.renamed", code=self.rename_code))

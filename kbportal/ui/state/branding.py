"""Branding profile page: partner admins edit their organisation's profile and logo;
its other members read it. Rules and validation live in ``services.branding``."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import format_size
from kbportal.services import branding, orgs, uploads
from kbportal.services.branding import BrandingInfo
from kbportal.services.errors import KbError
from kbportal.ui.state.form import FormMixin
from kbportal.ui.state.session import SessionState

LOGO_UPLOAD_ID = "logo-upload"
FIELDS = ("partner_name", "contact_name", "email", "phone", "address", "website", "footer", "brand_colour")


class BrandingState(FormMixin, SessionState):
    loaded: bool = False
    org_id: int = 0  # 0: the user has no organisation (staff)
    org_name: str = ""
    can_edit: bool = False
    version: int = 0
    updated: str = ""
    values: dict[str, str] = {f: "" for f in FIELDS}
    has_logo: bool = False
    logo_info: str = ""
    remove_logo: bool = False
    # Staff have no organisation: they pick the one whose profile to see (admins may edit it).
    is_picker: bool = False
    org_choices: list[dict] = []
    picked_org: str = ""

    def _show(self, info: BrandingInfo) -> None:
        self.org_id, self.org_name, self.can_edit, self.version = info.org_id, info.org_name, info.can_edit, \
            info.version
        self.values = {f: getattr(info, f) for f in FIELDS}
        self.has_logo = info.has_logo
        self.logo_info = (self.tr("branding.logo_info", width=info.logo_width, height=info.logo_height,
                                  size=format_size(info.logo_size, self.lang or "en")) if info.has_logo else "")
        self.updated = self.fmt_dt(info.updated_at) if info.updated_at else ""
        self.remove_logo = False

    @rx.var
    def logo_url(self) -> str:
        """The current logo; the version makes a new logo load instead of the cached one."""
        return f"/api/branding/{self.org_id}/logo?v={self.version}" if self.has_logo else ""

    def _open(self) -> None:
        with session_scope() as session:
            principal = self.principal(session)
            self.is_picker = principal.org_id is None and principal.is_staff
            if self.is_picker:
                self.org_choices = [dict(id=str(o.id), name=o.name) for o in orgs.list_orgs(session, principal)
                                    if o.active]
            org_id = principal.org_id or (int(self.picked_org) if self.picked_org else None)
            info = branding.get_profile(session, principal, org_id) if org_id else None
        if info is None:
            self.org_id, self.can_edit = 0, False
        else:
            self._show(info)
        self.loaded = True

    @rx.event
    def load(self):
        self.clear_errors()
        self.loaded = False
        self._open()

    @rx.event
    def pick_org(self, value: str):
        self.clear_errors()
        self.picked_org = value
        self._open()

    @rx.event
    def set_value(self, name: str, value: str):
        if name in FIELDS:
            self.values = {**self.values, name: value}

    @rx.event
    def set_remove_logo(self, value: bool):
        self.remove_logo = value

    @rx.event
    async def save(self, files: list[rx.UploadFile]):
        """Save the profile (and the chosen logo, if any)."""
        self.clear_errors()
        self.saving = True
        yield
        path = None
        try:
            path = await uploads.receive(files[0]) if files else None
            with uploads.cleanup(*([path] if path else [])), session_scope() as session:
                info = branding.update_profile(session, self.principal(session), self.actor(), self.org_id,
                                               **self.values, logo_path=path, remove_logo=self.remove_logo)
        except KbError as exc:
            if getattr(exc, "field", "") == "file":  # the upload limit: it is about the logo
                exc.field = "logo"
            self.show_error(exc, inline=frozenset({*FIELDS, "logo"}))
            yield rx.toast.error(self.error_text(exc))
            return
        self._show(info)
        self.saving = False
        yield rx.clear_selected_files(LOGO_UPLOAD_ID)
        yield rx.toast.success(self.tr("branding.saved_toast"))

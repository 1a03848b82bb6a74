"""Reflex entry point: the app, its theme, pages and HTTP routes."""

from __future__ import annotations

import reflex as rx

from kbportal.api.routes import build_api
from kbportal.api.upload_limit import UploadSizeLimit
from kbportal.ui.components.layout import not_found_view
from kbportal.ui.pages.admin_audit import admin_audit_page
from kbportal.ui.pages.admin_orgs import admin_orgs_page
from kbportal.ui.pages.admin_system import admin_system_page
from kbportal.ui.pages.admin_translation import admin_translation_page
from kbportal.ui.pages.admin_users import admin_users_page
from kbportal.ui.pages.branding import branding_page
from kbportal.ui.pages.cobrand import cobrand_page
from kbportal.ui.pages.document import document_page
from kbportal.ui.pages.home import home_page
from kbportal.ui.pages.library import library_page
from kbportal.ui.pages.login import login_page
from kbportal.ui.pages.profile import profile_page
from kbportal.ui.pages.search import search_page
from kbportal.ui.pages.studio import studio_page
from kbportal.ui.state.admin_orgs import AdminOrgsState
from kbportal.ui.state.admin_reference import AdminReferenceState
from kbportal.ui.state.admin_system import AdminSystemState
from kbportal.ui.state.admin_translation import AdminTranslationState
from kbportal.ui.state.admin_users import AdminUsersState
from kbportal.ui.state.audit import AuditState
from kbportal.ui.state.branding import BrandingState
from kbportal.ui.state.cobrand import CobrandState
from kbportal.ui.state.document import DocumentState
from kbportal.ui.state.home import HomeState
from kbportal.ui.state.library import LibraryState
from kbportal.ui.state.login import LoginState
from kbportal.ui.state.profile import ProfileState
from kbportal.ui.state.search import SearchState
from kbportal.ui.state.session import SessionState
from kbportal.ui.state.studio import StudioState


def _not_found_page() -> rx.Component:
    return rx.center(rx.vstack(not_found_view(), align="center"), min_height="100vh",
                     on_mount=SessionState.init_language)


app = rx.App(
    api_transformer=[build_api(), UploadSizeLimit],
    head_components=[rx.el.meta(name="theme-color", content="#3e63dd")],
)

app.add_page(login_page, route="/login", title="Sign in", on_load=LoginState.open)
app.add_page(home_page, route="/", title="Home", on_load=[SessionState.guard("home"), HomeState.load])
app.add_page(library_page, route="/library", title="Library",
             on_load=[SessionState.guard("library"), LibraryState.load])
app.add_page(document_page, route="/documents/[doc_id]", title="Document",
             on_load=[SessionState.guard("library"), DocumentState.load])
app.add_page(studio_page, route="/studio", title="Studio", on_load=[SessionState.guard("studio"), StudioState.load])
app.add_page(admin_orgs_page, route="/admin/orgs", title="Organisations",
             on_load=[SessionState.guard("admin_orgs"), AdminOrgsState.load, AdminReferenceState.load])
app.add_page(admin_users_page, route="/admin/users", title="Users",
             on_load=[SessionState.guard("admin_users"), AdminUsersState.load])
app.add_page(admin_audit_page, route="/admin/audit", title="Audit log",
             on_load=[SessionState.guard("admin_audit"), AuditState.load])
app.add_page(admin_system_page, route="/admin/system", title="System",
             on_load=[SessionState.guard("admin_system"), AdminSystemState.load])
app.add_page(admin_translation_page, route="/admin/translation", title="Translation",
             on_load=[SessionState.guard("admin_translation"), AdminTranslationState.load])
app.add_page(search_page, route="/search", title="Search", on_load=[SessionState.guard("search"), SearchState.load])
app.add_page(cobrand_page, route="/cobrand", title="Co-brand",
             on_load=[SessionState.guard("cobrand"), CobrandState.load])
# Every member reads the profile (it prefills the co-brand form); the service lets only partner admins edit.
app.add_page(branding_page, route="/branding", title="Branding",
             on_load=[SessionState.guard("cobrand"), BrandingState.load])
app.add_page(profile_page, route="/profile", title="Profile", on_load=[SessionState.guard("home"), ProfileState.load])
app.add_page(_not_found_page, route="404", title="Not found")

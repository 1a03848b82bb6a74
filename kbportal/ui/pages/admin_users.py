"""Admin: users (admins: everyone; partner admins: their organisation)."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, empty_state, field, page_header
from kbportal.ui.components.table import responsive_list, sort_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.admin_users import AdminUsersState as S
from kbportal.ui.state.session import SessionState


def _role_label(role) -> rx.Var:
    return SessionState.t["role." + role.to(str)]


def _status_badge(active) -> rx.Component:
    return rx.cond(active, rx.badge(tr("common.active"), color_scheme="green"),
                   rx.badge(tr("common.disabled"), color_scheme="red"))


def _actions(user: dict) -> rx.Component:
    return rx.hstack(
        rx.button(rx.icon("pencil", size=14), tr("common.edit"), size="1", variant="soft",
                  on_click=S.open_edit(user["id"]), data_testid="user-edit"),
        rx.cond(user["id"] != SessionState.user_id,
                rx.cond(user["active"],
                        rx.button(tr("users.disable"), size="1", variant="ghost", color_scheme="red",
                                  on_click=S.toggle_active(user["id"], False), data_testid="user-disable"),
                        rx.button(tr("users.enable"), size="1", variant="ghost",
                                  on_click=S.toggle_active(user["id"], True), data_testid="user-enable"))),
        spacing="2",
        align="center",
    )


def _row(user: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.vstack(rx.text(user["name"], weight="medium"),
                                           rx.text(user["email"], size="1", color=rx.color("gray", 11)),
                                           spacing="0")),
        rx.table.cell(rx.badge(_role_label(user["role"]), variant="soft")),
        rx.table.cell(user["org"]),
        rx.table.cell(user["language"]),
        rx.table.cell(rx.text(user["last_login"], size="1")),
        rx.table.cell(_status_badge(user["active"])),
        rx.table.cell(_actions(user)),
        data_testid="user-row",
    )


def _card(user: dict) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text(user["name"], weight="bold"), rx.spacer(), _status_badge(user["active"]), width="100%"),
            rx.text(user["email"], size="2", color=rx.color("gray", 11), word_break="break-all"),
            rx.hstack(rx.badge(_role_label(user["role"]), variant="soft"), rx.text(user["org"], size="2"),
                      spacing="2", wrap="wrap"),
            _actions(user),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing_id > 0, tr("users.edit_title"), tr("users.new_title"))),
            rx.vstack(
                field("users.email", rx.input(value=S.f_email, on_change=S.set_field("f_email"), type="email",
                                              disabled=S.editing_id > 0, width="100%", data_testid="user-email"),
                      S.errors["email"]),
                field("users.name", rx.input(value=S.f_name, on_change=S.set_field("f_name"), width="100%",
                                             max_length=120, data_testid="user-name"), S.errors["name"]),
                field("users.role", rx.select.root(
                    rx.select.trigger(placeholder=tr("common.choose"), width="100%", data_testid="user-role"),
                    rx.select.content(rx.foreach(S.role_options,
                                                 lambda r: rx.select.item(_role_label(r), value=r))),
                    value=S.f_role, on_change=S.set_field("f_role")), S.errors["role"]),
                rx.cond(S.needs_org, field("users.organisation", rx.select.root(
                    rx.select.trigger(placeholder=tr("common.choose"), width="100%", data_testid="user-org"),
                    rx.select.content(rx.foreach(S.org_options,
                                                 lambda o: rx.select.item(o["name"], value=o["id"]))),
                    value=S.f_org, on_change=S.set_field("f_org")), S.errors["org_id"])),
                rx.grid(
                    field("users.language", rx.select.root(
                        rx.select.trigger(width="100%", data_testid="user-language"),
                        rx.select.content(rx.foreach(S.languages, lambda l: rx.select.item(l[1], value=l[0]))),
                        value=S.f_language, on_change=S.set_field("f_language")), S.errors["ui_language"]),
                    field("users.time_zone", rx.input(value=S.f_time_zone, on_change=S.set_field("f_time_zone"),
                                                      list="kbp-time-zones", width="100%",
                                                      data_testid="user-timezone"), S.errors["time_zone"]),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.el.datalist(rx.foreach(S.time_zones, lambda z: rx.el.option(value=z)), id="kbp-time-zones"),
                field("users.password",
                      rx.input(value=S.f_password, on_change=S.set_field("f_password"), type="password",
                               auto_complete="new-password", width="100%", data_testid="user-password"),
                      S.errors["password"], hint_key="users.password_hint"),
                rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                       width="100%", role="alert", data_testid="user-form-error")),
                rx.hstack(
                    rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                    rx.button(tr("common.save"), on_click=S.save, loading=S.saving, data_testid="user-save"),
                    justify="end", width="100%", spacing="3",
                ),
                spacing="4",
                width="100%",
            ),
            max_width="520px",
        ),
        open=S.dialog_open,
        on_open_change=S.set_dialog_open,
    )


def admin_users_page() -> rx.Component:
    return app_shell(
        page_header(
            "users.title", "users.description",
            rx.button(rx.icon("download", size=16), tr("common.export_csv"), variant="soft", on_click=S.export_csv),
            rx.button(rx.icon("user-plus", size=16), tr("users.add"), on_click=S.open_new, data_testid="user-add"),
        ),
        rx.flex(
            rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder=tr("users.filter"), value=S.query,
                     on_change=S.set_query.debounce(300), width="100%", max_width="360px",
                     data_testid="user-filter"),
            rx.select.root(
                rx.select.trigger(data_testid="user-role-filter"),
                rx.select.content(
                    rx.select.item(tr("users.all_roles"), value="all"),
                    rx.foreach(["admin", "marketing", "partner_admin", "partner_user"],
                               lambda r: rx.select.item(_role_label(r), value=r)),
                ),
                value=S.role_filter, on_change=S.set_role_filter,
            ),
            gap="12px", wrap="wrap", width="100%",
        ),
        rx.cond(
            S.filtered_rows.length() > 0,
            responsive_list(S, [
                sort_header("users.name", "name", S), sort_header("users.role", "role", S),
                sort_header("users.organisation", "org", S), sort_header("users.language", "language", S),
                sort_header("users.last_login", "last_login", S), sort_header("common.status", "active", S),
            ], _row, _card),
            empty_state("users", "users.empty_title", "users.empty_body",
                        rx.button(tr("users.add"), on_click=S.open_new)),
        ),
        _dialog(),
    )

"""Admin: organisations."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, empty_state, field, page_header
from kbportal.ui.components.table import responsive_list, sort_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.admin_orgs import AdminOrgsState as S
from kbportal.ui.state.session import SessionState


def _tier_label(code) -> rx.Var:
    return SessionState.t["tier." + code.to(str)]


def _status_badge(active) -> rx.Component:
    return rx.cond(active, rx.badge(tr("common.active"), color_scheme="green"),
                   rx.badge(tr("common.inactive"), color_scheme="gray"))


def _row(org: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(org["name"], weight="medium")),
        rx.table.cell(rx.badge(org["region"], variant="soft")),
        rx.table.cell(_tier_label(org["tier"])),
        rx.table.cell(org["users"]),
        rx.table.cell(_status_badge(org["active"])),
        rx.table.cell(_actions(org)),
        data_testid="org-row",
    )


def _actions(org: dict) -> rx.Component:
    return rx.hstack(
        rx.button(rx.icon("pencil", size=14), tr("common.edit"), size="1", variant="soft",
                  on_click=S.open_edit(org["id"]), data_testid="org-edit"),
        rx.cond(org["active"],
                rx.button(tr("common.deactivate"), size="1", variant="ghost", color_scheme="red",
                          on_click=S.toggle_active(org["id"], False)),
                rx.button(tr("common.activate"), size="1", variant="ghost",
                          on_click=S.toggle_active(org["id"], True))),
        spacing="2",
        align="center",
    )


def _card(org: dict) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text(org["name"], weight="bold"), rx.spacer(), _status_badge(org["active"]), width="100%"),
            rx.hstack(rx.badge(org["region"], variant="soft"), rx.text(_tier_label(org["tier"]), size="2"),
                      rx.text("·", size="2"), rx.icon("users", size=14), rx.text(org["users"], size="2"),
                      align="center", spacing="2"),
            _actions(org),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing_id > 0, tr("orgs.edit_title"), tr("orgs.new_title"))),
            rx.vstack(
                field("orgs.name", rx.input(value=S.f_name, on_change=S.set_f_name, width="100%",
                                            data_testid="org-name", max_length=120), S.errors["name"]),
                field("orgs.region", rx.select.root(
                    rx.select.trigger(placeholder=tr("common.choose"), width="100%", data_testid="org-region"),
                    rx.select.content(rx.foreach(S.region_codes, lambda c: rx.select.item(c, value=c))),
                    value=S.f_region, on_change=S.set_f_region), S.errors["region"]),
                field("orgs.tier", rx.select.root(
                    rx.select.trigger(placeholder=tr("common.choose"), width="100%", data_testid="org-tier"),
                    rx.select.content(rx.foreach(S.tier_codes, lambda c: rx.select.item(_tier_label(c), value=c))),
                    value=S.f_tier, on_change=S.set_f_tier), S.errors["tier"]),
                rx.hstack(rx.switch(checked=S.f_active, on_change=S.set_f_active, data_testid="org-active"),
                          rx.text(tr("common.active"), size="2"), align="center"),
                rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                       width="100%", role="alert")),
                rx.hstack(
                    rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                    rx.button(tr("common.save"), on_click=S.save, loading=S.saving, data_testid="org-save"),
                    justify="end",
                    width="100%",
                    spacing="3",
                ),
                spacing="4",
                width="100%",
            ),
            max_width="460px",
        ),
        open=S.dialog_open,
        on_open_change=S.set_dialog_open,
    )


def admin_orgs_page() -> rx.Component:
    return app_shell(
        page_header(
            "orgs.title", "orgs.description",
            rx.button(rx.icon("download", size=16), tr("common.export_csv"), variant="soft", on_click=S.export_csv),
            rx.button(rx.icon("plus", size=16), tr("orgs.add"), on_click=S.open_new, data_testid="org-add"),
        ),
        rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder=tr("orgs.filter"), value=S.query,
                 on_change=S.set_query.debounce(300), width="100%", max_width="360px", data_testid="org-filter"),
        rx.cond(
            S.rows.length() > 0,
            responsive_list(S, [
                sort_header("orgs.name", "name", S), sort_header("orgs.region", "region", S),
                sort_header("orgs.tier", "tier", S), sort_header("orgs.users", "users", S),
                sort_header("common.status", "active", S),
            ], _row, _card),
            empty_state("building-2", "orgs.empty_title", "orgs.empty_body",
                        rx.button(tr("orgs.add"), on_click=S.open_new)),
        ),
        _dialog(),
    )

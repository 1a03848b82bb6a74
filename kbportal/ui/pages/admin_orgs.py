"""Admin: organisations."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, empty_state, field, page_header
from kbportal.ui.components.table import responsive_list, sort_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.admin_orgs import AdminOrgsState as S
from kbportal.ui.state.admin_reference import AdminReferenceState as R
from kbportal.ui.state.session import SessionState


def _tier_label(code) -> rx.Var:
    return SessionState.tier_labels[code.to(str)]


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


def _rename_button(kind: str, row: dict, testid: str) -> rx.Component:
    return rx.icon_button(rx.icon("pencil", size=14), size="1", variant="ghost", aria_label=tr("reference.rename"),
                          on_click=R.open_rename(kind, row["code"], row["name"]), data_testid=testid)


def _error_line(key: str) -> rx.Component:
    return rx.cond(R.errors[key] != "", rx.text(R.errors[key], size="1", color=rx.color("red", 11), role="alert"))


def _regions_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("reference.regions_title"), size="4"),
            rx.table.root(
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(tr("reference.code")), rx.table.column_header_cell(tr("orgs.name")),
                    rx.table.column_header_cell(tr("nav.organisations")), rx.table.column_header_cell(""))),
                rx.table.body(rx.foreach(R.regions, lambda r: rx.table.row(
                    rx.table.cell(rx.badge(r["code"], variant="soft")), rx.table.cell(r["name"]),
                    rx.table.cell(r["organisations"]), rx.table.cell(_rename_button("region", r, "region-rename")),
                    data_testid="region-row"))),
                size="1", width="100%",
            ),
            rx.hstack(
                rx.input(placeholder=tr("reference.code"), value=R.new_region_code, on_change=R.set_new_region_code,
                         max_length=16, width="90px", data_testid="region-code"),
                rx.input(placeholder=tr("orgs.name"), value=R.new_region_name, on_change=R.set_new_region_name,
                         max_length=80, flex="1", min_width="0", data_testid="region-name"),
                rx.button(rx.icon("plus", size=14), tr("reference.add"), on_click=R.add_region, variant="soft",
                          data_testid="region-add"),
                width="100%", spacing="2",
            ),
            _error_line("region"),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _tiers_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(tr("reference.tiers_title"), size="4"),
            rx.text(tr("reference.tiers_help"), size="1", color=rx.color("gray", 10)),
            rx.table.root(
                rx.table.header(rx.table.row(
                    rx.table.column_header_cell(tr("reference.rank")), rx.table.column_header_cell(tr("reference.code")),
                    rx.table.column_header_cell(tr("orgs.name")),
                    rx.table.column_header_cell(tr("nav.organisations")), rx.table.column_header_cell(""))),
                rx.table.body(rx.foreach(R.tiers, lambda t: rx.table.row(
                    rx.table.cell(t["rank"]), rx.table.cell(rx.code(t["code"])), rx.table.cell(t["label"]),
                    rx.table.cell(t["organisations"]), rx.table.cell(_rename_button("tier", t, "tier-rename")),
                    data_testid="tier-row"))),
                size="1", width="100%",
            ),
            rx.hstack(
                rx.input(placeholder=tr("reference.code"), value=R.new_tier_code, on_change=R.set_new_tier_code,
                         max_length=16, width="90px", data_testid="tier-code"),
                rx.input(placeholder=tr("orgs.name"), value=R.new_tier_name, on_change=R.set_new_tier_name,
                         max_length=80, flex="1", min_width="0", data_testid="tier-name"),
                rx.input(placeholder=tr("reference.rank"), value=R.new_tier_rank, on_change=R.set_new_tier_rank,
                         type="number", width="72px", data_testid="tier-rank"),
                rx.button(rx.icon("plus", size=14), tr("reference.add"), on_click=R.add_tier, variant="soft",
                          data_testid="tier-add"),
                width="100%", spacing="2", wrap="wrap",
            ),
            _error_line("tier"),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _rename_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(tr("reference.rename"), " ", rx.code(R.rename_code)),
            rx.vstack(
                field("orgs.name", rx.input(value=R.rename_name, on_change=R.set_rename_name, width="100%",
                                            max_length=80, data_testid="rename-name"), R.errors["name"]),
                rx.text(tr("reference.rename_help"), size="1", color=rx.color("gray", 10)),
                rx.cond(R.form_error != "", rx.callout(R.form_error, icon="triangle-alert", color_scheme="red",
                                                       width="100%", role="alert")),
                rx.hstack(
                    rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                    rx.button(tr("common.save"), on_click=R.save_rename, data_testid="rename-save"),
                    justify="end", width="100%", spacing="3",
                ),
                spacing="4", width="100%",
            ),
            max_width="420px",
        ),
        open=R.rename_open,
        on_open_change=R.set_rename_open,
    )


def _reference_section() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("reference.title"), size="5", margin_top="16px"),
        rx.text(tr("reference.description"), size="2", color=rx.color("gray", 11)),
        rx.grid(_regions_card(), _tiers_card(), columns=rx.breakpoints(initial="1", lg="2"), spacing="4",
                width="100%"),
        _rename_dialog(),
        spacing="3", width="100%", data_testid="reference-section",
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
        _reference_section(),
    )

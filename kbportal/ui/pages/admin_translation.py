"""Admin: machine translation packages (installed, reachable pairs, install, remove)."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, empty_state, page_header
from kbportal.ui.i18n import tr
from kbportal.ui.pages.document import upload_zone
from kbportal.ui.state.admin_translation import AdminTranslationState as S

UPLOAD_ID = "package-upload"


def _package_row(p: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.vstack(rx.text(p["pair"], weight="bold", size="2", white_space="nowrap"),
                                           rx.text(p["names"], size="1", color=rx.color("gray", 11)), spacing="0")),
        rx.table.cell(rx.code(p["version"], variant="ghost")),
        rx.table.cell(rx.text(p["size"], size="2", white_space="nowrap")),
        rx.table.cell(rx.alert_dialog.root(
            rx.alert_dialog.trigger(rx.button(rx.icon("trash-2", size=14), tr("translation_admin.remove"), size="1",
                                              variant="soft", color_scheme="red", data_testid="package-remove")),
            rx.alert_dialog.content(
                rx.alert_dialog.title(tr("translation_admin.remove_title")),
                rx.alert_dialog.description(tr("translation_admin.remove_body"), " ", rx.text.strong(p["pair"])),
                rx.hstack(rx.alert_dialog.cancel(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                          rx.alert_dialog.action(rx.button(tr("translation_admin.remove"), color_scheme="red",
                                                           on_click=S.remove(p["source"], p["target"]),
                                                           data_testid="package-remove-confirm")),
                          justify="end", spacing="2", padding_top="12px"),
                max_width="440px"),
        )),
        data_testid="package-row-" + p["source"].to(str) + "-" + p["target"].to(str),
    )


def _pair_row(p: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(p["pair"], weight="bold", size="2", white_space="nowrap")),
        rx.table.cell(rx.text(p["names"], size="2")),
        rx.table.cell(rx.cond(p["via"].to(str) != "",
                              rx.badge(tr("translation_admin.via_english"), color_scheme="amber", variant="soft"),
                              rx.badge(tr("translation_admin.direct"), color_scheme="green", variant="soft"))),
        data_testid="pair-row-" + p["key"].to(str),
    )


def _table(headers: tuple[str, ...], rows, render) -> rx.Component:
    return rx.box(rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k) if k else "") for k in headers])),
        rx.table.body(rx.foreach(rows, render)),
        width="100%", variant="surface", size="1"), width="100%", overflow_x="auto")


def _install_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(tr("translation_admin.install")),
        rx.dialog.description(tr("translation_admin.install_help"), size="2"),
        rx.vstack(
            upload_zone(UPLOAD_ID, S.file_rejected),
            rx.cond(S.install_error != "", rx.callout(S.install_error, icon="triangle-alert", color_scheme="red",
                                                      width="100%", data_testid="install-error")),
            rx.hstack(rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                      rx.button(tr("translation_admin.install"), loading=S.installing, data_testid="install-submit",
                                on_click=S.install(rx.upload_files(upload_id=UPLOAD_ID))),
                      justify="end", width="100%"),
            spacing="3", width="100%", padding_top="8px"),
        max_width="520px",
    ), open=S.install_open, on_open_change=S.set_install_open)


def admin_translation_page() -> rx.Component:
    return app_shell(rx.vstack(
        page_header("translation_admin.title", "translation_admin.description",
                    rx.button(rx.icon("package-plus", size=16), tr("translation_admin.install"),
                              on_click=S.set_install_open(True), data_testid="install-package")),
        rx.heading(tr("translation_admin.packages"), size="4"),
        rx.cond(S.packages.length() > 0,
                _table(("translation_admin.pair", "translation_admin.version", "document.size", ""),
                       S.packages, _package_row),
                empty_state("package", "translation_admin.none_title", "translation_admin.none_body")),
        rx.heading(tr("translation_admin.pairs"), size="4"),
        rx.text(tr("translation_admin.pairs_help"), size="2", color=rx.color("gray", 11)),
        rx.cond(S.pair_rows.length() > 0,
                _table(("translation_admin.pair", "translation_admin.languages", "translation_admin.route"),
                       S.pair_rows, _pair_row),
                rx.text(tr("translation_admin.no_pairs"), size="2", color=rx.color("gray", 11))),
        _install_dialog(),
        spacing="4", width="100%",
    ))

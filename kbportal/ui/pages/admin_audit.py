"""Admin: audit log."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, empty_state, page_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.audit import AuditState as S

ACTIONS = ["login.ok", "login.failed", "login.locked", "logout", "org.created", "org.updated", "user.created",
           "user.updated", "user.disabled", "user.enabled", "user.password_changed"]


def _row(e: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(e["at"], size="1", white_space="nowrap")),
        rx.table.cell(rx.text(e["actor"], size="2", word_break="break-all")),
        rx.table.cell(rx.badge(e["action"], color_scheme=rx.cond(e["failed"], "red", "gray"))),
        rx.table.cell(rx.text(e["target"], size="2")),
        rx.table.cell(rx.text(e["ip"], size="1")),
        rx.table.cell(rx.text(e["detail"], size="1", color=rx.color("gray", 11), word_break="break-all")),
        data_testid="audit-row",
    )


def admin_audit_page() -> rx.Component:
    return app_shell(
        page_header("audit.title", "audit.description"),
        rx.select.root(
            rx.select.trigger(placeholder=tr("audit.all_actions")),
            rx.select.content(rx.select.item(tr("audit.all_actions"), value="all"),
                              *[rx.select.item(a, value=a) for a in ACTIONS]),
            on_change=S.set_action_filter,
        ),
        rx.cond(
            S.events.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(
                        *[rx.table.column_header_cell(tr(k)) for k in
                          ("audit.when", "audit.who", "audit.what", "audit.target", "audit.from", "audit.detail")])),
                    rx.table.body(rx.foreach(S.events, _row)),
                    width="100%",
                    variant="surface",
                    size="1",
                ),
                width="100%",
                overflow_x="auto",
            ),
            empty_state("scroll-text", "audit.empty_title", "audit.empty_body"),
        ),
    )

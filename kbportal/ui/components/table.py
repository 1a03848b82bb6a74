"""Sortable table header cells and a pager shared by admin tables."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.i18n import tr


def sort_header(label_key: str, key: str, state) -> rx.Component:
    arrow = rx.cond(state.sort_key == key, rx.cond(state.sort_desc, rx.icon("arrow-down", size=12),
                                                   rx.icon("arrow-up", size=12)), rx.fragment())
    return rx.table.column_header_cell(
        rx.hstack(rx.text(tr(label_key)), arrow, align="center", spacing="1", cursor="pointer",
                  on_click=state.sort_by(key)),
    )


def pager(state) -> rx.Component:
    return rx.hstack(
        rx.icon_button(rx.icon("chevron-left"), variant="soft", on_click=state.prev_page,
                       disabled=state.page == 0, aria_label=tr("table.previous")),
        rx.text(state.page + 1, " / ", state.page_count, size="2"),
        rx.icon_button(rx.icon("chevron-right"), variant="soft", on_click=state.next_page,
                       disabled=state.page + 1 >= state.page_count, aria_label=tr("table.next")),
        align="center",
        spacing="2",
        justify="end",
        width="100%",
    )


def responsive_list(state, header: list[rx.Component], row, card) -> rx.Component:
    """The current page of ``state`` as a table on wide screens and as cards on phones, with a pager."""
    return rx.vstack(
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*header, rx.table.column_header_cell(""))),
                rx.table.body(rx.foreach(state.page_rows, row)),
                width="100%",
                variant="surface",
            ),
            display=["none", "none", "block"],
            width="100%",
        ),
        rx.vstack(rx.foreach(state.page_rows, card), display=["flex", "flex", "none"], width="100%", spacing="3"),
        pager(state),
        width="100%",
        spacing="3",
    )

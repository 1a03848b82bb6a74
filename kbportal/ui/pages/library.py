"""Library: collateral this user may see."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.documents import document_card
from kbportal.ui.components.layout import app_shell, empty_state, page_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.library import LibraryState as S
from kbportal.ui.state.session import SessionState


def _facet_select(name: str, label_key: str, translate_prefix: str | None = None) -> rx.Component:
    def item(pair):
        label = SessionState.t[translate_prefix + pair[0].to(str)] if translate_prefix else pair[0].to(str)
        return rx.select.item(label + " (" + pair[1].to(str) + ")", value=pair[0].to(str))

    return rx.hstack(
        rx.text(tr(label_key), size="2", color=rx.color("gray", 11)),
        rx.select.root(
            rx.select.trigger(placeholder=tr(label_key), data_testid=f"filter-{name}"),
            rx.select.content(
                rx.select.item(tr("library.all"), value="__all__"),
                rx.foreach(S.facets[name], item),
            ),
            value=rx.cond(getattr(S, name) != "", getattr(S, name), "__all__"),
            on_change=S.set_filter(name),
        ),
        align="center",
        spacing="1",
    )


def library_page() -> rx.Component:
    return app_shell(
        page_header("library.title", "library.description"),
        rx.flex(
            rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder=tr("library.filter_placeholder"),
                     value=S.query, on_change=S.set_query.debounce(300), width="100%", max_width="320px",
                     data_testid="library-query"),
            _facet_select("doc_type", "library.type", "doctype."),
            _facet_select("product", "library.product"),
            _facet_select("language", "library.language"),
            _facet_select("tag", "library.tag"),
            rx.spacer(),
            rx.select.root(
                rx.select.trigger(data_testid="library-sort"),
                rx.select.content(
                    rx.select.item(tr("library.sort_updated"), value="updated"),
                    rx.select.item(tr("library.sort_title"), value="title"),
                    rx.select.item(tr("library.sort_published"), value="published"),
                    rx.select.item(tr("library.sort_size"), value="size"),
                ),
                value=S.sort, on_change=S.set_filter("sort"),
            ),
            gap="8px", wrap="wrap", width="100%", align="center",
        ),
        rx.cond(
            S.total > 0,
            rx.vstack(
                rx.text(S.total, " ", tr("library.results"), size="2", color=rx.color("gray", 11),
                        data_testid="library-total"),
                rx.grid(rx.foreach(S.cards, lambda card: document_card(card)),
                        columns=rx.breakpoints(initial="1", xs="2", md="3", lg="4"), spacing="4", width="100%"),
                rx.hstack(
                    rx.icon_button(rx.icon("chevron-left"), variant="soft", on_click=S.prev_page,
                                   disabled=S.page == 0, aria_label=tr("table.previous")),
                    rx.text(S.page + 1, " / ", S.page_count, size="2"),
                    rx.icon_button(rx.icon("chevron-right"), variant="soft", on_click=S.next_page,
                                   disabled=S.page + 1 >= S.page_count, aria_label=tr("table.next")),
                    justify="end", width="100%", align="center",
                ),
                spacing="3", width="100%",
            ),
            rx.cond(
                S.has_filters,
                empty_state("search-x", "library.empty_filtered_title", "library.empty_filtered_body",
                            rx.button(tr("library.clear_filters"), on_click=S.clear_filters, variant="soft")),
                empty_state("folder-open", "library.empty_title", "library.empty_body"),
            ),
        ),
    )

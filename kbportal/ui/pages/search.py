"""Search results: facets that narrow reactively, highlighted snippets, "did you mean"."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.documents import type_label
from kbportal.ui.components.layout import app_shell, empty_state, page_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.search import SearchState as S
from kbportal.ui.state.session import SessionState

FACET_GROUPS = (("doc_types", "doc_type", "library.type", "doctype."), ("products", "product", "library.product", ""),
                ("languages", "language", "library.language", ""), ("tags", "tags", "library.tag", ""))


def _facet(state_name: str, facet: str, label_key: str, prefix: str) -> rx.Component:
    selected = getattr(S, state_name)

    def option(pair):
        value = pair[0].to(str)
        label = SessionState.t[prefix + value] if prefix else value
        return rx.hstack(
            rx.checkbox(checked=selected.contains(value), on_change=lambda _v: S.toggle(state_name, value),
                        data_testid=f"facet-{facet}-{value}"),
            rx.text(label, size="2", flex="1", trim="both"),
            rx.badge(pair[1].to(str), variant="soft", color_scheme="gray", size="1"),
            align="center", spacing="2", width="100%",
        )

    return rx.cond(S.facets[facet].length() > 0, rx.vstack(
        rx.text(tr(label_key), size="1", weight="bold", color=rx.color("gray", 11), text_transform="uppercase"),
        rx.foreach(S.facets[facet], option),
        spacing="1", width="100%",
    ))


def _hit(hit: dict) -> rx.Component:
    return rx.link(rx.card(rx.vstack(
        rx.html(hit["title_html"].to(str), font_weight="600", font_size="1.05em", class_name="search-title"),
        rx.html(hit["snippet"].to(str), color=rx.color("gray", 11), font_size="0.9em", class_name="search-snippet"),
        rx.hstack(
            rx.cond(hit["doc_type"].to(str) != "", rx.badge(type_label(hit["doc_type"]), variant="soft")),
            rx.cond(hit["product"].to(str) != "", rx.badge(hit["product"].to(str), variant="outline",
                                                          color_scheme="gray")),
            rx.badge(hit["language"].to(str), variant="soft", color_scheme="gray"),
            rx.text(hit["date"].to(str), size="1", color=rx.color("gray", 10)),
            spacing="2", wrap="wrap", align="center",
        ),
        spacing="2", width="100%",
    ), width="100%", data_testid="search-hit"), href=hit["href"].to(str), underline="none", width="100%",
        color="inherit")


def _pager() -> rx.Component:
    return rx.cond(S.page_count > 1, rx.hstack(
        rx.icon_button(rx.icon("chevron-left"), variant="soft", on_click=S.go_page(S.page - 1),
                       disabled=S.page <= 1, aria_label=tr("table.previous")),
        rx.text(S.page, " / ", S.page_count, size="2"),
        rx.icon_button(rx.icon("chevron-right"), variant="soft", on_click=S.go_page(S.page + 1),
                       disabled=S.page >= S.page_count, aria_label=tr("table.next")),
        align="center", spacing="2", justify="center", width="100%",
    ))


def search_page() -> rx.Component:
    return app_shell(
        page_header("search.title", "search.description"),
        rx.form(rx.hstack(
            rx.input(rx.input.slot(rx.icon("search", size=16)), value=S.q, on_change=S.set_q,
                     placeholder=tr("search.placeholder"), size="3", width="100%", name="q",
                     data_testid="search-input"),
            rx.button(tr("search.go"), size="3", type="submit", data_testid="search-submit"),
            width="100%", spacing="2",
        ), on_submit=S.submit, width="100%", max_width="760px"),
        rx.cond(S.suggestion != "", rx.hstack(
            rx.text(tr("search.did_you_mean"), size="2"),
            rx.link(S.suggestion, on_click=S.use_suggestion, size="2", weight="bold", cursor="pointer",
                    data_testid="did-you-mean"),
            spacing="1", align="center")),
        rx.cond(
            S.unavailable,
            rx.callout(tr("search.unavailable"), icon="refresh-cw", color_scheme="amber", width="100%",
                       data_testid="search-unavailable"),
            rx.cond(
                S.searched,
                rx.flex(
                    rx.vstack(
                        *[_facet(*group) for group in FACET_GROUPS],
                        rx.cond(S.doc_types.length() + S.products.length() + S.languages.length()
                                + S.tags.length() > 0,
                                rx.button(tr("library.clear_filters"), variant="ghost", size="1",
                                          on_click=S.clear_filters)),
                        spacing="4", width=["100%", "100%", "240px"], flex_shrink="0",
                        data_testid="search-facets",
                    ),
                    rx.vstack(
                        rx.text(S.total, " ", tr("search.results"), size="2", color=rx.color("gray", 11),
                                data_testid="search-total"),
                        rx.cond(S.relaxed, rx.callout(tr("search.relaxed"), icon="info", size="1", width="100%")),
                        rx.cond(S.hits.length() > 0,
                                rx.vstack(rx.foreach(S.hits, _hit), _pager(), spacing="3", width="100%"),
                                empty_state("search-x", "search.empty_title", "search.empty_body")),
                        spacing="3", width="100%", min_width="0",
                    ),
                    direction=rx.breakpoints(initial="column", md="row"), spacing="5", width="100%",
                ),
                empty_state("search", "search.start_title", "search.start_body"),
            ),
        ),
        rx.el.style(".search-title mark, .search-snippet mark {background: var(--amber-a5); color: inherit;"
                    " border-radius: 3px; padding: 0 2px;}"),
    )

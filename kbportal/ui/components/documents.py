"""Document cards and badges shared by the library and the studio."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.i18n import tr
from kbportal.ui.state.session import SessionState

TYPE_ICONS = {
    "brochure": "book-open", "datasheet": "file-spreadsheet", "presentation": "presentation",
    "case_study": "briefcase", "price_list": "receipt", "training": "graduation-cap", "template": "layout-template",
    "other": "file",
}


def type_label(doc_type) -> rx.Var:
    return SessionState.t["doctype." + doc_type.to(str)]


def status_badge(status) -> rx.Component:
    return rx.match(
        status,
        ("published", rx.badge(tr("status.published"), color_scheme="green")),
        ("draft", rx.badge(tr("status.draft"), color_scheme="amber")),
        ("archived", rx.badge(tr("status.archived"), color_scheme="gray")),
        ("expired", rx.badge(tr("status.expired"), color_scheme="red")),
        rx.badge(status),
    )


def thumbnail(card: dict, height="150px") -> rx.Component:
    return rx.cond(
        card["thumb"] != "",
        rx.box(rx.image(src=card["thumb"], alt=card["title"], width="100%", height=height, object_fit="cover",
                        object_position="top", loading="lazy", display="block"),
               width="100%", background="white"),
        rx.center(
            rx.match(card["doc_type"], *[(k, rx.icon(v, size=40)) for k, v in TYPE_ICONS.items()],
                     rx.icon("file", size=40)),
            width="100%", height=height, color=rx.color("accent", 9), background=rx.color("accent", 2),
        ),
    )


def document_card(card: dict, show_status: bool = False) -> rx.Component:
    return rx.link(
        rx.card(
            # Phones: a row (small thumbnail beside the text) so a page of cards stays short;
            # wider screens: the thumbnail across the top.
            rx.flex(
                rx.inset(thumbnail(card, height=rx.breakpoints(initial="112px", xs="150px")),
                         side=rx.breakpoints(initial="left", xs="top"),
                         pb=rx.breakpoints(initial="0", xs="current"), pr=rx.breakpoints(initial="current", xs="0"),
                         width=rx.breakpoints(initial="88px", xs="calc(100% + 2 * var(--card-padding))"),
                         flex_shrink="0",
                         border_bottom=rx.breakpoints(initial="none", xs=f"1px solid {rx.color('gray', 4)}"),
                         border_right=rx.breakpoints(initial=f"1px solid {rx.color('gray', 4)}", xs="none")),
                rx.vstack(
                    rx.hstack(
                        rx.badge(type_label(card["doc_type"]), variant="soft"),
                        rx.cond(
                            card["translated"],
                            rx.tooltip(
                                rx.badge(rx.icon("languages", size=12), card["local_language"].to(str).upper(),
                                         color_scheme="blue", variant="soft", data_testid="doc-card-translated"),
                                content=rx.match(card["local_kind"], ("reviewed", tr("variant.kind_reviewed")),
                                                 ("human", tr("variant.kind_human")), tr("variant.kind_machine")),
                            ),
                            rx.badge(card["language"].to(str).upper(), variant="outline", color_scheme="gray"),
                        ),
                        rx.cond(card["is_new"], rx.badge(tr("library.badge_new"), color_scheme="green")),
                        rx.cond(card["is_updated"], rx.badge(tr("library.badge_updated"), color_scheme="blue")),
                        rx.cond(show_status, status_badge(card["status"])),
                        spacing="1", wrap="wrap",
                    ),
                    rx.text(card["title"], weight="bold", size="3", line_clamp=2, data_testid="doc-card-title"),
                    rx.text(card["product"], size="1", color=rx.color("gray", 11)),
                    rx.hstack(
                        rx.text(card["size"], size="1", color=rx.color("gray", 10)),
                        rx.text("·", size="1", color=rx.color("gray", 10)),
                        rx.text(card["updated"], size="1", color=rx.color("gray", 10)),
                        spacing="1",
                    ),
                    spacing="2",
                    width="100%",
                    min_width="0",
                ),
                direction=rx.breakpoints(initial="row", xs="column"),
                gap="3",
                width="100%",
            ),
            width="100%",
            height="100%",
            _hover={"box_shadow": "var(--shadow-3)"},
        ),
        href=card["href"],
        underline="none",
        color="inherit",
        data_testid="doc-card",
    )

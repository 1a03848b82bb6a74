"""Studio (marketing): all documents with status; upload new ones."""

from __future__ import annotations

import reflex as rx

from kbportal.i18n import LANGUAGES
from kbportal.models import DocType
from kbportal.ui.components.documents import document_card
from kbportal.ui.components.layout import app_shell, empty_state, field, page_header
from kbportal.ui.i18n import tr
from kbportal.ui.pages.document import audience_editor, upload_progress, upload_zone
from kbportal.ui.state.studio import StudioState as S

UPLOAD_ID = "studio-upload"


def _new_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(tr("studio.new_title")),
        rx.scroll_area(rx.vstack(
            upload_zone(UPLOAD_ID, S.file_rejected),
            rx.cond(S.errors.contains("file"), rx.text(S.errors["file"], size="1", color=rx.color("red", 11),
                                                       role="alert", data_testid="upload-error")),
            field("document.title", rx.input(value=S.n_title, on_change=S.set_new_field("n_title"), width="100%",
                                             max_length=200, data_testid="new-title"), S.errors["title"]),
            field("document.description", rx.text_area(value=S.n_description,
                                                       on_change=S.set_new_field("n_description"), width="100%")),
            rx.grid(
                field("library.type", rx.select.root(rx.select.trigger(width="100%", data_testid="new-type"),
                                                     rx.select.content(*[rx.select.item(tr(f"doctype.{t.value}"),
                                                                                        value=t.value)
                                                                         for t in DocType]),
                                                     value=S.n_type, on_change=S.set_new_field("n_type"))),
                field("library.language", rx.select.root(rx.select.trigger(width="100%"), rx.select.content(
                    *[rx.select.item(name, value=code) for code, name in LANGUAGES.items()]),
                    value=S.n_language, on_change=S.set_new_field("n_language"))),
                field("library.product", rx.input(value=S.n_product, on_change=S.set_new_field("n_product"),
                                                  data_testid="new-product")),
                field("document.expires", rx.input(type="date", value=S.n_expires,
                                                   on_change=S.set_new_field("n_expires")), S.errors["expires"]),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%"),
            field("document.tags", rx.input(value=S.n_tags, on_change=S.set_new_field("n_tags"), width="100%"),
                  hint_key="document.tags_hint"),
            audience_editor(S),
            rx.grid(
                field("document.label", rx.input(value=S.n_label, on_change=S.set_new_field("n_label"),
                                                 placeholder=tr("document.label_placeholder"))),
                field("document.note", rx.input(value=S.n_note, on_change=S.set_new_field("n_note"))),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%"),
            rx.hstack(rx.checkbox(checked=S.n_publish, on_change=S.set_new_field("n_publish"),
                                  data_testid="new-publish"),
                      rx.text(tr("document.publish_now"), size="2"), align="center"),
            upload_progress(S),
            rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                   width="100%", role="alert", data_testid="new-form-error")),
            spacing="3", width="100%", padding_right="12px",
        ), max_height="70vh", type="auto"),
        rx.hstack(rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                  rx.button(rx.icon("upload", size=16), tr("document.upload"), loading=S.uploading | S.checking,
                            data_testid="new-submit",
                            on_click=S.create(rx.upload_files(upload_id=UPLOAD_ID,
                                                              on_upload_progress=S.on_upload_progress))),
                  justify="end", width="100%", padding_top="12px"),
        max_width="680px",
    ), open=S.new_open, on_open_change=S.set_new_open)


def studio_page() -> rx.Component:
    return app_shell(
        page_header("studio.title", "studio.description",
                    rx.button(rx.icon("plus", size=16), tr("studio.new"), on_click=S.open_new,
                              data_testid="studio-new")),
        rx.flex(
            rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder=tr("library.filter_placeholder"),
                     value=S.query, on_change=S.set_query.debounce(300), width="100%", max_width="320px"),
            rx.select.root(
                rx.select.trigger(placeholder=tr("common.status")),
                rx.select.content(rx.select.item(tr("library.all"), value="__all__"),
                                  *[rx.select.item(tr(f"status.{s}"), value=s)
                                    for s in ("draft", "published", "archived", "expired")]),
                value=rx.cond(S.status_filter != "", S.status_filter, "__all__"), on_change=S.set_status_filter,
            ),
            gap="8px", wrap="wrap", width="100%",
        ),
        rx.cond(
            S.total > 0,
            rx.grid(rx.foreach(S.cards, lambda c: document_card(c, show_status=True)),
                    columns=rx.breakpoints(initial="1", xs="2", md="3", lg="4"), spacing="4", width="100%"),
            empty_state("upload", "studio.empty_title", "studio.empty_body",
                        rx.button(tr("studio.new"), on_click=S.open_new)),
        ),
        _new_dialog(),
    )

"""Document page: preview, metadata, download; versions, audience and access for staff."""

from __future__ import annotations

import reflex as rx

from kbportal.i18n import LANGUAGES
from kbportal.models import DocType
from kbportal.services import uploads
from kbportal.ui.components.documents import status_badge, type_label
from kbportal.ui.components.layout import app_shell, field, not_found_view
from kbportal.ui.i18n import tr
from kbportal.ui.state.document import DocumentState as S
from kbportal.ui.state.session import SessionState

UPLOAD_ID = "version-upload"
HUMAN_UPLOAD_ID = "variant-upload"
# Downloads must leave the single-page app: a native navigation the browser saves as a file.
NATIVE = {"reloadDocument": True}


def _download_buttons() -> rx.Component:
    return rx.vstack(
        rx.el.a(
            rx.button(rx.icon("download", size=16), tr("document.download"), " (", S.visible["size"].to(str), ")",
                      size="3", width="100%"),
            href=S.visible["url"].to(str), download="", style={"width": "100%"},
            custom_attrs={**NATIVE, "data-testid": "download-original"},
        ),
        rx.cond(
            S.visible["light_url"].to(str) != "",
            rx.el.a(
                rx.button(rx.icon("feather", size=16), tr("document.download_light"), " (",
                          S.visible["light_size"].to(str), ")", size="2", variant="soft", width="100%"),
                href=S.visible["light_url"].to(str), download="",
                custom_attrs={**NATIVE, "data-testid": "download-light"},
                style={"width": "100%"},
            ),
        ),
        rx.text(tr("document.resume_hint"), size="1", color=rx.color("gray", 10)),
        width="100%", spacing="2",
    )


def kind_badge(kind) -> rx.Component:
    """"Machine-translated" / "Reviewed" / "Translated by the vendor"."""
    def badge(value: str, icon: str, colour: str) -> rx.Component:
        return rx.badge(rx.icon(icon, size=12), tr(f"variant.kind_{value}"), color_scheme=colour, variant="soft",
                        data_testid=f"variant-kind-{value}")

    return rx.match(kind, ("machine", badge("machine", "bot", "amber")),
                    ("reviewed", badge("reviewed", "badge-check", "green")),
                    ("human", badge("human", "user-round-check", "blue")), rx.fragment())


def _reader_translation() -> rx.Component:
    """What the reader is told about the language they read in."""
    return rx.fragment(
        rx.cond(S.r_mode == "variant", rx.vstack(
            rx.hstack(kind_badge(S.r_kind),
                      rx.cond(~S.r_stale, rx.link(tr("variant.view_original"), href=S.r_original_url, size="2",
                                                  data_testid="variant-original")),
                      spacing="3", wrap="wrap", align="center"),
            rx.cond(S.r_stale, rx.callout(
                rx.vstack(
                    rx.text(tr("variant.stale_notice"), " ",
                            rx.link(tr("variant.view_original"), href=S.r_original_url,
                                    data_testid="variant-original")),
                    rx.cond(S.translating, _progress("variant.updating"),
                            rx.cond(S.r_can_update, rx.button(
                                rx.icon("refresh-cw", size=16), tr("variant.update_action"), size="2",
                                on_click=S.translate_mine, data_testid="variant-update"))),
                    spacing="2", width="100%"),
                icon="history", color_scheme="amber", width="100%", data_testid="variant-stale")),
            rx.cond(~S.r_stale & S.translating, _progress("variant.updating")),
            rx.cond(S.r_failed & ~S.translating, rx.callout(
                rx.text(tr("variant.failed")), icon="circle-alert", color_scheme="red", width="100%",
                data_testid="variant-failed")),
            rx.cond(S.r_variant_url != "", rx.el.a(
                rx.button(rx.icon("languages", size=16), tr("variant.download_translation"), " (", S.r_variant_size,
                          ")", size="2", variant="soft", width="100%"),
                href=S.r_variant_url, download="", style={"width": "100%"},
                custom_attrs={**NATIVE, "data-testid": "download-variant"})),
            width="100%", spacing="2")),
        rx.cond(S.r_mode == "fallback", rx.callout(
            rx.vstack(
                rx.text(tr("variant.no_translation")),
                rx.cond(S.r_failed & ~S.translating,
                        rx.text(tr("variant.failed"), color=rx.color("red", 11), weight="medium",
                                data_testid="translate-failed")),
                rx.cond(S.translating, _progress("variant.translating_short"),
                        rx.cond(S.r_can_translate, rx.cond(
                            S.r_failed,
                            rx.button(rx.icon("rotate-cw", size=16), tr("common.retry"), size="2",
                                      on_click=S.translate_mine, data_testid="translate-retry"),
                            rx.button(rx.icon("languages", size=16), tr("variant.translate_action"), size="2",
                                      on_click=S.translate_mine, data_testid="translate-mine")))),
                spacing="2", width="100%"),
            icon="globe", color_scheme="blue", width="100%", data_testid="variant-fallback")),
    )


def _progress(label_key: str) -> rx.Component:
    return rx.vstack(
        rx.progress(value=S.translate_progress, width="100%", data_testid="translate-progress"),
        rx.text(tr(label_key), " ", S.translate_progress, "%", size="1"),
        width="100%", spacing="1")


def _meta_item(label_key: str, value) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(tr(label_key)), rx.data_list.value(value))


def _overview() -> rx.Component:
    return rx.grid(
        rx.card(
            rx.cond(S.thumb != "",
                    rx.image(src=S.thumb, alt=S.title, width="100%", max_height="420px", object_fit="contain"),
                    rx.center(rx.icon("file-text", size=64), height="260px", color=rx.color("accent", 9))),
            data_testid="document-preview",
        ),
        rx.vstack(
            rx.data_list.root(
                _meta_item("library.type", type_label(S.doc_type)),
                _meta_item("library.product", S.product),
                _meta_item("library.language", S.language.upper()),
                _meta_item("document.version", rx.text("v", S.visible["number"].to(str), " · ",
                                                        S.visible["date"].to(str))),
                _meta_item("document.size", rx.text(S.visible["size"].to(str), data_testid="document-size")),
                _meta_item("document.pages", S.visible["pages"].to(str)),
                rx.cond(S.expires != "", _meta_item("document.expires", S.expires)),
                _meta_item("library.tag", rx.hstack(rx.foreach(S.tags, lambda t: rx.badge(t, variant="outline")),
                                                    wrap="wrap", spacing="1")),
                orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
            ),
            _reader_translation(),
            _download_buttons(),
            rx.cond(S.shown_description != "", rx.text(S.shown_description, white_space="pre-wrap",
                                                       data_testid="document-description")),
            spacing="4", width="100%",
        ),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="5", width="100%",
    )


def _version_row(v: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.hstack(rx.text("v", v["number"].to(str), weight="bold"),
                                rx.cond(v["is_published"], rx.badge(tr("status.published"), color_scheme="green")),
                                rx.cond(v["processing"].to(bool) & ~v["check_failed"].to(bool),
                                        rx.badge(rx.spinner(size="1"), tr("document.checking"), color_scheme="amber",
                                                 data_testid="version-checking")),
                                rx.cond(v["check_failed"].to(bool),
                                        rx.badge(rx.icon("circle-alert", size=12), tr("document.check_stopped"),
                                                 color_scheme="red")),
                                rx.cond(v["publish_pending"].to(bool),
                                        rx.tooltip(rx.badge(tr("document.publish_pending"), color_scheme="blue",
                                                            variant="outline"),
                                                   content=tr("document.publish_pending_hint"))),
                                spacing="2", wrap="wrap")),
        rx.table.cell(rx.vstack(rx.text(v["label"], weight="medium", size="2"),
                                rx.text(v["note"], size="1", color=rx.color("gray", 11)), spacing="0")),
        rx.table.cell(rx.text(v["date"], size="1")),
        rx.table.cell(rx.text(v["author"], size="2")),
        rx.table.cell(rx.text(v["size"], size="2")),
        rx.table.cell(rx.hstack(
            rx.el.a(rx.icon_button(rx.icon("download", size=14), size="1", variant="soft",
                                   aria_label=tr("document.download")), href=v["url"].to(str), download="", custom_attrs=NATIVE),
            rx.cond(~v["is_published"].to(bool) & ~v["publish_pending"].to(bool),
                    rx.button(tr("document.publish"), size="1", on_click=S.publish(v["number"].to(int)),
                              data_testid="version-publish")),
            rx.cond(v["check_failed"].to(bool),
                    rx.button(rx.icon("rotate-cw", size=12), tr("common.retry"), size="1", variant="soft",
                              on_click=S.retry_check(v["check_job_id"].to(int)), data_testid="version-retry-check")),
            spacing="2")),
        data_testid="version-row",
    )


def _versions_tab() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.spacer(), rx.button(rx.icon("upload", size=16), tr("document.new_version"),
                                         on_click=S.set_version_open(True), data_testid="new-version"), width="100%"),
        rx.box(rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in (
                "document.version", "document.note", "document.date", "document.author", "document.size")],
                rx.table.column_header_cell(""))),
            rx.table.body(rx.foreach(S.versions, _version_row)),
            width="100%", variant="surface",
        ), width="100%", overflow_x="auto"),
        width="100%", spacing="3",
    )


def _decision_badge(allowed) -> rx.Component:
    return rx.cond(allowed, rx.badge(rx.icon("check", size=12), tr("access.can_see"), color_scheme="green"),
                   rx.badge(rx.icon("x", size=12), tr("access.cannot_see"), color_scheme="red"))


def _access_card(r: dict) -> rx.Component:
    """One organisation's decision, as a card on narrow screens."""
    return rx.card(rx.vstack(
        rx.hstack(rx.text(r["name"], weight="bold", size="2"), rx.spacer(), _decision_badge(r["allowed"]),
                  width="100%", align="center"),
        rx.hstack(rx.badge(r["region"], variant="soft"), rx.text(SessionState.tier_labels[r["tier"].to(str)], size="1"),
                  rx.icon("users", size=12), rx.text(r["users"], size="1"), align="center", spacing="2"),
        rx.text(r["why"], size="1", color=rx.color("gray", 11)),
        spacing="1", width="100%",
    ), width="100%", size="1")


def _access_tab() -> rx.Component:
    row = lambda r: rx.table.row(  # noqa: E731
        rx.table.row_header_cell(r["name"]),
        rx.table.cell(rx.badge(r["region"], variant="soft")),
        rx.table.cell(SessionState.tier_labels[r["tier"].to(str)]),
        rx.table.cell(r["users"]),
        rx.table.cell(_decision_badge(r["allowed"])),
        rx.table.cell(rx.text(r["why"], size="1", color=rx.color("gray", 11))),
        data_testid="access-row",
    )
    return rx.vstack(
        rx.callout(rx.text(tr("access.summary_prefix"), " ", rx.text.strong(S.allowed_orgs), " ",
                           tr("access.summary_orgs"), " ", rx.text.strong(S.allowed_users), " ",
                           tr("access.summary_users")), icon="users", width="100%", data_testid="access-summary"),
        rx.card(rx.vstack(
            rx.text(tr("access.check_user"), weight="medium"),
            rx.hstack(rx.input(placeholder="name@partner.com", value=S.check_email, on_change=S.set_check_email,
                               width="100%", data_testid="access-email"),
                      rx.button(tr("access.check"), on_click=S.check_user, data_testid="access-check"), width="100%"),
            rx.cond(S.check_result.contains("error") & (S.check_result["error"].to(str) != ""),
                    rx.text(S.check_result["error"].to(str), color=rx.color("red", 11), size="2")),
            rx.cond(S.check_result.contains("allowed"),
                    rx.callout(rx.text(rx.text.strong(S.check_result["name"].to(str)), " (",
                                       S.check_result["org"].to(str), "): ", S.check_result["why"].to(str)),
                               icon=rx.cond(S.check_result["allowed"].to(bool), "circle-check", "circle-x"),
                               color_scheme=rx.cond(S.check_result["allowed"].to(bool), "green", "red"),
                               width="100%", data_testid="access-result")),
            width="100%", spacing="2",
        ), width="100%"),
        rx.box(rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in (
                "orgs.name", "orgs.region", "orgs.tier", "orgs.users", "access.decision", "access.why")])),
            rx.table.body(rx.foreach(S.access_rows, row)),
            width="100%", variant="surface", size="1",
        ), width="100%", display=["none", "none", "block"]),
        rx.vstack(rx.foreach(S.access_rows, _access_card), width="100%", spacing="2",
                  display=["flex", "flex", "none"]),
        width="100%", spacing="3",
    )


def _compare_tab() -> rx.Component:
    picker = lambda side, value: rx.select.root(  # noqa: E731
        rx.select.trigger(),
        rx.select.content(rx.foreach(S.version_numbers, lambda n: rx.select.item("v" + n, value=n))),
        value=value, on_change=S.set_compare(side))
    return rx.vstack(
        rx.hstack(picker("a", S.compare_a), rx.icon("arrow-left-right", size=16), picker("b", S.compare_b),
                  align="center"),
        rx.cond(S.comparison.length() > 0,
                rx.box(rx.table.root(rx.table.body(rx.foreach(S.comparison, lambda r: rx.table.row(
                    rx.table.row_header_cell(r["field"]),
                    rx.table.cell(rx.text(r["a"], size="2", word_break="break-all")),
                    rx.table.cell(rx.text(r["b"], size="2", word_break="break-all")),
                    background=rx.cond(r["differs"], rx.color("amber", 3), "transparent"),
                ))), width="100%", variant="surface"), width="100%", overflow_x="auto"),
                rx.text(tr("document.compare_needs_two"), color=rx.color("gray", 11))),
        width="100%", spacing="3",
    )


def _edit_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(tr("document.edit_title")),
        rx.scroll_area(rx.vstack(
            field("document.title", rx.input(value=S.e_title, on_change=S.set_edit_field("e_title"), width="100%",
                                             data_testid="edit-title"), S.errors["title"]),
            field("document.description", rx.text_area(value=S.e_description,
                                                       on_change=S.set_edit_field("e_description"), width="100%")),
            rx.grid(
                field("library.type", rx.select.root(rx.select.trigger(width="100%"), rx.select.content(
                    *[rx.select.item(tr(f"doctype.{t.value}"), value=t.value) for t in DocType]),
                    value=S.e_type, on_change=S.set_edit_field("e_type"))),
                field("library.language", rx.select.root(rx.select.trigger(width="100%"), rx.select.content(
                    *[rx.select.item(name, value=code) for code, name in LANGUAGES.items()]),
                    value=S.e_language, on_change=S.set_edit_field("e_language"))),
                field("library.product", rx.input(value=S.e_product, on_change=S.set_edit_field("e_product"))),
                field("document.expires", rx.input(type="date", value=S.e_expires,
                                                   on_change=S.set_edit_field("e_expires")), S.errors["expires"]),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%"),
            field("document.tags", rx.input(value=S.e_tags, on_change=S.set_edit_field("e_tags"), width="100%"),
                  hint_key="document.tags_hint"),
            audience_editor(S),
            rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                   width="100%")),
            spacing="3", width="100%", padding_right="12px",
        ), max_height="65vh", type="auto"),
        rx.hstack(rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                  rx.button(tr("common.save"), on_click=S.save_edit, data_testid="edit-save"),
                  justify="end", width="100%", padding_top="12px"),
        max_width="640px",
    ), open=S.edit_open, on_open_change=S.set_edit_open)


def audience_editor(state) -> rx.Component:
    """Region, tier and organisation pickers (shared with the studio's upload form)."""
    return rx.card(rx.vstack(
        rx.text(tr("audience.title"), weight="bold"),
        rx.text(tr("audience.help"), size="1", color=rx.color("gray", 11)),
        rx.hstack(rx.switch(checked=state.e_all_regions, on_change=state.set_all_regions,
                            data_testid="aud-all-regions"),
                  rx.text(tr("audience.all_regions"), size="2"), align="center"),
        rx.cond(~state.e_all_regions, rx.hstack(rx.foreach(state.region_codes, lambda code: rx.hstack(
            rx.checkbox(checked=state.e_regions.contains(code), on_change=lambda on: state.toggle_region(code, on),
                        data_testid="aud-region-" + code),
            rx.text(code, size="2"), align="center", spacing="1")), wrap="wrap", spacing="4")),
        field("audience.min_tier", rx.select.root(
            rx.select.trigger(width="100%", data_testid="aud-min-tier"),
            rx.select.content(rx.select.item(tr("audience.any_tier"), value="__any__"),
                              rx.foreach(state.tier_codes, lambda c: rx.select.item(
                                  SessionState.tier_labels[c], value=c))),
            value=state.e_min_tier, on_change=state.set_min_tier)),
        rx.text(tr("audience.orgs"), size="2", weight="medium"),
        rx.text(tr("audience.orgs_help"), size="1", color=rx.color("gray", 11)),
        rx.scroll_area(rx.vstack(rx.foreach(state.org_names, lambda name: rx.hstack(
            rx.checkbox(checked=state.e_orgs.contains(name), on_change=lambda on: state.toggle_org(name, on)),
            rx.text(name, size="2"), align="center", spacing="2")), spacing="1"), max_height="140px", type="auto"),
        spacing="2", width="100%",
    ), width="100%")


def _version_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(tr("document.new_version")),
        rx.vstack(
            upload_zone(UPLOAD_ID, S.file_rejected),
            field("document.label", rx.input(value=S.v_label, on_change=S.set_version_field("v_label"),
                                             placeholder=tr("document.label_placeholder"), width="100%")),
            field("document.note", rx.text_area(value=S.v_note, on_change=S.set_version_field("v_note"),
                                                width="100%", data_testid="version-note")),
            rx.hstack(rx.checkbox(checked=S.v_publish, on_change=S.set_version_field("v_publish"),
                                  data_testid="version-publish-now"),
                      rx.text(tr("document.publish_now"), size="2"), align="center"),
            upload_progress(S),
            rx.cond(S.upload_error != "", rx.callout(S.upload_error, icon="triangle-alert", color_scheme="red",
                                                     width="100%", data_testid="upload-error")),
            rx.hstack(rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                      rx.button(tr("document.upload"), loading=S.uploading | S.checking,
                                data_testid="version-upload-submit",
                                on_click=S.upload_version(rx.upload_files(
                                    upload_id=UPLOAD_ID, on_upload_progress=S.on_upload_progress))),
                      justify="end", width="100%"),
            spacing="3", width="100%",
        ),
        max_width="520px",
    ), open=S.version_open, on_open_change=S.set_version_open)


def _variant_state(r: dict) -> rx.Component:
    return rx.cond(r["busy"].to(bool) & (r["state"] != "processing"), rx.vstack(
        rx.progress(value=r["progress"].to(int), width="80px", data_testid="variant-row-progress"),
        rx.text(tr("variant.updating"), " ", r["progress"].to(str), "%", size="1"), spacing="1"), rx.match(
        r["state"],
        ("processing", rx.vstack(rx.progress(value=r["progress"].to(int), width="80px"),
                                 rx.text(r["progress"].to(str), "%", size="1"), spacing="1")),
        ("failed", rx.tooltip(rx.badge(rx.icon("circle-alert", size=12), tr("variant.state_failed"),
                                       color_scheme="red", data_testid="variant-failed-badge"),
                               content=r["failure"].to(str))),
        rx.hstack(rx.badge(tr("variant.state_ready"), color_scheme="green", variant="outline"),
                  rx.cond(r["stale"].to(bool), rx.badge(rx.icon("history", size=12), tr("variant.stale"),
                                                        color_scheme="amber", data_testid="variant-row-stale")),
                  spacing="1", wrap="wrap")))


def _again_button(r: dict) -> rx.Component:
    """Staff: translate a stale variant again, after saying what happens to its text."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(rx.icon("refresh-cw", size=12), tr("variant.translate_again"), size="1",
                                          variant="soft", color_scheme="amber", data_testid="variant-again")),
        rx.alert_dialog.content(
            rx.alert_dialog.title(tr("variant.translate_again_title")),
            rx.alert_dialog.description(rx.match(
                r["kind"], ("reviewed", tr("variant.translate_again_reviewed")),
                ("human", tr("variant.translate_again_human")), tr("variant.translate_again_machine")),
                size="2", data_testid="variant-again-warning"),
            rx.hstack(rx.alert_dialog.cancel(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                      rx.alert_dialog.action(rx.button(tr("variant.translate_again"),
                                                       on_click=S.translate_again(r["language"].to(str)),
                                                       data_testid="variant-again-confirm")),
                      justify="end", spacing="2", padding_top="12px"),
            max_width="460px"))


def _variant_actions(r: dict) -> rx.Component:
    return rx.hstack(
        rx.cond(r["url"].to(str) != "", rx.el.a(
            rx.icon_button(rx.icon("download", size=14), size="1", variant="soft",
                           aria_label=tr("variant.download_translation")),
            href=r["url"].to(str), download="", custom_attrs={**NATIVE, "data-testid": "variant-download"})),
        rx.cond((r["state"] == "ready") & ~r["busy"].to(bool), rx.button(
            rx.icon("pencil", size=12), tr("variant.review"), size="1", variant="soft",
            on_click=S.open_review(r["id"].to(int)), data_testid="variant-review")),
        rx.cond((r["state"] == "ready") & r["stale"].to(bool) & ~r["busy"].to(bool), _again_button(r)),
        rx.cond(r["state"] == "failed", rx.button(
            rx.icon("rotate-cw", size=12), tr("common.retry"), size="1", variant="soft",
            on_click=S.translate_again(r["language"].to(str)), data_testid="variant-retry")),
        spacing="2", wrap="wrap")


def _variant_card(r: dict) -> rx.Component:
    """One variant on a phone."""
    return rx.card(rx.vstack(
        rx.hstack(rx.text(r["language_name"], weight="bold", size="2"), rx.spacer(), kind_badge(r["kind"]),
                  width="100%", align="center"),
        rx.text(r["title"], size="1", color=rx.color("gray", 11)),
        rx.hstack(_variant_state(r), rx.text("v", r["source_number"].to(str), size="1"), rx.spacer(),
                  _variant_actions(r), width="100%", align="center", wrap="wrap"),
        spacing="1", width="100%",
    ), width="100%", size="1", data_testid="variant-card-" + r["language"].to(str))


def _variant_row(r: dict) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.vstack(rx.text(r["language_name"], weight="medium", size="2"),
                                           rx.text(r["title"], size="1", color=rx.color("gray", 11)), spacing="0")),
        rx.table.cell(kind_badge(r["kind"])),
        rx.table.cell(_variant_state(r)),
        rx.table.cell(rx.text("v", r["source_number"].to(str), size="2")),
        rx.table.cell(_variant_actions(r)),
        data_testid="variant-row-" + r["language"].to(str),
    )


def _translations_card() -> rx.Component:
    """Staff: every translated variant, a new machine translation, a human upload."""
    return rx.card(rx.vstack(
        rx.flex(
            rx.vstack(rx.heading(tr("variant.card_title"), size="4"),
                      rx.text(tr("variant.card_help"), size="1", color=rx.color("gray", 11)), spacing="1"),
            rx.spacer(),
            rx.hstack(
                rx.select.root(rx.select.trigger(placeholder=tr("variant.translate_into"),
                                                 data_testid="translate-language"),
                               rx.select.content(rx.foreach(S.target_languages,
                                                            lambda p: rx.select.item(p[1], value=p[0]))),
                               value=S.t_language, on_change=S.set_t_language),
                rx.button(rx.icon("languages", size=16), tr("variant.translate_into"), on_click=S.translate_into,
                          loading=S.translating & ~S.translating_review,
                          data_testid="translate-into"),
                rx.button(rx.icon("upload", size=16), tr("variant.upload_translation"), variant="soft",
                          on_click=S.set_human_open(True), data_testid="upload-translation"),
                spacing="2", wrap="wrap"),
            direction=rx.breakpoints(initial="column", md="row"), gap="12px", width="100%"),
        rx.cond(S.variant_rows.length() > 0,
                rx.box(rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in (
                        "library.language", "variant.kind", "variant.state", "variant.source_version")],
                        rx.table.column_header_cell(""))),
                    rx.table.body(rx.foreach(S.variant_rows, _variant_row)),
                    width="100%", variant="surface", size="1"), width="100%", overflow_x="auto",
                    display=["none", "none", "block"]),
                rx.text(tr("variant.none_yet"), size="2", color=rx.color("gray", 11), data_testid="variants-empty")),
        rx.cond(S.variant_rows.length() > 0,
                rx.vstack(rx.foreach(S.variant_rows, _variant_card), width="100%", spacing="2",
                          display=["flex", "flex", "none"]),
                rx.fragment()),
        spacing="3", width="100%",
    ), width="100%", data_testid="translations-card")


def _segment(seg: dict) -> rx.Component:
    """One segment: the source beside its translation (a textarea); stacked on phones."""
    return rx.grid(
        rx.box(rx.text(seg["source"], size="2"), padding="8px", border_radius="var(--radius-2)",
               background=rx.color("gray", 2), data_testid="segment-source"),
        rx.vstack(
            rx.text_area(default_value=seg["value"].to(str), on_blur=S.set_segment(seg["key"].to(str)),
                         key=seg["key"].to(str) + "-" + S.rv_page.to(str), width="100%", rows="2",
                         aria_label=tr("variant.segment_translation"), data_testid="segment-text"),
            rx.cond(seg["changed"].to(bool),
                    rx.badge(rx.icon("pencil", size=10), tr("variant.segment_changed"), color_scheme="green",
                             variant="soft", size="1", data_testid="segment-changed")),
            spacing="1", width="100%"),
        columns=rx.breakpoints(initial="1", sm="2"), spacing="2", width="100%",
        padding_bottom="8px", border_bottom=f"1px solid {rx.color('gray', 4)}", data_testid="segment",
    )


def _segments_list() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.text(tr("variant.segments"), size="2", weight="medium"),
            rx.badge(S.rv_changed, " ", tr("variant.segments_corrected"), variant="soft",
                     data_testid="segments-changed"),
            rx.spacer(),
            rx.hstack(rx.switch(checked=S.rv_only_changed, on_change=S.set_only_changed,
                                data_testid="segments-only-changed"),
                      rx.text(tr("variant.only_changed"), size="2"), align="center", spacing="2", as_="label"),
            gap="8px", align="center", wrap="wrap", width="100%"),
        rx.hstack(rx.text(tr("variant.segment_source"), size="1", weight="bold", width="50%"),
                  rx.text(tr("variant.segment_translation"), size="1", weight="bold", width="50%"),
                  width="100%", display=["none", "flex"], color=rx.color("gray", 11)),
        rx.cond(S.rv_segments.length() > 0,
                rx.scroll_area(rx.vstack(rx.foreach(S.rv_segments, _segment), spacing="2", width="100%",
                                         padding_right="12px"),
                               type="auto", scrollbars="vertical", max_height="48vh", data_testid="segments"),
                rx.text(tr("variant.no_changed_segments"), size="2", color=rx.color("gray", 11),
                        data_testid="segments-empty")),
        rx.hstack(
            rx.icon_button(rx.icon("chevron-left", size=16), variant="soft", size="1",
                           disabled=S.rv_page <= 1, on_click=S.review_page(-1), aria_label=tr("table.previous"),
                           data_testid="segments-prev"),
            rx.text(S.rv_page_label, size="1", data_testid="segments-page"),
            rx.icon_button(rx.icon("chevron-right", size=16), variant="soft", size="1",
                           disabled=S.rv_page >= S.rv_pages, on_click=S.review_page(1),
                           aria_label=tr("table.next"), data_testid="segments-next"),
            align="center", justify="center", width="100%", spacing="3"),
        spacing="2", width="100%",
    )


def _review_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(tr("variant.review_title")),
        rx.dialog.description(rx.cond(S.rv_editable, tr("variant.review_segments_help"),
                                      tr("variant.review_human_help")), size="2"),
        rx.vstack(
            field("document.title", rx.input(value=S.rv_title, on_change=S.set_review_field("rv_title"),
                                             width="100%", data_testid="review-title"), S.errors["title"]),
            field("document.description", rx.text_area(value=S.rv_description,
                                                       on_change=S.set_review_field("rv_description"),
                                                       width="100%", data_testid="review-description")),
            rx.cond(S.rv_editable, _segments_list()),
            rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                   width="100%", data_testid="review-error")),
            rx.hstack(rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                      rx.button(rx.icon("check", size=16), tr("variant.save_approve"), on_click=S.save_review,
                                data_testid="review-save"),
                      justify="end", width="100%", wrap="wrap"),
            spacing="3", width="100%", padding_top="8px"),
        max_width="920px", width="calc(100vw - 24px)",
    ), open=S.review_open, on_open_change=S.set_review_open)


def _human_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(tr("variant.upload_translation")),
        rx.dialog.description(tr("variant.upload_help"), size="2"),
        rx.vstack(
            field("library.language", rx.select.root(
                rx.select.trigger(width="100%", data_testid="human-language"),
                rx.select.content(rx.foreach(S.target_languages, lambda p: rx.select.item(p[1], value=p[0]))),
                value=S.h_language, on_change=S.set_h_language)),
            upload_zone(HUMAN_UPLOAD_ID, S.human_rejected),
            rx.cond(S.h_error != "", rx.callout(S.h_error, icon="triangle-alert", color_scheme="red", width="100%",
                                                data_testid="human-error")),
            rx.hstack(rx.dialog.close(rx.button(tr("common.cancel"), variant="soft", color_scheme="gray")),
                      rx.button(tr("document.upload"), loading=S.uploading, data_testid="human-submit",
                                on_click=S.upload_human(rx.upload_files(upload_id=HUMAN_UPLOAD_ID))),
                      justify="end", width="100%"),
            spacing="3", width="100%", padding_top="8px"),
        max_width="520px",
    ), open=S.human_open, on_open_change=S.set_human_open)


def upload_progress(state) -> rx.Component:
    """Two phases the uploader watches: the bytes travelling, then the file check."""
    return rx.fragment(
        rx.cond(state.uploading, rx.vstack(
            rx.progress(value=state.upload_progress, width="100%", data_testid="upload-progress"),
            rx.text(tr("upload.sending"), " ", state.upload_progress, "%", size="1"), width="100%", spacing="1")),
        rx.cond(state.checking, rx.vstack(
            rx.progress(value=state.check_progress, width="100%", color_scheme="amber", data_testid="check-progress"),
            rx.text(tr("upload.checking"), " ", state.check_progress, "%", size="1"), width="100%", spacing="1")),
    )


def upload_zone(upload_id: str, on_rejected) -> rx.Component:
    """Drag-and-drop zone showing the chosen file (shared with the studio). A file over the
    upload limit is refused by the browser at once (``on_rejected``), before any byte is sent."""
    return rx.upload(
        rx.vstack(
            rx.icon("cloud-upload", size=32, color=rx.color("accent", 9)),
            rx.text(tr("upload.drop_here"), size="2", text_align="center"),
            rx.foreach(rx.selected_files(upload_id), lambda name: rx.badge(name, variant="soft")),
            align="center", spacing="2", padding="20px",
        ),
        id=upload_id,
        multiple=False,
        max_size=uploads.max_upload_bytes(),
        # Only the reasons go to the server (the rejected File itself would be sent along).
        on_drop_rejected=lambda rejected: [
            on_rejected(rejected.to(list).map(lambda r: r.to(dict)["errors"])),
            rx.clear_selected_files(upload_id)],
        border=f"2px dashed {rx.color('accent', 7)}",
        border_radius="var(--radius-3)",
        width="100%",
        cursor="pointer",
        data_testid=upload_id,
    )


def document_page() -> rx.Component:
    return app_shell(
        rx.cond(
            S.found,
            rx.vstack(
                rx.flex(
                    rx.vstack(
                        rx.hstack(rx.link(rx.hstack(rx.icon("arrow-left", size=14), tr("nav.library"),
                                                    align="center", spacing="1"), href="/library", size="2")),
                        rx.heading(S.shown_title, size="7", data_testid="document-title",
                                   style={"overflow_wrap": "anywhere"}),
                        rx.hstack(rx.badge(type_label(S.doc_type), variant="soft"),
                                  rx.cond(S.can_edit, status_badge(S.status)), spacing="2"),
                        spacing="1",
                    ),
                    rx.spacer(),
                    rx.cond(S.can_edit, rx.hstack(
                        rx.button(rx.icon("pencil", size=16), tr("common.edit"), variant="soft",
                                  on_click=S.open_edit, data_testid="edit-document"),
                        rx.cond(S.status == "archived",
                                rx.button(tr("document.restore"), variant="soft", on_click=S.restore),
                                rx.button(tr("document.archive"), variant="soft", color_scheme="red",
                                          on_click=S.archive, data_testid="archive-document")),
                        spacing="2", wrap="wrap")),
                    direction=rx.breakpoints(initial="column", sm="row"), gap="12px", width="100%",
                ),
                _overview(),
                rx.cond(S.can_edit, _translations_card()),
                rx.cond(S.can_edit, rx.tabs.root(
                    rx.tabs.list(rx.tabs.trigger(tr("document.versions"), value="versions"),
                                 rx.tabs.trigger(tr("document.effective_access"), value="access",
                                                 data_testid="tab-access"),
                                 rx.tabs.trigger(tr("document.compare"), value="compare"),
                                 overflow_x="auto", overflow_y="hidden"),
                    rx.tabs.content(_versions_tab(), value="versions", padding_top="16px"),
                    rx.tabs.content(_access_tab(), value="access", padding_top="16px"),
                    rx.tabs.content(_compare_tab(), value="compare", padding_top="16px"),
                    default_value="versions", width="100%",
                )),
                _edit_dialog(),
                _version_dialog(),
                _review_dialog(),
                _human_dialog(),
                spacing="5", width="100%",
            ),
            not_found_view(),
        ),
    )

"""Co-brand: templates this user may use, the form with a live page-1 preview, generation with
progress, the result, history."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, empty_state, page_header
from kbportal.ui.components.table import responsive_list, sort_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.cobrand import CobrandState as S
from kbportal.ui.state.session import SessionState

# Downloads leave the single-page app: a native navigation the browser saves as a file.
NATIVE = {"reloadDocument": True}


def _section_title(icon: str, key: str | rx.Var) -> rx.Component:
    """A section heading: a catalogue key, or a text Var already in the user's language."""
    text = tr(key) if isinstance(key, str) else key
    return rx.hstack(rx.icon(icon, size=20, color=rx.color("accent", 11)), rx.heading(text, size="5"),
                     align="center", spacing="2")


# --------------------------------------------------------------------------- templates


def _thumb(t: dict) -> rx.Component:
    return rx.cond(
        t["thumb"] != "",
        rx.image(src=t["thumb"].to(str), alt=t["title"].to(str), width="100%", height="160px", object_fit="contain",
                 background=rx.color("gray", 3), border_radius="var(--radius-2)"),
        rx.center(
            rx.vstack(rx.icon("file-text", size=40, color=rx.color("accent", 9)),
                      rx.badge(t["kind"], variant="surface", size="2"), align="center", spacing="2"),
            height="160px", width="100%", border_radius="var(--radius-2)",
            background=f"linear-gradient(135deg, {rx.color('accent', 3)}, {rx.color('gray', 3)})",
        ),
    )


def _template_card(t: dict) -> rx.Component:
    return rx.card(
        rx.vstack(
            _thumb(t),
            rx.text(t["title"], weight="bold", size="3", word_break="break-word"),
            rx.hstack(rx.badge(t["kind"], variant="soft"), rx.text(t["fields"], size="1", color=rx.color("gray", 11)),
                      rx.cond(t["logo"], rx.tooltip(rx.icon("image", size=14, color=rx.color("gray", 10)),
                                                    content=tr("cobrand.has_logo_frame"))),
                      align="center", spacing="2", wrap="wrap"),
            rx.button(rx.icon("pencil-line", size=16), tr("cobrand.use_template"), width="100%", variant="soft",
                      on_click=S.choose(t["id"].to(int)), data_testid="template-use"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="template-card",
    )


def _templates() -> rx.Component:
    return rx.vstack(
        _section_title("layout-template", "cobrand.templates_title"),
        rx.cond(
            S.templates.length() > 0,
            rx.grid(rx.foreach(S.templates, _template_card), columns=rx.breakpoints(initial="1", xs="2", md="3"),
                    spacing="4", width="100%"),
            empty_state("layout-template", "cobrand.no_templates_title", "cobrand.no_templates_body"),
        ),
        spacing="3",
        width="100%",
    )


# --------------------------------------------------------------------------- form


def _label_of(f: dict) -> rx.Var:
    """Standard fields: the catalogue's label in the user's language (follows a language
    switch); custom fields: the template author's name for the field."""
    return rx.cond(f["standard"].to(bool), SessionState.t[f["label_key"].to(str)], f["label"].to(str))


def _input(f: dict) -> rx.Component:
    name = f["name"].to(str)
    common = dict(value=S.values[name], on_change=lambda v: S.set_value(name, v), width="100%",
                  custom_attrs={"data-testid": "field-" + name, "aria-label": _label_of(f)})
    return rx.cond(f["multiline"], rx.text_area(rows="4", **common), rx.input(**common))


def _field(f: dict) -> rx.Component:
    name = f["name"].to(str)
    return rx.vstack(
        rx.hstack(rx.text(_label_of(f), as_="label", size="2", weight="medium"),
                  rx.cond(~f["standard"].to(bool), rx.badge(tr("cobrand.custom_field"), size="1", variant="outline")),
                  align="center", spacing="2"),
        _input(f),
        rx.cond(~f["standard"].to(bool),
                rx.text(tr("cobrand.custom_field_hint"), size="1", color=rx.color("gray", 10))),
        rx.cond(S.field_errors.contains(name),
                rx.text(S.field_errors[name], size="1", color=rx.color("red", 11), role="alert")),
        spacing="1",
        width="100%",
    )


def _profile_hint() -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("palette")),
        rx.callout.text(
            rx.cond(S.org_id == 0, tr("cobrand.from_profile_staff"), tr("cobrand.from_profile")), " ",
            rx.cond(S.can_edit_profile,
                    rx.link(tr("cobrand.edit_profile"), href="/branding", data_testid="edit-profile-link")),
        ),
        variant="surface", size="1", width="100%",
    )


def _preview() -> rx.Component:
    """Page 1 with the current values, following the form (a spinner over the old image
    while it updates; a short sentence instead of the image when it cannot be made)."""
    updating = rx.hstack(rx.spinner(size="1"), rx.text(tr("cobrand.preview_updating"), size="1"),
                         align="center", spacing="2", padding_x="8px", padding_y="4px",
                         background=rx.color("gray", 1), border=f"1px solid {rx.color('gray', 6)}",
                         border_radius="var(--radius-2)", box_shadow="var(--shadow-2)",
                         position="absolute", top="8px", right="8px", data_testid="preview-updating")
    return rx.card(rx.vstack(
        rx.text(tr("cobrand.preview_title"), size="2", weight="medium", color=rx.color("gray", 11)),
        rx.box(
            rx.cond(
                S.preview_error != "",
                rx.center(rx.hstack(rx.icon("image-off", size=18, color=rx.color("gray", 10), flex_shrink="0"),
                                    rx.text(S.preview_error, size="2", color=rx.color("gray", 11)),
                                    spacing="2", align="start"),
                          min_height="160px", padding="16px", data_testid="preview-error"),
                rx.cond(
                    S.preview_url != "",
                    rx.image(src=S.preview_url, alt=tr("cobrand.preview_alt"), width="100%", height="auto",
                             max_height="70vh", object_fit="contain", display="block", background="white",
                             data_testid="live-preview"),
                    rx.box(height="320px", width="100%", background=rx.color("gray", 3)),
                ),
            ),
            rx.cond(S.preview_busy, updating),
            position="relative", width="100%", max_width="420px", align_self="center",
            border=f"1px solid {rx.color('gray', 6)}", border_radius="var(--radius-2)", overflow="hidden",
            aria_busy=S.preview_busy, data_testid="preview",
        ),
        spacing="2", width="100%"), width="100%")


def _progress() -> rx.Component:
    return rx.cond(
        S.generating,
        rx.card(rx.vstack(
            rx.hstack(rx.spinner(size="1"), rx.text(tr("cobrand.generating"), size="2"), rx.spacer(),
                      rx.text(S.progress, "%", size="2", weight="bold"), align="center", width="100%"),
            rx.progress(value=S.progress, width="100%", data_testid="generate-progress"),
            spacing="2", width="100%"), width="100%"),
    )


def _failure() -> rx.Component:
    return rx.cond(
        S.failed != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("circle-alert")),
            rx.vstack(rx.text(S.failed, data_testid="generate-error"),
                      rx.button(rx.icon("rotate-cw", size=14), tr("common.retry"), size="1", variant="soft",
                                on_click=S.retry, data_testid="generate-retry"),
                      spacing="2", align="start"),
            color_scheme="red", role="alert", width="100%",
        ),
    )


def _result() -> rx.Component:
    return rx.cond(
        S.result_id > 0,
        rx.card(
            rx.flex(
                rx.image(src="/api/cobrand/" + S.result_id.to(str) + "/preview.png", alt=S.result_title,
                         width=rx.breakpoints(initial="100%", sm="220px"), max_width="280px", align_self="center",
                         border=f"1px solid {rx.color('gray', 6)}",
                         border_radius="var(--radius-2)", background="white", data_testid="result-preview"),
                rx.vstack(
                    rx.hstack(rx.icon("circle-check", color=rx.color("green", 10)),
                              rx.text(tr("cobrand.ready"), weight="bold"), align="center", spacing="2"),
                    rx.text(S.result_title, size="2", word_break="break-word", data_testid="result-title"),
                    rx.text(S.result_meta, size="1", color=rx.color("gray", 11)),
                    rx.el.a(rx.button(rx.icon("download", size=16), tr("cobrand.download_pdf"), size="3"),
                            href="/api/cobrand/" + S.result_id.to(str) + "/download", download="",
                            custom_attrs={**NATIVE, "data-testid": "result-download"}),
                    spacing="3", min_width="0",
                ),
                direction=rx.breakpoints(initial="column", sm="row"), gap="20px", width="100%",
            ),
            width="100%",
            data_testid="result-card",
        ),
    )


def _form() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.button(rx.icon("arrow-left", size=16), tr("cobrand.all_templates"), variant="ghost", on_click=S.back,
                      data_testid="form-back"),
            width="100%",
        ),
        rx.hstack(rx.heading(S.selected_title, size="5", data_testid="form-title"),
                  rx.badge(S.selected_kind, variant="soft"), align="center", spacing="2", wrap="wrap"),
        rx.grid(
            rx.card(rx.vstack(
                _profile_hint(),
                rx.grid(rx.foreach(S.form_fields, _field), columns=rx.breakpoints(initial="1", sm="2"), spacing="3",
                        width="100%"),
                rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                       role="alert", width="100%", data_testid="form-error")),
                rx.hstack(
                    rx.button(tr("cobrand.reset_values"), variant="soft", color_scheme="gray",
                              on_click=S.reset_values, data_testid="form-reset"),
                    rx.button(rx.icon("file-output", size=16), tr("cobrand.generate"), loading=S.generating,
                              on_click=S.generate, data_testid="generate"),
                    justify="end", width="100%", wrap="wrap",
                ),
                spacing="4", width="100%",
            ), width="100%"),
            rx.vstack(_progress(), _failure(), _result(), _preview(), spacing="3", width="100%", id="cobrand-status"),
            columns=rx.breakpoints(initial="1", lg="2"), spacing="4", width="100%", align="start",
        ),
        spacing="4",
        width="100%",
        data_testid="cobrand-form",
    )


# --------------------------------------------------------------------------- history


def _download(g: dict, label: bool = False) -> rx.Component:
    button = (rx.button(rx.icon("download", size=14), tr("cobrand.download_pdf"), size="2", variant="soft")
              if label else rx.icon_button(rx.icon("download", size=14), size="1", variant="soft",
                                           aria_label=tr("cobrand.download_pdf")))
    return rx.el.a(button, href=g["url"].to(str), download="", custom_attrs={**NATIVE, "data-testid": "history-download"})


def _history_row(g: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(g["created"], size="2", white_space="nowrap")),
        rx.table.cell(rx.vstack(rx.text(g["title"], size="2", weight="medium"),
                                rx.text(g["template"], size="1", color=rx.color("gray", 10)), spacing="0")),
        rx.table.cell(rx.text(g["user"], size="2")),
        rx.table.cell(rx.text(g["size"], size="2", white_space="nowrap")),
        rx.table.cell(_download(g)),
        data_testid="history-row",
    )


def _history_card(g: dict) -> rx.Component:
    return rx.card(rx.vstack(
        rx.text(g["title"], weight="bold", size="2", word_break="break-word"),
        rx.text(g["template"], size="1", color=rx.color("gray", 11)),
        rx.hstack(rx.text(g["created"], size="1", color=rx.color("gray", 10)), rx.text("·", size="1"),
                  rx.text(g["user"], size="1", color=rx.color("gray", 10)), rx.text("·", size="1"),
                  rx.text(g["size"], size="1", color=rx.color("gray", 10)), wrap="wrap", spacing="1"),
        _download(g, label=True),
        spacing="2", width="100%"), width="100%", data_testid="history-card")


def _history() -> rx.Component:
    return rx.vstack(
        # Partners see their organisation's PDFs, staff everyone's.
        _section_title("history", rx.cond(S.org_id == 0, tr("cobrand.history_title_all"),
                                          tr("cobrand.history_title_org"))),
        rx.cond(
            S.history_rows.length() > 0,
            responsive_list(S, [
                sort_header("cobrand.col_created", "created_sort", S), sort_header("cobrand.col_title", "title", S),
                sort_header("cobrand.col_user", "user", S), rx.table.column_header_cell(tr("cobrand.col_size")),
            ], _history_row, _history_card),
            empty_state("file-stack", "cobrand.no_history_title", "cobrand.no_history_body"),
        ),
        spacing="3",
        width="100%",
        data_testid="history",
    )


def _no_organisation() -> rx.Component:
    """Staff: whose branding to try (the service refuses without an organisation)."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("info")),
        rx.vstack(
            rx.callout.text(tr("cobrand.staff_note")),
            rx.select.root(
                rx.select.trigger(placeholder=tr("cobrand.pick_org"), data_testid="cobrand-org",
                                  max_width="100%"),
                rx.select.content(rx.foreach(S.org_choices, lambda o: rx.select.item(o["name"], value=o["id"]))),
                value=S.picked_org, on_change=S.pick_org,
            ),
            spacing="2", width="100%",
        ),
        width="100%", data_testid="cobrand-no-org",
    )


def cobrand_page() -> rx.Component:
    return app_shell(
        page_header("cobrand.title", "cobrand.description"),
        rx.cond(
            S.loaded,
            rx.vstack(
                rx.cond(S.org_id == 0, _no_organisation()),
                rx.cond(S.selected_id > 0, _form(), _templates()),
                _history(),
                spacing="6",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding_y="48px", width="100%"),
        ),
    )

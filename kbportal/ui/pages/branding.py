"""Branding profile: the organisation's company name, contact, colour, footer and logo."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, empty_state, page_header
from kbportal.ui.i18n import tr
from kbportal.ui.pages.document import upload_zone
from kbportal.ui.state.branding import LOGO_UPLOAD_ID, BrandingState as S

# field name, label key, multiline, input type
_TEXT_FIELDS = (
    ("partner_name", "branding.partner_name", False, "text"),
    ("contact_name", "branding.contact_name", False, "text"),
    ("email", "branding.email", False, "email"),
    ("phone", "branding.phone", False, "tel"),
    ("website", "branding.website", False, "url"),
    ("footer", "branding.footer", False, "text"),
    ("address", "branding.address", True, "text"),
)


def _error(name: str) -> rx.Component:
    return rx.cond(S.errors.contains(name), rx.text(S.errors[name], size="1", color=rx.color("red", 11),
                                                   role="alert", data_testid=f"error-{name}"))


def _label(key: str) -> rx.Component:
    return rx.text(tr(key), as_="label", size="2", weight="medium")


def _text_field(name: str, key: str, multiline: bool, kind: str) -> rx.Component:
    common = dict(value=S.values[name], on_change=lambda v: S.set_value(name, v), read_only=~S.can_edit,
                  width="100%", custom_attrs={"data-testid": f"branding-{name}", "aria-label": tr(key)})
    control = rx.text_area(rows="4", **common) if multiline else rx.input(type=kind, **common)
    return rx.vstack(_label(key), control, _error(name), spacing="1", width="100%",
                     grid_column=rx.breakpoints(initial="auto", sm="span 2") if multiline else "auto")


def _colour_field() -> rx.Component:
    colour = S.values["brand_colour"]
    return rx.vstack(
        _label("branding.brand_colour"),
        rx.hstack(
            rx.el.input(type="color", value=rx.cond(colour != "", colour, "#3e63dd"),
                        on_change=lambda v: S.set_value("brand_colour", v), disabled=~S.can_edit,
                        aria_label=tr("branding.brand_colour"),
                        style={"width": "44px", "height": "32px", "padding": "0", "border": "none",
                               "background": "transparent", "cursor": "pointer"},
                        custom_attrs={"data-testid": "branding-colour-picker"}),
            rx.input(value=colour, on_change=lambda v: S.set_value("brand_colour", v), read_only=~S.can_edit,
                     placeholder="#1A73E8", max_length=7, width="120px", font_family="var(--code-font-family)",
                     custom_attrs={"data-testid": "branding-brand_colour", "aria-label": tr("branding.brand_colour")}),
            align="center", spacing="2",
        ),
        _error("brand_colour"),
        spacing="1", width="100%",
    )


def _logo_zone() -> rx.Component:
    """The shared upload zone, less tall: a logo is one small file."""
    zone = upload_zone(LOGO_UPLOAD_ID, S.file_rejected)
    zone.children[0].style.update({"padding": "4px"})  # the drop area (rx.upload's default: 5em)
    return zone


def _logo_card() -> rx.Component:
    return rx.card(rx.vstack(
        rx.text(tr("branding.logo"), size="3", weight="bold"),
        rx.center(
            rx.cond(S.has_logo,
                    rx.image(src=S.logo_url, alt=tr("branding.logo_alt"), max_width="100%", max_height="140px",
                             object_fit="contain", data_testid="branding-logo"),
                    rx.vstack(rx.icon("image-off", size=32, color=rx.color("gray", 9)),
                              rx.text(tr("branding.no_logo"), size="2", color=rx.color("gray", 10)),
                              align="center", spacing="1")),
            height="170px", width="100%", background=rx.color("gray", 2), border_radius="var(--radius-3)",
            border=f"1px solid {rx.color('gray', 5)}", padding="12px",
        ),
        rx.cond(S.logo_info != "", rx.text(S.logo_info, size="1", color=rx.color("gray", 10))),
        rx.cond(S.can_edit, rx.vstack(
            _logo_zone(),
            rx.text(tr("branding.logo_hint"), size="1", color=rx.color("gray", 10)),
            rx.cond(S.has_logo, rx.hstack(
                rx.checkbox(checked=S.remove_logo, on_change=S.set_remove_logo, data_testid="branding-remove-logo"),
                rx.text(tr("branding.remove_logo"), size="2"), align="center")),
            spacing="2", width="100%")),
        _error("logo"),
        spacing="3", width="100%",
    ), width="100%")


def _form() -> rx.Component:
    return rx.grid(
        rx.card(rx.vstack(
            rx.grid(*[_text_field(*f) for f in _TEXT_FIELDS[:6]], _colour_field(), _text_field(*_TEXT_FIELDS[6]),
                    columns=rx.breakpoints(initial="1", sm="2"), spacing="4", width="100%"),
            rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                   role="alert", width="100%")),
            rx.cond(S.updated != "", rx.text(tr("branding.updated"), " ", S.updated, size="1",
                                             color=rx.color("gray", 10))),
            spacing="4", width="100%",
        ), width="100%"),
        _logo_card(),
        columns=rx.breakpoints(initial="1", md="3fr 2fr"),
        align="start",
        spacing="4",
        width="100%",
    )


def _save_button() -> rx.Component:
    return rx.cond(
        S.can_edit & (S.org_id > 0),
        rx.button(rx.icon("save", size=16), tr("branding.save"), loading=S.saving, data_testid="branding-save",
                  on_click=S.save(rx.upload_files(upload_id=LOGO_UPLOAD_ID))),
    )


def _org_picker() -> rx.Component:
    return rx.cond(
        S.is_picker,
        rx.select.root(
            rx.select.trigger(placeholder=tr("cobrand.pick_org"), data_testid="branding-org", max_width="100%"),
            rx.select.content(rx.foreach(S.org_choices, lambda o: rx.select.item(o["name"], value=o["id"]))),
            value=S.picked_org, on_change=S.pick_org,
        ),
    )


def branding_page() -> rx.Component:
    return app_shell(
        page_header("branding.title", "branding.description", _save_button()),
        rx.cond(
            S.loaded,
            rx.vstack(_org_picker(), rx.cond(
                S.org_id > 0,
                rx.vstack(
                    rx.cond(~S.can_edit, rx.callout(tr("branding.read_only"), icon="lock", variant="surface",
                                                    width="100%", data_testid="branding-read-only")),
                    rx.hstack(rx.icon("building-2", size=16, color=rx.color("gray", 10)),
                              rx.text(S.org_name, size="2", color=rx.color("gray", 11)), align="center", spacing="2"),
                    _form(),
                    spacing="4", width="100%",
                ),
                empty_state("building-2", "branding.no_org_title", "branding.no_org_body"),
            ), spacing="4", width="100%"),
            rx.center(rx.spinner(size="3"), padding_y="48px", width="100%"),
        ),
    )

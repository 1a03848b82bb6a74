"""The user's own settings."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, field, language_select, page_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.profile import ProfileState as S
from kbportal.ui.state.session import SessionState


def profile_page() -> rx.Component:
    return app_shell(
        page_header("profile.title", "profile.description"),
        rx.grid(
            rx.card(rx.vstack(
                rx.heading(tr("profile.preferences"), size="4"),
                rx.data_list.root(
                    rx.data_list.item(rx.data_list.label(tr("users.name")), rx.data_list.value(SessionState.user_name)),
                    rx.data_list.item(rx.data_list.label(tr("users.email")),
                                      rx.data_list.value(SessionState.user_email)),
                    rx.data_list.item(rx.data_list.label(tr("users.role")),
                                      rx.data_list.value(SessionState.t["role." + SessionState.role])),
                    orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
                ),
                field("users.language", language_select("profile-language")),
                field("users.time_zone", rx.hstack(
                    rx.input(value=S.p_time_zone, on_change=S.set_p_time_zone, list="kbp-profile-zones",
                             width="100%", data_testid="profile-timezone"),
                    rx.button(tr("common.save"), on_click=S.save_time_zone, variant="soft"),
                    width="100%"), S.errors["time_zone"]),
                rx.el.datalist(rx.foreach(S.time_zones, lambda z: rx.el.option(value=z)), id="kbp-profile-zones"),
                spacing="4", width="100%",
            )),
            rx.card(rx.vstack(
                rx.heading(tr("profile.password"), size="4"),
                field("profile.current_password", rx.input(type="password", value=S.current_password,
                                                           on_change=S.set_current_password,
                                                           auto_complete="current-password", width="100%"),
                      S.errors["current_password"]),
                field("users.new_password", rx.input(type="password", value=S.new_password,
                                                     on_change=S.set_new_password, auto_complete="new-password",
                                                     width="100%"), S.errors["password"]),
                rx.button(tr("profile.change_password"), on_click=S.change_password, loading=S.saving),
                spacing="4", width="100%",
            )),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
    )

"""Sign-in page."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import language_select
from kbportal.ui.i18n import tr
from kbportal.ui.state.login import LoginState


def login_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.vstack(
                rx.text(tr("login.email"), as_="label", html_for="email", size="2", weight="medium"),
                rx.input(id="email", name="email", type="email", placeholder="name@company.com", required=True,
                         auto_complete="username", size="3", width="100%", data_testid="login-email"),
                spacing="1", width="100%",
            ),
            rx.vstack(
                rx.text(tr("login.password"), as_="label", html_for="password", size="2", weight="medium"),
                rx.input(id="password", name="password", type="password", required=True,
                         auto_complete="current-password", size="3", width="100%", data_testid="login-password"),
                spacing="1", width="100%",
            ),
            rx.cond(
                LoginState.error != "",
                rx.callout(LoginState.error, icon="triangle-alert", color_scheme="red", role="alert",
                           width="100%", data_testid="login-error"),
            ),
            rx.button(tr("login.submit"), type="submit", size="3", width="100%", loading=LoginState.busy,
                      data_testid="login-submit"),
            spacing="4",
            width="100%",
        ),
        on_submit=LoginState.submit,
        width="100%",
    )
    return rx.center(
        rx.vstack(
            rx.hstack(rx.spacer(), language_select("login-language"), width="100%"),
            rx.card(
                rx.vstack(
                    rx.center(rx.icon("library-big", size=28, color="white"), background=rx.color("accent", 9),
                              border_radius="var(--radius-3)", width="52px", height="52px"),
                    rx.heading(tr("login.title"), size="6", text_align="center"),
                    rx.text(tr("login.subtitle"), color=rx.color("gray", 11), text_align="center", size="2"),
                    rx.cond(LoginState.notice != "",
                            rx.callout(LoginState.notice, icon="info", width="100%", data_testid="login-notice")),
                    form,
                    align="center",
                    spacing="4",
                    width="100%",
                ),
                size="4",
                width="100%",
            ),
            rx.text(tr("login.help"), size="1", color=rx.color("gray", 10), text_align="center"),
            width="100%",
            max_width="420px",
            spacing="3",
        ),
        min_height="100vh",
        padding="16px",
        background=f"linear-gradient(160deg, {rx.color('accent', 2)}, {rx.color('gray', 2)})",
    )

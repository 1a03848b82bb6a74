"""Home: greets the user with their organisation, region and tier."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, stat_card
from kbportal.ui.i18n import tr
from kbportal.ui.state.home import HomeState
from kbportal.ui.state.session import SessionState


def _partner_facts() -> rx.Component:
    return rx.grid(
        stat_card("building-2", tr("home.organisation"), SessionState.org_name, "home-org"),
        stat_card("globe", tr("home.region"), SessionState.region, "home-region"),
        stat_card("award", tr("home.tier"), SessionState.t["tier." + SessionState.tier], "home-tier"),
        columns=rx.breakpoints(initial="1", sm="3"),
        spacing="4",
        width="100%",
    )


def _admin_overview() -> rx.Component:
    return rx.vstack(
        rx.grid(
            stat_card("building-2", tr("home.stat_orgs"), HomeState.stats["organisations"].to_string(), "stat-orgs"),
            stat_card("users", tr("home.stat_users"), HomeState.stats["users"].to_string(), "stat-users"),
            stat_card("log-in", tr("home.stat_logins"), HomeState.stats["logins_7d"].to_string(), "stat-logins"),
            stat_card("shield-alert", tr("home.stat_failed"), HomeState.stats["failed_7d"].to_string(), "stat-failed"),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="4",
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.heading(tr("home.chart_title"), size="4"),
                rx.recharts.bar_chart(
                    rx.recharts.bar(data_key="ok", name=tr("home.chart_ok"), fill=rx.color("accent", 9), stack_id="a"),
                    rx.recharts.bar(data_key="failed", name=tr("home.chart_failed"), fill=rx.color("red", 9), stack_id="a"),
                    rx.recharts.x_axis(data_key="day"),
                    rx.recharts.y_axis(allow_decimals=False, width=30),
                    rx.recharts.graphing_tooltip(),
                    rx.recharts.legend(),
                    data=HomeState.logins_by_day,
                    width="100%",
                    height=240,
                ),
                width="100%",
            ),
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def home_page() -> rx.Component:
    return app_shell(
        rx.vstack(
            rx.heading(tr("home.greeting_prefix"), " ", SessionState.user_name, size="7", data_testid="greeting"),
            rx.cond(
                SessionState.org_name != "",
                rx.text(tr("home.partner_line"), " ", rx.text.strong(SessionState.org_name), " · ",
                        SessionState.region, " · ", SessionState.t["tier." + SessionState.tier],
                        color=rx.color("gray", 11), data_testid="greeting-org"),
                rx.text(tr("home.staff_line"), " ", rx.text.strong(SessionState.t["role." + SessionState.role]),
                        color=rx.color("gray", 11), data_testid="greeting-org"),
            ),
            rx.cond(HomeState.last_login != "",
                    rx.text(tr("home.last_login"), " ", HomeState.last_login, size="2", color=rx.color("gray", 10))),
            spacing="1",
        ),
        rx.cond(SessionState.org_name != "", _partner_facts()),
        rx.cond(SessionState.is_admin, _admin_overview()),
        rx.callout(tr("home.coming_soon"), icon="sparkles", width="100%"),
    )

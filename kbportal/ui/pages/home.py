"""Home: greets the user with their organisation, region and tier; shows the newest
documents they may see, a partner's latest co-branded PDFs, collateral usage for staff
and a glance at the portal for admins."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.documents import document_card
from kbportal.ui.components.layout import app_shell, empty_state, stat_card
from kbportal.ui.i18n import tr
from kbportal.ui.state.home import HomeState
from kbportal.ui.state.session import SessionState


def _partner_facts() -> rx.Component:
    return rx.grid(
        stat_card("building-2", tr("home.organisation"), SessionState.org_name, "home-org"),
        stat_card("globe", tr("home.region"), SessionState.region, "home-region"),
        stat_card("award", tr("home.tier"), SessionState.tier_labels[SessionState.tier], "home-tier"),
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


def _section_header(title_key: str, link_key: str, href: str, testid: str) -> rx.Component:
    return rx.hstack(
        rx.heading(tr(title_key), size="5"),
        rx.spacer(),
        rx.link(rx.hstack(tr(link_key), rx.icon("arrow-right", size=16), spacing="1", align="center"),
                href=href, size="2", data_testid=testid),
        width="100%", align="center",
    )


def _recent_documents() -> rx.Component:
    return rx.vstack(
        _section_header("home.recent_title", "home.open_library", "/library", "home-open-library"),
        rx.cond(
            HomeState.recent.length() > 0,
            rx.grid(rx.foreach(HomeState.recent, lambda card: document_card(card, show_status=SessionState.is_staff)),
                    columns=rx.breakpoints(initial="1", xs="2", md="3"), spacing="4", width="100%",
                    data_testid="home-recent"),
            empty_state("folder-open", "home.recent_empty_title", "home.recent_empty_body"),
        ),
        spacing="3", width="100%",
    )


def _generated_row(item: dict) -> rx.Component:
    return rx.hstack(
        rx.icon("file-text", size=20, color=rx.color("accent", 9), flex_shrink="0"),
        rx.vstack(
            rx.text(item["title"], weight="medium", size="2", line_clamp=1),
            rx.text(item["template"], " · ", item["created"], " · ", item["size"], size="1",
                    color=rx.color("gray", 10)),
            spacing="0", min_width="0", flex="1",
        ),
        rx.link(rx.icon_button(rx.icon("download", size=16), variant="soft", size="2",
                               aria_label=tr("home.download_pdf")),
                href=item["url"], download=""),
        width="100%", align="center", spacing="3", padding_y="6px",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        data_testid="home-generated-row",
    )


def _generated() -> rx.Component:
    return rx.card(
        rx.vstack(
            _section_header("home.generated_title", "home.make_cobrand", "/cobrand", "home-make-cobrand"),
            rx.cond(
                HomeState.generated.length() > 0,
                rx.vstack(rx.foreach(HomeState.generated, _generated_row), spacing="0", width="100%"),
                rx.text(tr("home.generated_empty"), size="2", color=rx.color("gray", 11)),
            ),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _usage() -> rx.Component:
    top_row = lambda item: rx.hstack(  # noqa: E731
        rx.link(item["title"], href=item["href"], size="2", weight="medium", line_clamp=1, flex="1", min_width="0"),
        rx.badge(item["downloads"], variant="soft", radius="full"),
        width="100%", align="center", padding_y="6px", border_bottom=f"1px solid {rx.color('gray', 4)}",
        data_testid="home-top-document",
    )
    return rx.vstack(
        rx.grid(
            stat_card("file-check", tr("home.stat_published"), HomeState.usage["published"].to_string(),
                      "stat-published"),
            stat_card("file-pen", tr("home.stat_drafts"), HomeState.usage["drafts"].to_string(), "stat-drafts"),
            stat_card("download", tr("home.stat_downloads"), HomeState.usage["downloads_7d"].to_string(),
                      "stat-downloads"),
            stat_card("languages", tr("home.stat_stale"), HomeState.usage["stale"].to_string(), "stat-stale"),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="4",
            width="100%",
        ),
        rx.grid(
            rx.card(
                rx.vstack(
                    rx.heading(tr("home.downloads_chart_title"), size="4"),
                    rx.cond(
                        HomeState.usage["downloads_14d"] > 0,
                        rx.recharts.bar_chart(
                            rx.recharts.bar(data_key="downloads", name=tr("home.downloads"),
                                            fill=rx.color("accent", 9)),
                            rx.recharts.x_axis(data_key="day"),
                            rx.recharts.y_axis(allow_decimals=False, width=30),
                            rx.recharts.graphing_tooltip(),
                            data=HomeState.downloads_by_day,
                            width="100%",
                            height=220,
                        ),
                        rx.text(tr("home.downloads_none"), size="2", color=rx.color("gray", 11)),
                    ),
                    width="100%",
                ),
                width="100%",
                data_testid="home-downloads-chart",
            ),
            rx.card(
                rx.vstack(
                    rx.heading(tr("home.top_title"), size="4"),
                    rx.cond(
                        HomeState.top_documents.length() > 0,
                        rx.vstack(rx.foreach(HomeState.top_documents, top_row), spacing="0", width="100%"),
                        rx.text(tr("home.top_empty"), size="2", color=rx.color("gray", 11)),
                    ),
                    width="100%",
                ),
                width="100%",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        spacing="4",
        width="100%",
        data_testid="home-usage",
    )


def home_page() -> rx.Component:
    return app_shell(
        rx.vstack(
            rx.heading(tr("home.greeting_prefix"), " ", SessionState.user_name, size="7", data_testid="greeting"),
            rx.cond(
                SessionState.org_name != "",
                rx.text(tr("home.partner_line"), " ", rx.text.strong(SessionState.org_name), " · ",
                        SessionState.region, " · ", SessionState.tier_labels[SessionState.tier],
                        color=rx.color("gray", 11), data_testid="greeting-org"),
                rx.text(tr("home.staff_line"), " ", rx.text.strong(SessionState.t["role." + SessionState.role]),
                        color=rx.color("gray", 11), data_testid="greeting-org"),
            ),
            rx.cond(HomeState.last_login != "",
                    rx.text(tr("home.last_login"), " ", HomeState.last_login, size="2", color=rx.color("gray", 10))),
            spacing="1",
        ),
        rx.cond(SessionState.org_name != "", _partner_facts()),
        rx.cond(HomeState.has_usage, _usage()),
        rx.cond(HomeState.loaded, _recent_documents()),
        rx.cond(SessionState.org_name != "", _generated()),
        rx.cond(SessionState.is_admin, _admin_overview()),
    )

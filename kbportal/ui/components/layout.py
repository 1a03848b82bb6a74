"""The app frame: sidebar (a drawer below 768 px), top bar, content column."""

from __future__ import annotations

import reflex as rx

from kbportal.i18n import LANGUAGES
from kbportal.ui.i18n import tr
from kbportal.ui.state.session import SessionState

CONTENT_MAX_WIDTH = "1200px"


def language_select(testid: str = "language-select") -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="Language", data_testid=testid, variant="ghost"),
        rx.select.content(*[rx.select.item(name, value=code) for code, name in LANGUAGES.items()]),
        value=rx.cond(SessionState.lang != "", SessionState.lang, "en"),
        on_change=SessionState.set_language,
        size="2",
    )


def _nav_item(icon: str, label_key: str, href: str, testid: str) -> rx.Component:
    path = SessionState.router.url.path.to(str)
    active = (path == "/") if href == "/" else path.startswith(href)
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=18),
            rx.text(tr(label_key), size="3", weight=rx.cond(active, "bold", "regular")),
            align="center",
            spacing="3",
            padding_x="12px",
            padding_y="8px",
            border_radius="var(--radius-3)",
            background=rx.cond(active, rx.color("accent", 4), "transparent"),
            color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 12)),
            _hover={"background": rx.color("accent", 3)},
            width="100%",
        ),
        href=href,
        underline="none",
        width="100%",
        data_testid=testid,
    )


def nav_links() -> rx.Component:
    return rx.vstack(
        _nav_item("house", "nav.home", "/", "nav-home"),
        _nav_item("library", "nav.library", "/library", "nav-library"),
        _nav_item("search", "nav.search", "/search", "nav-search"),
        _nav_item("stamp", "nav.cobrand", "/cobrand", "nav-cobrand"),
        rx.cond(SessionState.can_manage_users, _nav_item("palette", "nav.branding", "/branding", "nav-branding")),
        rx.cond(SessionState.is_staff, _nav_item("upload", "nav.studio", "/studio", "nav-studio")),
        rx.cond(
            SessionState.can_manage_users,
            rx.vstack(
                rx.text(tr("nav.admin"), size="1", weight="bold", color=rx.color("gray", 10),
                        padding_x="12px", padding_top="16px", text_transform="uppercase"),
                rx.cond(SessionState.is_admin, _nav_item("building-2", "nav.organisations", "/admin/orgs", "nav-orgs")),
                _nav_item("users", "nav.users", "/admin/users", "nav-users"),
                rx.cond(SessionState.is_admin, _nav_item("scroll-text", "nav.audit", "/admin/audit", "nav-audit")),
                rx.cond(SessionState.is_admin, _nav_item("activity", "nav.system", "/admin/system", "nav-system")),
                rx.cond(SessionState.is_admin, _nav_item("languages", "nav.translation", "/admin/translation",
                                                         "nav-translation")),
                spacing="1",
                width="100%",
            ),
        ),
        spacing="1",
        width="100%",
    )


def brand() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.center(rx.icon("library-big", size=18, color="white"), background=rx.color("accent", 9),
                      border_radius="var(--radius-2)", width="30px", height="30px"),
            rx.text(tr("app.name"), size="4", weight="bold", white_space="nowrap"),
            align="center",
            spacing="2",
        ),
        href="/",
        underline="none",
        color=rx.color("gray", 12),
    )


def sidebar() -> rx.Component:
    return rx.box(
        rx.vstack(brand(), rx.divider(), nav_links(), spacing="4", padding="16px", width="100%"),
        display=["none", "none", "block"],
        width="240px",
        min_width="240px",
        height="100vh",
        position="sticky",
        top="0",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
    )


def mobile_menu() -> rx.Component:
    return rx.box(
        rx.drawer.root(
            rx.drawer.trigger(rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Menu",
                                             data_testid="menu-button")),
            rx.drawer.overlay(z_index="40"),
            rx.drawer.portal(
                rx.drawer.content(
                    rx.vstack(
                        rx.hstack(brand(), rx.spacer(),
                                  rx.drawer.close(rx.icon_button(rx.icon("x"), variant="ghost", aria_label="Close")),
                                  width="100%", align="center"),
                        rx.divider(),
                        nav_links(),
                        spacing="4",
                        padding="16px",
                        width="100%",
                    ),
                    width="260px",
                    height="100%",
                    background=rx.color("gray", 1),
                    z_index="50",
                )
            ),
            direction="left",
        ),
        display=["block", "block", "none"],
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.avatar(fallback=SessionState.initials, size="2", radius="full"),
                rx.text(SessionState.user_name, display=["none", "none", "inline"], size="2"),
                rx.icon("chevron-down", size=14),
                variant="ghost",
                data_testid="user-menu",
            )
        ),
        rx.menu.content(
            rx.box(rx.text(SessionState.user_email, size="1", color=rx.color("gray", 11)), padding="4px 8px"),
            rx.menu.item(rx.icon("user-cog", size=16), tr("nav.profile"), on_click=rx.redirect("/profile"),
                         data_testid="menu-profile"),
            rx.menu.separator(),
            rx.menu.item(rx.icon("log-out", size=16), tr("nav.logout"), on_click=SessionState.logout,
                         color="red", data_testid="logout"),
        ),
    )


def global_search() -> rx.Component:
    """The top bar's search box: title suggestions (the user's access applies) while typing."""
    from kbportal.ui.state.search import SearchState

    def suggestion(title):
        return rx.box(rx.text(title, size="2", trim="both"), on_click=SearchState.pick(title), padding="8px 12px",
                      cursor="pointer", _hover={"background": rx.color("accent", 3)}, data_testid="suggestion")

    return rx.form(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            value=SearchState.box,
            on_change=SearchState.type_box.debounce(200),
            on_blur=SearchState.close_suggestions.debounce(250),
            placeholder=tr("topbar.search_placeholder"),
            width="100%",
            max_width="420px",
            size="2",
            name="q",
            auto_complete="off",
            data_testid="global-search",
            aria_label=tr("topbar.search_placeholder"),
        ),
        rx.cond(SearchState.suggestions.length() > 0, rx.card(
            rx.foreach(SearchState.suggestions, suggestion),
            position="absolute", top="40px", width="100%", max_width="420px", padding="4px 0", z_index="20",
            data_testid="suggestions",
        )),
        on_submit=SearchState.go,
        width="100%",
    )


def _feed_row(item: dict) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.box(width="8px", height="8px", border_radius="50%", flex_shrink="0", margin_top="6px",
                   background=rx.cond(item["unread"], rx.color("accent", 9), "transparent")),
            rx.vstack(
                rx.text(item["title"], size="2", weight="medium", line_clamp=2),
                rx.hstack(
                    rx.cond(item["updated"], rx.badge(tr("library.badge_updated"), color_scheme="blue", size="1"),
                            rx.badge(tr("library.badge_new"), color_scheme="green", size="1")),
                    rx.text(item["date"], size="1", color=rx.color("gray", 10)),
                    spacing="2", align="center",
                ),
                spacing="1", min_width="0",
            ),
            spacing="2", align="start", width="100%",
        ),
        href=item["href"], underline="none", color="inherit", width="100%", padding="8px",
        border_radius="var(--radius-2)", _hover={"background": rx.color("gray", 3)}, data_testid="feed-item",
    )


def whats_new() -> rx.Component:
    """The bell: documents published for this user lately; a dot counts the unread."""
    from kbportal.ui.state.feed import FeedState

    return rx.popover.root(
        rx.popover.trigger(
            rx.box(
                rx.icon_button(rx.icon("bell", size=18), variant="ghost", aria_label=tr("topbar.notifications"),
                               data_testid="feed-bell"),
                rx.cond(FeedState.unread > 0,
                        rx.badge(rx.cond(FeedState.unread > 9, "9+", FeedState.unread.to_string()),
                                 color_scheme="red", variant="solid", radius="full", size="1",
                                 position="absolute", top="-6px", right="-8px", pointer_events="none",
                                 data_testid="feed-unread")),
                position="relative",
                on_mount=FeedState.count,
                data_counted=rx.cond(FeedState.counted, "yes", "no"),
                data_testid="feed",
            ),
        ),
        rx.popover.content(
            rx.vstack(
                rx.heading(tr("feed.title"), size="3"),
                rx.cond(
                    FeedState.items.length() > 0,
                    rx.vstack(rx.foreach(FeedState.items, _feed_row), spacing="0", width="100%"),
                    rx.text(rx.cond(FeedState.loaded, tr("feed.empty"), "…"), size="2", color=rx.color("gray", 11),
                            data_testid="feed-empty"),
                ),
                rx.link(tr("home.open_library"), href="/library", size="2"),
                spacing="2", width="100%",
            ),
            width="340px", max_width="calc(100vw - 24px)", align="end", data_testid="feed-panel",
        ),
        on_open_change=FeedState.opened,
    )


def top_bar() -> rx.Component:
    return rx.hstack(
        mobile_menu(),
        rx.box(global_search(), flex="1", min_width="0", position="relative"),
        rx.hstack(
            language_select(),
            whats_new(),
            user_menu(),
            spacing="3",
            align="center",
        ),
        align="center",
        spacing="3",
        padding_x=["12px", "16px", "24px"],
        height="60px",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 1),
        position="sticky",
        top="0",
        z_index="10",
        width="100%",
    )


def not_found_view() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.heading("404", size="9", color=rx.color("accent", 9)),
            rx.heading(tr("notfound.title"), size="5"),
            rx.text(tr("notfound.body"), color=rx.color("gray", 11), text_align="center"),
            rx.link(rx.button(tr("notfound.home")), href="/"),
            align="center",
            spacing="3",
            data_testid="not-found",
        ),
        padding_y="80px",
        width="100%",
    )


def loading_view() -> rx.Component:
    return rx.center(rx.spinner(size="3"), padding_y="80px", width="100%")


def app_shell(*content: rx.Component) -> rx.Component:
    """A signed-in page: content shows only once the guard allowed it (else 404)."""
    body = rx.cond(
        SessionState.checked & (SessionState.user_id > 0),
        rx.cond(SessionState.page_allowed, rx.vstack(*content, spacing="5", width="100%"), not_found_view()),
        loading_view(),
    )
    return rx.hstack(
        sidebar(),
        rx.vstack(
            top_bar(),
            rx.box(body, width="100%", max_width=CONTENT_MAX_WIDTH, margin_x="auto",
                   padding=["16px", "20px", "32px"]),
            spacing="0",
            width="100%",
            min_width="0",
        ),
        spacing="0",
        width="100%",
        align="start",
        min_height="100vh",
    )


def page_header(title_key: str, description_key: str, *actions: rx.Component) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.heading(tr(title_key), size="7", data_testid="page-title"),
            rx.text(tr(description_key), color=rx.color("gray", 11)),
            spacing="1",
        ),
        rx.spacer(),
        rx.hstack(*actions, spacing="2", wrap="wrap"),
        direction=rx.breakpoints(initial="column", sm="row"),
        gap="12px",
        width="100%",
        align=rx.breakpoints(initial="start", sm="center"),
    )


def empty_state(icon: str, title_key: str, body_key: str, *actions: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=40, color=rx.color("gray", 9)),
            rx.heading(tr(title_key), size="4"),
            rx.text(tr(body_key), color=rx.color("gray", 11), text_align="center"),
            *actions,
            align="center",
            spacing="2",
        ),
        padding="48px 16px",
        width="100%",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-4)",
        data_testid="empty-state",
    )


def stat_card(icon: str, label: rx.Var | str, value: rx.Var | str, testid: str = "") -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.center(rx.icon(icon, size=20), background=rx.color("accent", 3), color=rx.color("accent", 11),
                      border_radius="var(--radius-3)", width="40px", height="40px", flex_shrink="0"),
            rx.vstack(
                rx.text(label, size="2", color=rx.color("gray", 11)),
                rx.text(value, size="5", weight="bold", data_testid=testid),
                spacing="0",
                min_width="0",
            ),
            align="center",
            spacing="3",
        ),
        width="100%",
    )


def field(label_key: str, control: rx.Component, error: rx.Var | None = None, hint_key: str | None = None) -> rx.Component:
    """A labelled form field with its inline error."""
    parts = [rx.text(tr(label_key), as_="label", size="2", weight="medium"), control]
    if hint_key:
        parts.append(rx.text(tr(hint_key), size="1", color=rx.color("gray", 10)))
    if error is not None:
        parts.append(rx.cond(error != "", rx.text(error, size="1", color=rx.color("red", 11), role="alert")))
    return rx.vstack(*parts, spacing="1", width="100%")

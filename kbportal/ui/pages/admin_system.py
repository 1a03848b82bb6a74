"""Admin: system status (search index, background jobs, file storage)."""

from __future__ import annotations

import reflex as rx

from kbportal.ui.components.layout import app_shell, empty_state, page_header, stat_card
from kbportal.ui.components.table import responsive_list, sort_header
from kbportal.ui.i18n import tr
from kbportal.ui.state.admin_system import AdminSystemState as S


def _section_title(icon: str, key: str, *extra: rx.Component) -> rx.Component:
    return rx.flex(
        rx.hstack(rx.icon(icon, size=20, color=rx.color("accent", 11)), rx.heading(tr(key), size="5"),
                  align="center", spacing="2"),
        *extra,
        align="center",
        gap="8px",
        wrap="wrap",
        width="100%",
    )


def _health_badge() -> rx.Component:
    def badge(icon: str, key: str, colour: str) -> rx.Component:
        return rx.badge(rx.icon(icon, size=14), tr(key), color_scheme=colour, size="2", variant="soft")

    return rx.box(
        rx.match(
            S.health,
            ("ok", badge("circle-check", "system.health_ok", "green")),
            ("lagging", badge("timer", "system.health_lagging", "amber")),
            ("failing", badge("circle-alert", "system.health_failing", "red")),
            badge("triangle-alert", "system.health_damaged", "red"),
        ),
        data_testid="index-health",
        custom_attrs={"data-health": S.health},
    )


def _detail(key: str, value, testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(tr(key), size="1", color=rx.color("gray", 10)),
        rx.text(value, size="2", weight="medium", data_testid=testid),
        spacing="0",
        min_width="0",
    )


def _index_callouts() -> rx.Component:
    return rx.fragment(
        rx.cond(
            S.health == "damaged",
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert")),
                rx.vstack(rx.text(tr("system.damaged_title"), weight="bold"),
                          rx.text(tr("system.damaged_body")),
                          rx.code(S.problem, size="1", word_break="break-all", variant="ghost"),
                          spacing="1"),
                color_scheme="red", role="alert", width="100%", data_testid="index-problem",
            ),
        ),
        rx.cond(
            S.error != "",
            rx.cond(
                S.error_current,
                rx.callout.root(
                    rx.callout.icon(rx.icon("circle-alert")),
                    rx.vstack(rx.text(tr("system.error_title"), " (", S.error_at, ")", weight="bold"),
                              rx.code(S.error, size="1", word_break="break-all", variant="ghost",
                                      data_testid="index-error-text"),
                              rx.text(tr("system.error_hint"), size="2"),
                              spacing="1"),
                    color_scheme="red", role="alert", width="100%", data_testid="index-error",
                ),
                rx.callout.root(
                    rx.callout.icon(rx.icon("circle-check")),
                    rx.vstack(rx.text(tr("system.error_resolved"), " (", S.error_at, ")", weight="medium"),
                              rx.code(S.error, size="1", word_break="break-all", variant="ghost"),
                              spacing="1"),
                    color_scheme="gray", variant="surface", width="100%", data_testid="index-error-resolved",
                ),
            ),
        ),
        rx.cond(
            S.health == "lagging",
            rx.callout(tr("system.lagging_body"), icon="timer", color_scheme="amber", width="100%",
                       data_testid="index-lagging"),
        ),
    )


def _rebuild_progress() -> rx.Component:
    return rx.cond(
        S.rebuilding,
        rx.card(
            rx.vstack(
                rx.hstack(rx.spinner(size="1"), rx.text(tr("system.rebuilding"), size="2"), rx.spacer(),
                          rx.text(S.rebuild_progress, "%", size="2", weight="bold"), align="center", width="100%"),
                rx.progress(value=S.rebuild_progress, width="100%", data_testid="rebuild-progress"),
                spacing="2",
                width="100%",
            ),
            width="100%",
        ),
    )


def _index_section() -> rx.Component:
    return rx.vstack(
        _section_title(
            "file-search", "system.index_title", _health_badge(),
            rx.cond(S.rebuilding, rx.badge(tr("system.rebuilding_badge"), color_scheme="blue", size="2")),
        ),
        rx.grid(
            stat_card("file-search", tr("system.entries"), S.entries, "index-entries"),
            stat_card("hourglass", tr("system.pending"), S.pending_text, "index-pending"),
            stat_card("timer", tr("system.lag"), S.lag, "index-lag"),
            stat_card("triangle-alert", tr("system.last_error"),
                      rx.cond(S.error != "", S.error_ago, tr("system.no_error")), "index-last-error"),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
        ),
        rx.grid(
            _detail("system.last_applied", S.last_applied, "index-last-applied"),
            _detail("system.last_rebuild", S.rebuilt, "index-rebuilt"),
            _detail("system.segments", S.segments, "index-segments"),
            _detail("system.size", S.size, "index-size"),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="4",
            width="100%",
            padding_x="4px",
        ),
        _rebuild_progress(),
        _index_callouts(),
        spacing="4",
        width="100%",
        data_testid="index-card",
    )


def _jobs_chart() -> rx.Component:
    return rx.card(
        rx.vstack(
            _section_title("activity", "system.jobs_title"),
            rx.text(tr("system.jobs_window"), size="2", color=rx.color("gray", 11)),
            rx.cond(
                S.jobs_total > 0,
                # Horizontal bars: state names (long in some languages) get a line each.
                rx.recharts.bar_chart(
                    rx.recharts.bar(
                        rx.foreach(S.job_chart, lambda d: rx.recharts.cell(fill=d["fill"])),
                        rx.recharts.label_list(data_key="count", position="right", font_size=12),
                        data_key="count", name=tr("system.jobs_count"), is_animation_active=False, bar_size=22,
                        min_point_size=2,
                    ),
                    rx.recharts.x_axis(type_="number", allow_decimals=False, hide=True),
                    rx.recharts.y_axis(data_key="state", type_="category", width=130, tick_line=False,
                                       font_size=12),
                    rx.recharts.graphing_tooltip(),
                    data=S.job_chart,
                    layout="vertical",
                    margin={"top": 4, "right": 36, "bottom": 4, "left": 4},
                    width="100%",
                    height=200,
                ),
                rx.center(rx.text(tr("system.no_jobs"), color=rx.color("gray", 10), size="2"),
                          height="200px", width="100%"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="jobs-card",
    )


def _storage_card() -> rx.Component:
    kind_label = rx.match(
        S.storage_kind,
        ("embedded", tr("system.storage_embedded")),
        ("s3", tr("system.storage_s3")),
        tr("system.storage_filesystem"),
    )
    return rx.card(
        rx.vstack(
            _section_title("hard-drive", "system.storage_title"),
            rx.hstack(
                rx.badge(kind_label, variant="soft", size="2", data_testid="storage-kind"),
                rx.cond(S.storage_problem == "",
                        rx.badge(rx.icon("circle-check", size=14), tr("system.storage_ok"), color_scheme="green"),
                        rx.badge(rx.icon("circle-alert", size=14), tr("system.storage_down"), color_scheme="red")),
                wrap="wrap",
                spacing="2",
            ),
            rx.text(S.storage_location, size="2", color=rx.color("gray", 11), word_break="break-all",
                    font_family="var(--code-font-family)", data_testid="storage-location"),
            rx.cond(S.storage_problem != "",
                    rx.callout(S.storage_problem, icon="triangle-alert", color_scheme="red", role="alert",
                               width="100%")),
            rx.divider(),
            rx.text(tr("system.cache_title"), size="2", weight="bold"),
            rx.cond(
                S.cache_enabled,
                rx.vstack(
                    rx.progress(value=S.cache_percent, width="100%", data_testid="cache-usage"),
                    rx.text(S.cache_text, size="2", color=rx.color("gray", 11), data_testid="cache-text"),
                    spacing="2",
                    width="100%",
                ),
                rx.text(rx.cond(S.storage_kind == "filesystem", tr("system.cache_none_fs"), tr("system.cache_off")),
                        size="2", color=rx.color("gray", 11)),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="storage-card",
    )


def _retry_badge(job: dict) -> rx.Component:
    return rx.cond(
        job["retryable"],
        rx.hstack(
            rx.badge(tr("system.retryable"), color_scheme="amber"),
            rx.button(rx.icon("rotate-ccw", size=14), tr("common.retry"), size="1", variant="soft",
                      on_click=S.retry_job(job["id"]), data_testid="retry-job"),
            spacing="2", align="center", wrap="wrap"),
        rx.badge(tr("system.final"), color_scheme="gray"))


def _kind(job: dict) -> rx.Component:
    return rx.vstack(
        rx.text(job["kind"], size="2", weight="medium"),
        rx.text("#", job["id"], " ", job["subject"], size="1", color=rx.color("gray", 10)),
        spacing="0",
    )


def _failed_row(job: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(job["at"], size="2", white_space="nowrap")),
        rx.table.cell(_kind(job)),
        rx.table.cell(rx.text(job["message"], size="2")),
        rx.table.cell(_retry_badge(job)),
        data_testid="failed-job",
    )


def _failed_card(job: dict) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(_kind(job), rx.spacer(), _retry_badge(job), width="100%", align="start"),
            rx.text(job["message"], size="2"),
            rx.text(job["at"], size="1", color=rx.color("gray", 10)),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="failed-job-card",
    )


def _failed_section() -> rx.Component:
    return rx.vstack(
        _section_title("list-x", "system.failed_title"),
        rx.cond(
            S.failed_jobs.length() > 0,
            responsive_list(S, [
                sort_header("system.col_when", "at_sort", S), sort_header("system.col_kind", "kind", S),
                rx.table.column_header_cell(tr("system.col_message")),
            ], _failed_row, _failed_card),
            empty_state("circle-check", "system.failed_empty_title", "system.failed_empty_body"),
        ),
        spacing="3",
        width="100%",
    )


def _footer() -> rx.Component:
    return rx.text(
        tr("system.updated"), " ", S.updated_at, ". ",
        rx.cond(S.auto_refresh_on, tr("system.auto_refresh_on"), tr("system.auto_refresh_off")),
        size="1",
        color=rx.color("gray", 10),
        data_testid="system-updated",
    )


def admin_system_page() -> rx.Component:
    return app_shell(
        page_header(
            "system.title", "system.description",
            rx.button(rx.icon("refresh-cw", size=16), tr("system.refresh"), variant="soft", on_click=S.refresh,
                      data_testid="system-refresh"),
            rx.button(rx.icon("rotate-ccw", size=16), tr("system.reindex"), on_click=S.reindex,
                      loading=S.rebuilding, data_testid="system-reindex"),
        ),
        rx.cond(
            S.loaded,
            rx.vstack(
                _index_section(),
                rx.grid(_jobs_chart(), _storage_card(), columns=rx.breakpoints(initial="1", md="2"), spacing="4",
                        width="100%"),
                _failed_section(),
                _footer(),
                spacing="6",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding_y="48px", width="100%"),
        ),
    )

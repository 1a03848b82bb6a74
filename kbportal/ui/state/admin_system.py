"""System page (admins): search index, background jobs and storage, kept fresh while open.

Everything is read through ``services.system_status`` (which also enforces that only
admins look); this state turns the overview into display strings in the user's
language. One background loop refreshes the page every few seconds, faster while an
index rebuild runs, and stops when the user leaves the page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone

import reflex as rx
from babel.dates import format_timedelta
from babel.numbers import format_decimal

from kbportal.db import session_scope
from kbportal.i18n import format_size
from kbportal.services import access, auth, system_status
from kbportal.services.errors import KbError, NotFound
from kbportal.services.jobs import JobStatus
from kbportal.services.system_status import SystemOverview
from kbportal.ui.state import job_watch
from kbportal.ui.state.session import SessionState
from kbportal.ui.state.table import PAGE_SIZE, TableMixin

log = logging.getLogger(__name__)

ROUTE = "/admin/system"
REFRESH_SECONDS = 5.0
TICK_SECONDS = 1.0  # how often the loop looks whether the user left or switched language
# The loop also keeps the login session "seen": stop after a while so an unattended
# page does not defeat the idle timeout (the Refresh button starts it again).
AUTO_REFRESH_MINUTES = 30
STATE_COLOURS = {"queued": "var(--gray-9)", "running": "var(--accent-9)", "done": "var(--green-9)",
                 "failed": "var(--red-9)"}


def _principal(session, token: str) -> access.Principal:
    found = auth.resolve_principal(session, token)
    return found.principal if found is not None else access.ANONYMOUS


def _read_overview(token: str) -> SystemOverview:
    with session_scope() as session:
        return system_status.overview(session, _principal(session, token))


def _read_rebuild(token: str) -> JobStatus | None:
    with session_scope() as session:
        return system_status.rebuild_status(session, _principal(session, token))


class AdminSystemState(TableMixin, SessionState):
    loaded: bool = False
    updated_at: str = ""
    auto_refresh_on: bool = False

    # search index
    health: str = "ok"
    entries: str = "0"
    pending_text: str = "0"
    lag: str = ""
    last_applied: str = ""
    rebuilt: str = ""
    segments: str = "0"
    size: str = ""
    problem: str = ""
    error: str = ""
    error_at: str = ""
    error_ago: str = ""  # "2 minutes ago": short enough for a stat card
    error_current: bool = False
    rebuilding: bool = False
    rebuild_progress: int = 0

    # jobs
    job_chart: list[dict] = []
    jobs_total: int = 0
    failed_jobs: list[dict] = []
    sort_key: str = "at_sort"
    sort_desc: bool = True

    # storage
    storage_kind: str = ""
    storage_location: str = ""
    storage_problem: str = ""
    cache_enabled: bool = False
    cache_text: str = ""
    cache_percent: int = 0

    _generation: int = 0  # the running refresh loop's number; a newer loop ends older ones
    _shown_lang: str = ""  # the language the figures were formatted in

    # ------------------------------------------------------------------ reading

    def table_rows(self) -> list[dict]:
        return self.failed_jobs

    def _reload(self) -> None:
        with session_scope() as session:
            found = system_status.overview(session, self.principal(session))
        self._show(found)

    def _show(self, found: SystemOverview) -> None:
        lang = self._shown_lang = self.lang or "en"
        index = found.index
        self.health = index.health.value
        self.entries = self._number(index.entries)
        self.pending_text = self._number(index.pending)
        self.lag = self._duration(index.lag_seconds) if index.pending else self.tr("system.up_to_date")
        self.last_applied = self.fmt_dt(index.last_applied_at) or self.tr("system.never")
        self.rebuilt = self.fmt_dt(index.rebuilt_at) or self.tr("system.never")
        self.segments = self._number(index.segments)
        self.size = format_size(index.size_bytes, lang)
        self.problem = index.problem
        self.error, self.error_at, self.error_current = index.last_error, self.fmt_dt(index.last_error_at), \
            index.error_current
        self.error_ago = self._ago(found.at, index.last_error_at) if index.last_error_at else ""
        self.rebuilding = index.rebuilding
        self.rebuild_progress = index.rebuild.progress if index.rebuilding and index.rebuild else 0

        counts = found.jobs.counts
        self.jobs_total = sum(counts.values())
        self.job_chart = [dict(state=self.tr(f"system.job_state.{state}"), count=count,
                               fill=STATE_COLOURS.get(state, "var(--gray-9)")) for state, count in counts.items()]
        self.failed_jobs = [self._failed_row(job) for job in found.jobs.failed]
        self.page = min(self.page, max(0, len(self.failed_jobs) - 1) // PAGE_SIZE)

        storage = found.storage
        self.storage_kind = storage.kind.value
        self.storage_location = storage.location
        self.storage_problem = self.error_text(storage.problem) if storage.problem else ""
        self.cache_enabled = storage.cache_enabled
        if storage.cache_enabled:
            self.cache_text = self.tr("system.cache_usage", used=format_size(storage.cache_bytes, lang),
                                      limit=format_size(storage.cache_max_bytes, lang),
                                      files=self._number(storage.cache_files))
            self.cache_percent = min(100, round(100 * storage.cache_bytes / max(storage.cache_max_bytes, 1)))
        else:
            self.cache_text, self.cache_percent = "", 0
        self.updated_at = self.fmt_dt(found.at)
        self.loaded = True

    def _failed_row(self, job: JobStatus) -> dict:
        key = f"system.job_kind.{job.kind}"
        label = self.tr(key)  # the key itself when a kind has no label yet: show the kind then
        at = job.finished_at or job.created_at
        subject = f"{job.subject_type} {job.subject_id}" if job.subject_type else ""
        return dict(id=job.id, kind=job.kind if label == key else label,
                    message=self.error_text(job.error) if job.error else "", at=self.fmt_dt(at),
                    at_sort=at.isoformat(), retryable=job.retryable, subject=subject)

    def _number(self, value: int) -> str:
        return format_decimal(value, locale=self.lang or "en")

    def _duration(self, seconds: float) -> str:
        return format_timedelta(timedelta(seconds=seconds), format="short", locale=self.lang or "en")

    def _ago(self, now: datetime, then: datetime) -> str:
        then = then if then.tzinfo else then.replace(tzinfo=timezone.utc)
        return format_timedelta(then - now, add_direction=True, locale=self.lang or "en")

    def _on_page(self) -> bool:
        return self.router.url.path.rstrip("/") == ROUTE and self.page_allowed

    def _rebuild_toast(self, job: JobStatus | None):
        if job is None or not job.finished:
            return None
        if job.state == "done":
            entries = self._number(int(job.result.get("entries", 0)))
            return rx.toast.success(self.tr("system.rebuilt_toast", entries=entries))
        return rx.toast.error(self.tr("system.rebuild_failed_toast", reason=self.error_text(job.error)))

    # ------------------------------------------------------------------ events

    @rx.event
    def load(self):
        """on_load: show the figures, then keep them fresh."""
        self._generation += 1
        try:
            self._reload()
        except NotFound:
            self.loaded, self.auto_refresh_on = False, False
            return
        self.auto_refresh_on = True
        return AdminSystemState.auto_refresh

    @rx.event
    def refresh(self):
        try:
            self._reload()
        except NotFound:
            return
        if not self.auto_refresh_on:
            self._generation += 1
            self.auto_refresh_on = True
            return AdminSystemState.auto_refresh

    @rx.event
    def reindex(self):
        """Queue a rebuild (or join the one already waiting or running) and follow it."""
        try:
            with session_scope() as session:
                system_status.request_reindex(session, self.principal(session), self.actor())
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        self.rebuilding, self.rebuild_progress = True, 0
        self._generation += 1  # a new loop polls the job at once
        self.auto_refresh_on = True
        return AdminSystemState.auto_refresh

    @rx.event
    def retry_job(self, job_id: int):
        """Queue a failed job again (the list refreshes with the next tick)."""
        try:
            with session_scope() as session:
                system_status.retry_job(session, self.principal(session), self.actor(), int(job_id))
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        self._reload()
        return rx.toast.success(self.tr("system.retry_queued"))

    @rx.event(background=True)
    async def auto_refresh(self):
        """Refresh every few seconds, and at once when the user switches language; while a
        rebuild runs, poll its progress every fraction of a second and say how it ended.
        Ends when the user leaves the page, when a newer loop starts, or after
        AUTO_REFRESH_MINUTES."""
        async with self:
            generation, token, rebuilding = self._generation, self.token, self.rebuilding
        deadline = time.monotonic() + AUTO_REFRESH_MINUTES * 60
        next_full = time.monotonic() + REFRESH_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(job_watch.POLL_SECONDS if rebuilding else TICK_SECONDS)
            async with self:
                if self._generation != generation or not self._on_page():
                    return
                rebuilding = self.rebuilding
                due = time.monotonic() >= next_full or self._shown_lang != (self.lang or "en")
            if not (rebuilding or due):
                continue
            job = None
            try:
                if rebuilding:
                    job = await asyncio.to_thread(_read_rebuild, token)
                    if job is not None and not job.finished and not due:
                        async with self:
                            if self._generation == generation:
                                self.rebuild_progress = job.progress
                        continue
                found = await asyncio.to_thread(_read_overview, token)
            except NotFound:  # signed out, or no longer an admin
                return
            except Exception:  # noqa: BLE001 - a passing problem (database busy): try again next round
                log.warning("system page refresh failed", exc_info=True)
                continue
            next_full = time.monotonic() + REFRESH_SECONDS
            async with self:
                if self._generation != generation:
                    return
                self._show(found)
                toast = self._rebuild_toast(job) if rebuilding else None
                rebuilding = self.rebuilding
            if toast is not None:
                yield toast
        async with self:
            if self._generation == generation:
                self.auto_refresh_on = False

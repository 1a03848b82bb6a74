"""Co-brand page: pick a template, fill the form (prefilled from the branding profile)
while a live preview of page 1 follows the values, generate the PDF as a job and follow
it, download it; the organisation's history.

Everything goes through ``services.cobranding`` and ``services.branding``; this state
only turns their answers into display rows in the user's language.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import format_size
from kbportal.services import access, auth, branding, cobranding, orgs
from kbportal.services.cobranding import GeneratedItem, GenerationStatus, TemplateCard
from kbportal.services.errors import KbError, NotFound, ValidationFailed
from kbportal.ui.state import job_watch
from kbportal.ui.state.session import SessionState
from kbportal.ui.state.table import TableMixin

log = logging.getLogger(__name__)

# Standard fields in the order the form shows them (the rest: custom, the template's order).
STANDARD_ORDER = ("partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
                  "partner_address", "partner_footer")
MULTILINE = frozenset({"partner_address"})
# The live preview renders this long after the last keystroke (at once on a template pick).
PREVIEW_DEBOUNCE_S = 0.7


def _read_status(token: str, job_id: int) -> GenerationStatus:
    with session_scope() as session:
        found = auth.resolve_principal(session, token)
        principal = found.principal if found is not None else access.ANONYMOUS
        return cobranding.status(session, principal, job_id)


def _render_draft(token: str, doc_id: int, overrides: dict[str, str], org_id: int | None,
                  still_wanted=None) -> str | None:
    """The live preview's URL: checked in a short database session, rendered outside it
    (a worker thread: LibreOffice for DOCX takes ~0.5 s). Signed for this login session.
    None: skipped, ``still_wanted`` said a newer preview was asked for meanwhile."""
    with session_scope() as session:
        found = auth.resolve_principal(session, token)
        principal = found.principal if found is not None else access.ANONYMOUS
        plan = cobranding.prepare_draft(session, principal, doc_id, overrides, org_id=org_id)
    if cobranding.render_draft(plan, still_wanted) is None:
        return None
    return cobranding.draft_url(token, plan)


def _scroll_to_status():
    """Bring the progress / result column into view (below the form on phones); no jump when visible."""
    return rx.call_script('document.getElementById("cobrand-status")'
                          '?.scrollIntoView({block: "nearest", behavior: "smooth"})')


def _label(name: str) -> str:
    """A custom field's label: the template author's own name for it, made readable
    ("event_date" -> "Event date") but not translated (standard fields use the catalogue)."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


class CobrandState(TableMixin, SessionState):
    loaded: bool = False
    org_id: int = 0  # 0: the user has no organisation (staff)
    # Staff pick the partner organisation whose branding to try ("" = none picked yet).
    org_choices: list[dict] = []
    picked_org: str = ""
    can_edit_profile: bool = False
    templates: list[dict] = []
    history_rows: list[dict] = []
    sort_key: str = "created_sort"
    sort_desc: bool = True

    # the chosen template's form
    selected_id: int = 0
    selected_title: str = ""
    selected_kind: str = ""
    form_fields: list[dict] = []  # name, label (custom) or label_key (standard: catalogue), standard, multiline
    values: dict[str, str] = {}
    _profile: dict[str, str] = {}
    form_error: str = ""
    field_errors: dict[str, str] = {}

    # the live preview of page 1 (rendered in the background as the values change)
    preview_url: str = ""
    preview_busy: bool = False
    preview_error: str = ""
    _preview_gen: int = 0  # the newest request: an older render never replaces a newer one

    # the generation
    generating: bool = False
    progress: int = 0
    job_id: int = 0
    result_id: int = 0
    result_title: str = ""
    result_meta: str = ""
    failed: str = ""
    retryable: bool = False

    # ------------------------------------------------------------------ reading

    def table_rows(self) -> list[dict]:
        return self.history_rows

    def _reload(self) -> None:
        with session_scope() as session:
            principal = self.principal(session)
            cards = cobranding.usable_templates(session, principal)
            items = cobranding.history(session, principal)
            self.org_id = principal.org_id or 0
            if principal.org_id is None and principal.is_staff:
                self.org_choices = [dict(id=str(o.id), name=o.name) for o in orgs.list_orgs(session, principal)
                                    if o.active]
            brand_org = principal.org_id or (int(self.picked_org) if self.picked_org else None)
            profile = branding.get_profile(session, principal, brand_org) if brand_org else None
        self.templates = [self._card(c) for c in cards]
        self.history_rows = [self._history_row(i) for i in items]
        self._profile = profile.values() if profile else {}
        self.can_edit_profile = bool(profile and profile.can_edit)
        self.loaded = True

    def _card(self, card: TemplateCard) -> dict:
        thumb = f"/api/documents/{card.document_id}/thumbnail?v={card.version_number}"  # a new version: a new URL
        return dict(id=card.document_id, title=card.title, description=card.description, kind=card.kind.upper(),
                    fields=self.tr("cobrand.field_count", count=len(card.fields) + int(card.has_logo_frame)),
                    thumb=thumb if card.has_thumbnail else "",
                    logo=card.has_logo_frame)

    def _history_row(self, item: GeneratedItem) -> dict:
        # Staff see every organisation's PDFs: say whose each one is.
        template = item.template_title if self.org_id else f"{item.template_title} · {item.org_name}"
        return dict(id=item.id, title=item.title, template=template, user=item.user_name,
                    org=item.org_name, created=self.fmt_dt(item.created_at), created_sort=item.created_at.isoformat(),
                    size=format_size(item.size, self.lang or "en"), pages=item.page_count,
                    url=f"/api/cobrand/{item.id}/download")

    def _show_result(self, item: GeneratedItem) -> None:
        self.result_id, self.result_title = item.id, item.title
        self.result_meta = self.tr("cobrand.result_meta", pages=item.page_count,
                                   size=format_size(item.size, self.lang or "en"))

    def _overrides(self) -> dict[str, str]:
        """Only what differs from the profile is an override; custom fields are always sent."""
        return {n: v for n, v in self.values.items() if self._profile.get(n, "") != v or n not in self._profile}

    def _brand_org(self) -> int | None:
        """Staff: the organisation picked to try (None: the user's own)."""
        return int(self.picked_org) if not self.org_id and self.picked_org else None

    def _queue_preview(self, delay: float = PREVIEW_DEBOUNCE_S):
        """Ask for a preview of the current values; any render asked for earlier is now stale."""
        self._preview_gen += 1
        if not self.selected_id:
            self.preview_busy = False
            return None
        self.preview_busy = True
        return CobrandState.refresh_preview(self._preview_gen, delay)

    def _clear_preview(self) -> None:
        self._preview_gen += 1
        self.preview_url, self.preview_busy, self.preview_error = "", False, ""

    def _reset_generation(self) -> None:
        self.generating, self.progress, self.job_id = False, 0, 0
        self.result_id, self.result_title, self.result_meta = 0, "", ""
        self.failed, self.retryable = "", False

    # ------------------------------------------------------------------ events

    @rx.event
    def load(self):
        self.selected_id = 0
        self._clear_preview()
        self._reset_generation()
        self._reload()

    @rx.event
    def choose(self, doc_id: int):
        """Open a template's form, prefilled from the branding profile."""
        try:
            with session_scope() as session:
                card = cobranding.get_template(session, self.principal(session), int(doc_id))
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        standard = [n for n in STANDARD_ORDER if n in card.standard_fields]
        self.form_fields = (
            [dict(name=n, label="", label_key=f"cobrand.field.{n}", standard=True, multiline=n in MULTILINE)
             for n in standard]
            + [dict(name=n, label=_label(n), label_key="", standard=False, multiline=False)
               for n in card.custom_fields])
        self.values = {n: self._profile.get(n, "") for n in standard} | {n: "" for n in card.custom_fields}
        self.selected_id, self.selected_title, self.selected_kind = card.document_id, card.title, card.kind.upper()
        self.form_error, self.field_errors = "", {}
        self._reset_generation()
        self._clear_preview()
        return self._queue_preview(0)

    @rx.event
    def pick_org(self, value: str):
        """Staff: use this organisation's branding (the open form takes its values)."""
        self.picked_org = value
        self._reload()
        self._fill_from_profile()
        self._reset_generation()
        return self._queue_preview(0)

    @rx.event
    def back(self):
        self.selected_id = 0
        self._clear_preview()
        self._reset_generation()

    @rx.event
    def set_value(self, name: str, value: str):
        self.values = {**self.values, name: value}
        if name in self.field_errors:
            self.field_errors = {k: v for k, v in self.field_errors.items() if k != name}
        return self._queue_preview()

    @rx.event
    def reset_values(self):
        """Back to the branding profile's values (custom fields are kept)."""
        self._fill_from_profile()
        return self._queue_preview(0)

    def _fill_from_profile(self) -> None:
        self.values = {**self.values, **{f["name"]: self._profile.get(f["name"], "")
                                         for f in self.form_fields if f["standard"]}}

    @rx.event
    def generate(self):
        """Ask for the PDF: a cached one shows at once, else follow the job."""
        self.form_error, self.field_errors = "", {}
        overrides = self._overrides()
        self._reset_generation()
        try:
            with session_scope() as session:
                org_id = self._brand_org()
                ref = cobranding.request(session, self.principal(session), self.actor(), self.selected_id, overrides,
                                         org_id=org_id)
                item = None
                if ref.generated_id is not None:
                    item = next((i for i in cobranding.history(session, self.principal(session))
                                 if i.id == ref.generated_id), None)
        except KbError as exc:
            field = getattr(exc, "field", "")
            if field in self.values:
                self.field_errors = {field: self.error_text(exc)}
            else:
                self.form_error = self.error_text(exc)
            return
        if item is not None:
            self._show_result(item)
            self._reload()
            return [rx.toast.success(self.tr("cobrand.ready_toast")), _scroll_to_status()]
        self.generating, self.job_id = True, ref.job_id or 0
        return [CobrandState.watch, _scroll_to_status()]

    @rx.event
    def retry(self):
        """Queue a failed job again when it failed for a passing reason, else ask anew."""
        if not self.retryable:
            return CobrandState.generate
        try:
            with session_scope() as session:
                cobranding.retry(session, self.principal(session), self.job_id)
        except KbError as exc:
            self.failed = self.error_text(exc)
            return
        job_id = self.job_id
        self._reset_generation()
        self.generating, self.job_id = True, job_id
        return CobrandState.watch

    @rx.event(background=True)
    async def watch(self):
        """Follow the generation job: progress, then the result card or the reason it failed."""
        async with self:
            job_id, token = self.job_id, self.token
        status = None
        for _ in range(int(job_watch.GIVE_UP_SECONDS / job_watch.POLL_SECONDS)):
            await asyncio.sleep(job_watch.POLL_SECONDS)
            try:
                status = await asyncio.to_thread(_read_status, token, job_id)
            except NotFound:
                break
            except Exception:  # noqa: BLE001 - a passing problem (database busy): try again
                log.warning("co-brand status read failed", exc_info=True)
                continue
            async with self:
                if self.job_id != job_id:  # the user started another one, or left the form
                    return
                self.progress = status.progress
            if status.finished:
                break
        async with self:
            if self.job_id != job_id:
                return
            self.generating = False
            if status is not None and status.state == "done" and status.generated is not None:
                self._show_result(status.generated)
                self._reload()
                toast = rx.toast.success(self.tr("cobrand.ready_toast"))
            else:
                self.failed = (self.error_text(status.error) if status is not None and status.error
                               else self.tr("cobrand.failed_unknown"))
                self.retryable = bool(status and status.retryable)
                toast = rx.toast.error(self.failed)
        yield toast
        yield _scroll_to_status()

    @rx.event(background=True)
    async def refresh_preview(self, generation: int, delay: float):
        """Render the live preview of the values as they are after ``delay`` seconds without
        another change (a newer request makes this one stale: it then stops, or its result
        is dropped). The old image stays, under a spinner, until the new one is there."""
        if delay:
            await asyncio.sleep(float(delay))
        async with self:
            if generation != self._preview_gen or not self.selected_id:
                return
            if not self.org_id and not self.picked_org:  # staff: no organisation's branding picked yet
                self.preview_url, self.preview_busy = "", False
                self.preview_error = self.tr("cobrand.preview_pick_org")
                return
            args = (self.token, self.selected_id, self._overrides(), self._brand_org())
        loop = asyncio.get_running_loop()

        async def newest() -> bool:
            async with self:
                return generation == self._preview_gen

        def still_wanted() -> bool:
            """Asked from the render thread when its turn to render comes (renders queue
            per process): a render made stale while it waited is skipped."""
            try:
                return asyncio.run_coroutine_threadsafe(newest(), loop).result(timeout=10)
            except Exception:  # noqa: BLE001 - cannot tell: render, the result check below still applies
                log.warning("co-brand preview: could not read the newest request", exc_info=True)
                return True

        url, failure = "", None
        try:
            url = await asyncio.to_thread(_render_draft, *args, still_wanted)
            if url is None:  # skipped: a newer request renders instead
                return
        except ValidationFailed as exc:  # a value the PDF cannot take: the engine's own sentence
            failure = exc
        except KbError as exc:
            log.warning("co-brand draft preview failed: %s", exc.code)
            failure = KbError("cobrand.draft_preview_failed")
        except Exception:  # noqa: BLE001 - the form must keep working without a preview
            log.exception("co-brand draft preview crashed")
            failure = KbError("cobrand.draft_preview_failed")
        async with self:
            if generation != self._preview_gen:
                return
            self.preview_busy = False
            if failure is not None:
                self.preview_error = self.error_text(failure)
            else:
                self.preview_url, self.preview_error = url, ""

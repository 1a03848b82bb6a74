"""One document: metadata, preview, download; for staff versions, publishing,
metadata and audience editing, comparison and the effective-access panel."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import reflex as rx

from kbportal.db import session_scope
from kbportal.i18n import format_day, format_size, translate
from kbportal.i18n import LANGUAGES
from kbportal.services import access, auth, effective_access, jobs, repository, uploads, variants
from kbportal.services import orgs as org_service
from kbportal.services.access import AudienceRule
from kbportal.services.errors import KbError, NotFound
from kbportal.services.validation import clean_date
from kbportal.ui.state.audience_form import AudienceFormMixin
from kbportal.ui.state import job_watch
from kbportal.ui.state.form import FormMixin
from kbportal.ui.state.session import SessionState


REVIEW_PAGE_SIZE = 20


def _variant_job_status(job_id: int, token: str) -> jobs.JobStatus:
    """A translation job's progress: whoever may read the document may watch it (the job
    id came from the variant they see), not only the person who asked; anyone else
    gets NotFound (``variants.job_status`` checks the document's access)."""
    time.sleep(job_watch.POLL_SECONDS)
    with session_scope() as session:
        found = auth.resolve_principal(session, token)
        principal = found.principal if found is not None else access.ANONYMOUS
        return variants.job_status(session, principal, job_id)


def reason_texts(reasons, lang: str) -> list[str]:
    return [translate(lang, r.code, **dict(r.params)) for r in reasons]


class DocumentState(FormMixin, AudienceFormMixin, SessionState):
    found: bool = False
    can_edit: bool = False      # from the access policy: shows versions, audience and access panels
    doc_id: int = 0
    title: str = ""
    description: str = ""
    doc_type: str = ""
    product: str = ""
    language: str = ""
    tags: list[str] = []
    status: str = ""
    published_number: int = 0
    expires: str = ""
    visible: dict = {}          # the version this user downloads
    versions: list[dict] = []   # staff: all versions
    thumb: str = ""
    _audience: AudienceRule | None = None
    _expires_at: datetime | None = None

    # staff: edit dialog
    edit_open: bool = False
    e_title: str = ""
    e_description: str = ""
    e_type: str = "other"
    e_product: str = ""
    e_tags: str = ""
    e_language: str = "en"
    e_expires: str = ""

    # staff: new version
    version_open: bool = False
    v_note: str = ""
    v_label: str = ""
    v_publish: bool = False
    upload_progress: int = 0
    uploading: bool = False
    upload_error: str = ""
    # the background check of a new version (see ``watch_check``)
    checking: bool = False
    check_progress: int = 0
    check_job_id: int = 0

    # staff: effective access and comparison
    access_rows: list[dict] = []
    allowed_orgs: int = 0
    allowed_users: int = 0
    check_email: str = ""
    check_result: dict = {}
    compare_a: str = ""
    compare_b: str = ""

    # translations (``variants.for_reader``): what this reader sees in their language
    shown_title: str = ""
    shown_description: str = ""
    r_mode: str = "original"    # original | variant | fallback
    r_kind: str = ""            # machine | reviewed | human (mode variant)
    r_stale: bool = False
    r_original_url: str = ""
    r_can_translate: bool = False
    r_can_update: bool = False  # a stale machine variant: "Update translation"
    r_failed: bool = False      # the last translation failed: the sentence and "Retry"
    r_variant_url: str = ""     # the translated file, "" for a text-only variant
    r_variant_size: str = ""
    translating: bool = False   # a translation job is followed (``watch_translation``)
    translating_review: bool = False  # ... and it makes a reviewed variant again (not a new translation)
    translate_progress: int = 0
    translate_job_id: int = 0
    # staff: the translations card
    variant_rows: list[dict] = []
    t_language: str = ""
    review_open: bool = False
    rv_id: int = 0
    rv_title: str = ""
    rv_description: str = ""
    rv_editable: bool = True    # False for a human upload: title and description only
    rv_segments: list[dict] = []  # this page: key, source, machine, value, changed
    rv_edits: dict[str, str] = {}  # corrections made in the dialog, not saved yet (all pages)
    rv_page: int = 1
    rv_pages: int = 1
    rv_total: int = 0
    rv_saved: list[str] = []     # keys of the corrections saved before
    rv_only_changed: bool = False
    rv_saving: bool = False
    human_open: bool = False
    h_language: str = ""
    h_error: str = ""

    # ------------------------------------------------------------------ loading

    def _doc_id_from_url(self) -> int:
        try:
            return int(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            return 0

    def _reload(self) -> None:
        lang = self.lang or "en"
        self.found = False
        doc_id = self._doc_id_from_url()
        try:
            with session_scope() as session:
                principal = self.principal(session)
                detail = repository.get_document(session, principal, doc_id)
                rows = effective_access.document_access(session, principal, doc_id) if detail.can_edit else []
                if detail.can_edit:
                    self.load_audience_choices(session, principal)
        except NotFound:
            return
        self.found = True
        self.can_edit = detail.can_edit
        self.doc_id = detail.id
        self.title, self.description = detail.title, detail.description
        self.doc_type, self.product, self.language = detail.doc_type, detail.product, detail.language
        self.tags, self.status = list(detail.tags), detail.status
        self.published_number = detail.published_number or 0
        last_day = repository.last_visible_day(detail.expires_at)
        self.expires = format_day(last_day, lang)
        self.versions = [self._version_view(v) for v in detail.versions]
        shown = next((v for v in self.versions if v["is_published"]), self.versions[-1] if self.versions else {})
        self.visible = shown
        self.thumb = (f"/api/documents/{detail.id}/thumbnail?version={shown['number']}"
                      if shown and detail.has_thumbnail else "")
        self._audience = detail.audience
        self._expires_at = detail.expires_at
        self.access_rows = [
            {"name": r.name, "region": r.region, "tier": r.tier, "users": r.users, "allowed": r.allowed,
             "why": " ".join(reason_texts(r.reasons, lang))}
            for r in rows
        ]
        self.allowed_orgs = sum(1 for r in rows if r.allowed)
        self.allowed_users = sum(r.users for r in rows if r.allowed)
        try:
            self._load_translations(detail.can_edit)
        except KbError:  # the document reads as the original
            self.shown_title, self.shown_description, self.r_mode = detail.title, detail.description, "original"
        if len(self.versions) >= 2 and not (self.compare_a and self.compare_b):
            self.compare_a, self.compare_b = str(self.versions[-2]["number"]), str(self.versions[-1]["number"])

    def _reading_language(self) -> str:
        """``?lang=`` (the "read the original" link) wins over the UI language."""
        wanted = (self.router.url.query_parameters.get("lang") or "").split("-")[0].lower()
        return wanted if wanted in LANGUAGES else (self.lang or "en")

    def _load_translations(self, can_edit: bool) -> None:
        lang = self.lang or "en"
        with session_scope() as session:
            principal = self.principal(session)
            view = variants.for_reader(session, principal, self.doc_id, self._reading_language())
            rows = variants.list_variants(session, principal, self.doc_id) if can_edit else []
        self.r_mode, self.r_stale, self.r_original_url = view.mode, view.stale, view.original_url
        self.shown_title, self.shown_description = view.title, view.description
        self.r_can_translate, self.r_can_update, self.r_failed = view.can_translate, view.can_update, view.failed
        v = view.variant
        self.r_kind = v.kind if v else ""
        self.r_variant_url = f"/api/variants/{v.id}/download" if v and v.has_file else ""
        self.r_variant_size = format_size(v.size, lang) if v and v.has_file else ""
        if view.pending_job_id and not self.translating and view.mode != "original":
            self.translating, self.translate_progress, self.translate_job_id = True, 0, view.pending_job_id
            self.translating_review = False
        self.variant_rows = [{
            "id": r.id, "language": r.language, "language_name": LANGUAGES.get(r.language, r.language),
            "kind": r.kind, "state": r.state, "progress": r.progress, "stale": r.stale,
            "busy": r.pending_job_id is not None,
            "source_number": r.source_number, "title": r.title,
            "url": f"/api/variants/{r.id}/download" if r.has_file and r.state == "ready" else "",
            "size": format_size(r.size, lang) if r.has_file else "",
            "failure": r.failure_message(lang),
            "updated": self.fmt_dt(r.updated_at),
        } for r in rows]
        if not self.t_language or self.t_language == self.language:
            self.t_language = next((c for c in LANGUAGES if c != self.language), "")

    def _version_view(self, v) -> dict:
        lang = self.lang or "en"
        base = f"/api/documents/{self._doc_id_from_url()}/download?version={v.number}"
        return {
            "number": v.number, "label": v.label, "note": v.note, "filename": v.filename,
            "size": format_size(v.size, lang), "bytes": v.size, "mime": v.mime_type, "pages": v.page_count,
            "sha256": v.sha256, "date": self.fmt_dt(v.created_at), "author": v.author_name,
            "is_published": v.is_published, "url": base,
            "light_url": f"{base}&variant=light" if v.light_size else "",
            "light_size": format_size(v.light_size, lang) if v.light_size else "",
            "processing": v.state != "ready", "publish_pending": v.publish_pending,
            "check_job_id": v.check_job_id or 0, "check_failed": v.check_state == "failed",
        }

    @rx.event
    def file_rejected(self, reasons: list[list[dict]]):
        """The version dialog shows upload errors in its own callout."""
        from kbportal.services import uploads

        self.upload_error = uploads.browser_refusal(reasons).message(self.lang or "en")

    @rx.event
    def load(self):
        self.check_result = {}
        self.check_email = ""
        self.compare_a = self.compare_b = ""
        self.translating = False
        self._reload()
        if self.translating:  # a translation already running: follow it
            return DocumentState.watch_translation

    # ------------------------------------------------------------------ staff actions

    def _act(self, action, success_key: str, **params):
        try:
            with session_scope() as session:
                action(session, self.principal(session), self.actor())
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        self._reload()
        return rx.toast.success(self.tr(success_key, **params))

    @rx.event
    def publish(self, number: int):
        try:
            with session_scope() as session:
                ref = repository.publish_version(session, self.principal(session), self.actor(), self.doc_id, number)
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        self._reload()
        key = "document.publish_queued_toast" if ref.pending_check else "document.published_toast"
        return rx.toast.success(self.tr(key, number=number))

    @rx.event
    def archive(self):
        return self._act(lambda s, p, a: repository.archive_document(s, p, a, self.doc_id), "document.archived_toast")

    @rx.event
    def restore(self):
        return self._act(lambda s, p, a: repository.restore_document(s, p, a, self.doc_id), "document.restored_toast")

    @rx.event
    def open_edit(self):
        self.e_title, self.e_description, self.e_type = self.title, self.description, self.doc_type
        self.e_product, self.e_tags, self.e_language = self.product, ", ".join(self.tags), self.language
        last_day = repository.last_visible_day(self._expires_at)
        self.e_expires = last_day.isoformat() if last_day else ""
        with session_scope() as session:
            principal = self.principal(session)
            names = {o.id: o.name for o in org_service.list_orgs(session, principal)}
        self.fill_audience_form(self._audience, names)
        self.clear_errors()
        self.edit_open = True

    @rx.event
    def set_edit_open(self, value: bool):
        self.edit_open = value

    @rx.event
    def set_edit_field(self, name: str, value):
        if name in ("e_title", "e_description", "e_type", "e_product", "e_tags", "e_language", "e_expires"):
            setattr(self, name, value)

    @rx.event
    def save_edit(self):
        self.clear_errors()
        try:
            with session_scope() as session:
                repository.update_metadata(
                    session, self.principal(session), self.actor(), self.doc_id, title=self.e_title,
                    description=self.e_description, doc_type=self.e_type, product=self.e_product,
                    tags=[t.strip() for t in self.e_tags.split(",") if t.strip()], source_language=self.e_language,
                    expires_at=clean_date(self.e_expires, "expires"),
                    audience=self.audience_from_form(session, self.principal(session)))
        except KbError as exc:
            self.show_error(exc, inline=frozenset({"title", "expires"}))
            return
        self.edit_open = False
        self._reload()
        return rx.toast.success(self.tr("document.saved_toast"))

    # ------------------------------------------------------------------ new version

    @rx.event
    def set_version_open(self, value: bool):
        self.version_open = value
        self.upload_error, self.upload_progress = "", 0

    @rx.event
    def set_version_field(self, name: str, value):
        if name in ("v_note", "v_label", "v_publish"):
            setattr(self, name, value)

    @rx.event
    def on_upload_progress(self, progress: dict):
        self.upload_progress = round(progress.get("progress", 0) * 100)

    @rx.event
    async def upload_version(self, files: list[rx.UploadFile]):
        self.upload_error = ""
        if not files:
            self.upload_error = self.tr("upload.choose_file")
            return
        file = files[0]
        self.uploading = True
        yield
        path = None
        try:
            path = await uploads.receive(file)
            with uploads.cleanup(path), session_scope() as session:
                ref = repository.add_version(session, self.principal(session), self.actor(), self.doc_id,
                                             repository.Upload(path=path, filename=file.name or "upload"),
                                             label=self.v_label, note=self.v_note, publish=self.v_publish)
        except KbError as exc:
            self.upload_error = self.error_text(exc)
            self.uploading = False
            return
        self.uploading = False
        self.checking, self.check_progress, self.check_job_id = True, 0, ref.job_id or 0
        self._reload()
        yield DocumentState.watch_check

    @rx.event(background=True)
    async def watch_check(self):
        """Follow the new version's file check; close the dialog when it passes, say why when not."""
        async with self:
            job_id, user_id, was_upload = self.check_job_id, self.user_id, self.version_open
        status = None
        for _ in range(int(job_watch.GIVE_UP_SECONDS / job_watch.POLL_SECONDS)):
            try:
                status = await job_watch.next_status(job_id, user_id)
            except NotFound:
                break
            async with self:
                self.check_progress = status.progress
            if status.finished:
                break
        async with self:
            self.checking = False
            self._reload()
            if status is not None and status.state == "failed" and not status.retryable:
                self.upload_error = self.error_text(status.error)
                return
            self.version_open = False
            self.v_note = self.v_label = ""
            self.v_publish = False
            number = status.result.get("number", "") if status is not None else ""
        if was_upload:
            yield rx.toast.success(self.tr("document.version_added_toast", number=number))

    @rx.event
    def retry_check(self, job_id: int):
        """Run a file check again that an outage stopped."""
        try:
            with session_scope() as session:
                jobs.retry(session, job_id, self.user_id or None)
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        self.checking, self.check_progress, self.check_job_id = True, 0, job_id
        self._reload()
        return DocumentState.watch_check

    # ------------------------------------------------------------------ translations

    @rx.var
    def target_languages(self) -> list[list[str]]:
        """[code, name] of every language but the document's own."""
        return [[c, n] for c, n in LANGUAGES.items() if c != self.language]

    @rx.event
    def set_t_language(self, value: str):
        self.t_language = value

    def _start_translation(self, language: str):
        try:
            with session_scope() as session:
                ref = variants.request_translation(session, self.principal(session), self.actor(), self.doc_id,
                                                   language)
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        if ref.job_id is None:
            self._reload()
            return rx.toast.info(self.tr("variant.up_to_date"))
        self.translating, self.translate_progress, self.translate_job_id = True, 0, ref.job_id
        self.translating_review = False
        self._reload()
        return DocumentState.watch_translation

    @rx.event
    def translate_mine(self):
        """A reader asks for the document in their own language."""
        return self._start_translation(self.lang or "en")

    @rx.event
    def translate_into(self):
        """Staff: a translation into the picked language."""
        return self._start_translation(self.t_language)

    @rx.event
    def translate_again(self, language: str):
        """Staff: a new machine translation of the current version (a stale or failed variant)."""
        return self._start_translation(language)

    @rx.event(background=True)
    async def watch_translation(self):
        """Follow the translation job with a progress bar; show the result when it is done."""
        async with self:
            job_id, token = self.translate_job_id, self.token
        status = None
        for _ in range(int(job_watch.GIVE_UP_SECONDS / job_watch.POLL_SECONDS)):
            try:
                status = await asyncio.to_thread(_variant_job_status, job_id, token)
            except NotFound:
                break
            async with self:
                if self.translate_job_id == job_id:
                    self.translate_progress = status.progress
                self.variant_rows = [{**r, "progress": status.progress}
                                     if r["state"] == "processing" or r["busy"] else r for r in self.variant_rows]
            if status.finished:
                break
        async with self:
            if self.translate_job_id == job_id:  # not when another job was started meanwhile: its watcher ends it
                self.translating = self.translating_review = False
            self._reload()
            failed = status is not None and status.state == "failed"
            # Staff read why (an operator can act on it); partners read the plain sentence.
            message = (self.error_text(status.error) if failed and status.error and self.can_edit
                       else self.tr("variant.failed"))
            done = self.tr("variant.done_toast")
        yield rx.toast.error(message) if failed else rx.toast.success(done)

    @rx.event
    def open_review(self, variant_id: int):
        try:
            with session_scope() as session:
                info = variants.get_variant(session, self.principal(session), variant_id)
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        self.rv_id, self.rv_title, self.rv_description = info.id, info.title, info.description
        self.rv_edits, self.rv_page, self.rv_only_changed = {}, 1, False
        self.clear_errors()
        error = self._load_segments()
        if error is not None:
            return error
        self.review_open = True

    def _load_segments(self):
        """The current page of the review's segments, with the corrections not saved yet."""
        try:
            with session_scope() as session:
                page = variants.review_segments(session, self.principal(session), self.rv_id, page=self.rv_page,
                                                per_page=REVIEW_PAGE_SIZE, only_changed=self.rv_only_changed,
                                                also=list(self.rv_edits))
        except KbError as exc:
            return rx.toast.error(self.error_text(exc))
        self.rv_editable, self.rv_page, self.rv_pages, self.rv_total = (page.editable, page.page, page.pages,
                                                                        page.total)
        self.rv_saved = list(page.changed_keys)
        self.rv_segments = [self._segment_row(s.key, s.source, s.machine, s.edited) for s in page.items]
        return None

    def _segment_row(self, key: str, source: str, machine: str, edited: str | None) -> dict:
        value = self.rv_edits.get(key, edited if edited is not None else machine)
        return {"key": key, "source": source, "machine": machine, "value": value,
                "changed": value != machine, "saved": edited}

    @rx.event
    def set_review_open(self, value: bool):
        self.review_open = value

    @rx.event
    def set_review_field(self, name: str, value: str):
        if name in ("rv_title", "rv_description"):
            setattr(self, name, value)

    @rx.event
    def set_segment(self, key: str, value: str):
        """A corrected segment (kept across pages until saved)."""
        row = next((r for r in self.rv_segments if r["key"] == key), None)
        if row is None or row["value"] == value:
            return
        self.rv_edits = {**self.rv_edits, key: value}
        self.rv_segments = [self._segment_row(r["key"], r["source"], r["machine"], r["saved"]) if r["key"] == key
                            else r for r in self.rv_segments]

    @rx.event
    def review_page(self, delta: int):
        self.rv_page = max(1, min(self.rv_pages, self.rv_page + delta))
        return self._load_segments()

    @rx.event
    def set_only_changed(self, value: bool):
        self.rv_only_changed, self.rv_page = bool(value), 1
        return self._load_segments()

    @rx.var
    def rv_changed(self) -> int:
        """Corrected segments: those saved before, and those changed in the dialog (a change
        back to the machine's translation drops one)."""
        pending = {r["key"]: r["changed"] for r in self.rv_segments}
        keys = set(self.rv_saved) | set(self.rv_edits)
        return sum(1 for key in keys if pending.get(key, True))

    @rx.var
    def rv_page_label(self) -> str:
        return self.tr("variant.segment_page", page=self.rv_page, pages=self.rv_pages, total=self.rv_total)

    @rx.event
    def save_review(self):
        """Save the corrections and approve; the file is made again with them (a job)."""
        self.clear_errors()
        edits = {key: value for key, value in self.rv_edits.items()} if self.rv_editable else {}
        try:
            with session_scope() as session:
                ref = variants.review(session, self.principal(session), self.actor(), self.rv_id, self.rv_title,
                                      self.rv_description, edits)
        except KbError as exc:
            self.show_error(exc, inline=frozenset({"title"}))
            return
        self.review_open = False
        self.rv_edits = {}
        if ref.job_id is not None:
            self.translating, self.translate_progress, self.translate_job_id = True, 0, ref.job_id
            self.translating_review = True
            self._reload()
            return [rx.toast.info(self.tr("variant.review_queued_toast")), DocumentState.watch_translation]
        self._reload()
        return rx.toast.success(self.tr("variant.reviewed_toast"))

    @rx.event
    def set_human_open(self, value: bool):
        self.human_open = value
        self.h_error = ""
        if value:
            self.h_language = self.t_language

    @rx.event
    def set_h_language(self, value: str):
        self.h_language = value

    @rx.event
    def human_rejected(self, reasons: list[list[dict]]):
        self.h_error = uploads.browser_refusal(reasons).message(self.lang or "en")

    @rx.event
    async def upload_human(self, files: list[rx.UploadFile]):
        """A localized file made by people becomes the variant in ``h_language``."""
        self.h_error = ""
        if not files:
            self.h_error = self.tr("upload.choose_file")
            return
        file = files[0]
        self.uploading = True
        yield
        try:
            path = await uploads.receive(file)
            with uploads.cleanup(path), session_scope() as session:
                variants.upload_human_translation(session, self.principal(session), self.actor(), self.doc_id,
                                                  self.h_language,
                                                  repository.Upload(path=path, filename=file.name or "upload"))
        except KbError as exc:
            self.h_error = self.error_text(exc)
            self.uploading = False
            return
        self.uploading = False
        self.human_open = False
        self._reload()
        yield rx.toast.success(self.tr("variant.uploaded_toast"))

    # ------------------------------------------------------------------ effective access, compare

    @rx.event
    def set_check_email(self, value: str):
        self.check_email = value

    @rx.event
    def check_user(self):
        lang = self.lang or "en"
        try:
            with session_scope() as session:
                result = effective_access.user_access(session, self.principal(session), self.doc_id, self.check_email)
        except KbError as exc:
            self.check_result = {"error": self.error_text(exc)}
            return
        self.check_result = {"name": result.name, "org": result.org_name, "allowed": result.allowed,
                             "why": " ".join(reason_texts(result.reasons, lang)), "error": ""}

    @rx.event
    def set_compare(self, side: str, value: str):
        if side == "a":
            self.compare_a = value
        else:
            self.compare_b = value

    @rx.var
    def comparison(self) -> list[dict]:
        by_number = {str(v["number"]): v for v in self.versions}
        a, b = by_number.get(self.compare_a), by_number.get(self.compare_b)
        if not a or not b:
            return []
        fields = [("label", "document.label"), ("filename", "document.filename"), ("size", "document.size"),
                  ("pages", "document.pages"), ("mime", "document.mime"), ("date", "document.date"),
                  ("author", "document.author"), ("note", "document.note"), ("sha256", "document.sha256")]
        return [{"field": self.t.get(key, key), "a": str(a[f]), "b": str(b[f]), "differs": str(a[f]) != str(b[f])}
                for f, key in fields]

    @rx.var
    def version_numbers(self) -> list[str]:
        return [str(v["number"]) for v in self.versions]

"""Studio (marketing): every document with its status, and uploading new ones."""

from __future__ import annotations

import reflex as rx

from kbportal.db import session_scope
from kbportal.services import repository, uploads
from kbportal.services.errors import KbError
from kbportal.services.validation import clean_date
from kbportal.ui.state.audience_form import AudienceFormMixin
from kbportal.ui.state import job_watch
from kbportal.ui.state.form import FormMixin
from kbportal.ui.state.library import LibraryState


class StudioState(FormMixin, AudienceFormMixin, LibraryState):
    status_filter: str = ""
    new_open: bool = False
    n_title: str = ""
    n_description: str = ""
    n_type: str = "brochure"
    n_product: str = ""
    n_tags: str = ""
    n_language: str = "en"
    n_expires: str = ""
    n_label: str = ""
    n_note: str = ""
    n_publish: bool = False
    uploading: bool = False
    upload_progress: int = 0
    # After the upload: the background check of the file (see ``watch_check``).
    checking: bool = False
    check_progress: int = 0
    check_job_id: int = 0
    check_doc_id: int = 0

    def _filters(self):
        filters = super()._filters()
        filters.status = self.status_filter
        return filters

    @rx.event
    def load(self):
        self.page = 0
        self._reload()

    @rx.event
    def set_status_filter(self, value: str):
        self.status_filter = "" if value == "__all__" else value
        self.page = 0
        self._reload()

    @rx.event
    def open_new(self):
        self.n_title = self.n_description = self.n_product = self.n_tags = self.n_expires = ""
        self.n_label = self.n_note = ""
        self.n_type, self.n_language, self.n_publish = "brochure", "en", False
        self.clear_errors()
        self.upload_progress = 0
        with session_scope() as session:
            self.load_audience_choices(session, self.principal(session))
        self.fill_audience_form(None, {})
        self.new_open = True

    @rx.event
    def set_new_open(self, value: bool):
        self.new_open = value

    @rx.event
    def set_new_field(self, name: str, value):
        if name in ("n_title", "n_description", "n_type", "n_product", "n_tags", "n_language", "n_expires",
                    "n_label", "n_note", "n_publish"):
            setattr(self, name, value)

    @rx.event
    def on_upload_progress(self, progress: dict):
        self.upload_progress = round(progress.get("progress", 0) * 100)

    @rx.event
    async def create(self, files: list[rx.UploadFile]):
        self.clear_errors()
        if not files:
            self.errors = {"file": self.tr("upload.choose_file")}
            return
        if not self.n_title.strip():
            self.errors = {"title": self.tr("validation.required")}
            return
        self.uploading = True
        yield
        file = files[0]
        try:
            path = await uploads.receive(file)
            with uploads.cleanup(path), session_scope() as session:
                principal = self.principal(session)
                ref = repository.create_document(
                    session, principal, self.actor(), repository.Upload(path=path, filename=file.name or "upload"),
                    title=self.n_title, description=self.n_description, doc_type=self.n_type,
                    product=self.n_product, tags=[t.strip() for t in self.n_tags.split(",") if t.strip()],
                    source_language=self.n_language, audience=self.audience_from_form(session, principal),
                    expires_at=clean_date(self.n_expires, "expires"), label=self.n_label, note=self.n_note, publish=self.n_publish)
        except KbError as exc:
            self.show_error(exc, inline=frozenset({"title", "file", "expires"}))
            self.uploading = False
            return
        self.uploading = False
        self.checking, self.check_progress = True, 0
        self.check_job_id, self.check_doc_id = ref.job_id or 0, ref.document_id
        yield StudioState.watch_check

    @rx.event(background=True)
    async def watch_check(self):
        """Follow the file check; open the document when it passes, say why when it does not."""
        async with self:
            job_id, user_id, doc_id = self.check_job_id, self.user_id, self.check_doc_id
        status = None
        for _ in range(int(job_watch.GIVE_UP_SECONDS / job_watch.POLL_SECONDS)):
            status = await job_watch.next_status(job_id, user_id)
            async with self:
                self.check_progress = status.progress
            if status.finished:
                break
        async with self:
            self.checking = False
            if status is not None and status.state == "failed" and not status.retryable:
                self.errors = {"file": self.error_text(status.error)}
                return
            self.new_open = False
            title = self.n_title.strip()
        yield rx.toast.success(self.tr("studio.created_toast", title=title))
        yield rx.redirect(f"/documents/{doc_id}")

"""Translated variants of documents: what a partner reads in their own language.

* **Requests** (:func:`request_translation`): staff for any document they may edit, a
  partner for a document they may view, into their own UI language (a partner does not
  replace a reviewed or human variant: staff translate those again). The pair must be
  installed (else :class:`PairMissing` naming the package). A current variant of the
  same source version is returned as it is (no job); otherwise the variant row is
  (re)set to ``processing`` and a ``document.translate`` job queued.
* **The job** (:func:`translate_job`) translates the metadata, then a DOCX into a DOCX
  (formatting kept) stored next to the source version
  (``documents/<id>/variants/v<n>/<lang>/<file name>``), anything else from the
  version's extracted text into a readable text. The segment cache makes a repeat
  free. Its result is written only if the row still waits for this job: a human or
  reviewed variant that arrived meanwhile wins over machine output.
* **Review** works on segments, the same ones the engine translates:
  :func:`review_segments` pages through source segment | machine translation | the
  reviewer's correction; :func:`review` stores corrections (``VariantSegmentEdit``, keyed
  by the source segment's sha256 like the cache), turns machine output into
  ``reviewed`` and queues the same job with ``review: true``, which makes the variant
  again through the same path (``translate_docx`` keeps the formatting) with the
  corrections winning over the engine, stores the file as a new blob version and
  rebuilds the text from the segments. Corrections also win in a later machine
  translation of a newer source version, for the segments that did not change.
  A **human upload** (:func:`upload_human_translation`) is a localized file that
  replaces any machine variant (its review edits title and description only).
* **Stale**: when another version is published, :func:`mark_stale_on_publish` (called
  by the repository) flags the variants made from other versions; partners see
  "older than the original" with a link to the original.
* **Reading** (:func:`for_reader`): the variant, or the source with a "no translation"
  notice and whether the principal can ask for one.

A variant is visible exactly when its document is (``access``); forbidden is NotFound.
Its job's progress too (:func:`job_status`).
Variants are indexed by the document's search builder (``indexing``) under their language.
"""

from __future__ import annotations

import hashlib
import logging
import math
import string
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import Session, col, select

from kbportal.db import session_scope
from kbportal.i18n import LANGUAGES, translate
from kbportal.models import (Document, DocumentVariant, DocumentVersion, Status, User, VariantKind,
                             VariantSegmentEdit, VariantState, VersionState)
from kbportal.services import access, audit, extraction, filenames, indexing, jobs, repository
from kbportal.services.access import Action, Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import KbError, NotFound, ValidationFailed
from kbportal.storage import get_blob_store
from kbportal.timeutil import utcnow

log = logging.getLogger(__name__)

TRANSLATE_JOB = "document.translate"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_SEGMENT = 4_000  # characters of one corrected segment


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class VariantRef:
    """The answer to a request: the variant and, when work was queued, its job."""

    variant_id: int
    job_id: int | None = None
    existing: bool = False  # an up-to-date variant was already there: nothing queued


@dataclass(frozen=True)
class VariantInfo:
    id: int
    document_id: int
    language: str
    kind: str  # machine | reviewed | human
    state: str  # processing | ready | failed
    stale: bool
    source_number: int
    title: str
    description: str
    text: str
    filename: str  # "" when the variant is text only
    size: int
    mime_type: str
    has_file: bool
    job_id: int | None  # the last machine translation job
    pending_job_id: int | None  # that job while it runs (a ready variant is being replaced)
    progress: int  # of the pending job (0..100)
    failure_code: str  # catalogue key: why the last job failed
    reviewed_by_name: str
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    failure_params: dict[str, object] = field(default_factory=dict)  # fill the placeholders of ``failure_code``

    def failure_message(self, lang: str) -> str:
        """Why the last job failed, in ``lang``, its placeholders filled ("" when it did not fail).
        When the parameters are lost (the job row is gone) the plain "translation failed" sentence."""
        if not self.failure_code:
            return ""
        needed = {name for _, name, _, _ in string.Formatter().parse(translate(lang, self.failure_code)) if name}
        if not needed <= set(self.failure_params):
            return translate(lang, "variant.failed")
        return translate(lang, self.failure_code, **self.failure_params)

    @property
    def label_key(self) -> str:
        """The catalogue key of the label partners see ("machine-translated", "reviewed"...)."""
        return f"variant.kind_{self.kind}"


@dataclass(frozen=True)
class ReaderView:
    """What a reader sees of a document in ``language``.

    ``mode`` is ``original`` (the document is in that language), ``variant`` (a ready
    translation: show ``variant``, its label and, when ``stale``, the notice with
    ``original_url``) or ``fallback`` (no translation: the source with ``notice_key``;
    ``can_translate`` says whether a "translate" action may be offered, ``pending_job_id``
    whether one is running)."""

    document_id: int
    language: str
    source_language: str
    mode: str
    title: str
    description: str
    variant: VariantInfo | None
    stale: bool
    notice_key: str  # "" when there is nothing to say
    original_url: str
    can_translate: bool
    pending_job_id: int | None = None
    can_update: bool = False  # a stale machine variant the reader may have translated again
    failed: bool = False  # the last translation (or update) failed: say so, offer to try again


@dataclass(frozen=True)
class ReviewSegment:
    """One segment on the review page: the source, what the machine made of it and the
    reviewer's correction (None: none)."""

    key: str  # sha256 of the source segment
    source: str
    machine: str
    edited: str | None

    @property
    def translation(self) -> str:
        return self.edited if self.edited is not None else self.machine


@dataclass(frozen=True)
class SegmentPage:
    items: list[ReviewSegment]
    total: int  # segments (matching the filter)
    page: int
    pages: int
    changed: int  # segments of the variant with a correction
    editable: bool  # False for a human upload: its file is what people wrote
    changed_keys: tuple[str, ...] = ()  # their keys


# --------------------------------------------------------------------------- helpers


def _lang(code: str) -> str:
    value = (code or "").strip().lower().replace("_", "-").split("-")[0]
    if value not in LANGUAGES:
        raise ValidationFailed("variant.unknown_language", field="language", code=code,
                               known=", ".join(LANGUAGES))
    return value


def _source_lang(doc: Document) -> str:
    return (doc.source_language or "en").split("-")[0].lower()


def _visible_doc(session: Session, principal: Principal, doc_id: int, action: Action) -> Document:
    doc = session.exec(select(Document).where(Document.id == doc_id,
                                              access.sql_filter(principal, action, Document))).first()
    if doc is None:
        raise NotFound()
    return doc


def _may_edit(session: Session, principal: Principal, doc_id: int) -> bool:
    return access.may_ever(principal, Action.EDIT) and session.exec(
        select(Document.id).where(Document.id == doc_id, access.sql_filter(principal, Action.EDIT, Document))
    ).first() is not None


def _variant(session: Session, doc_id: int, language: str) -> DocumentVariant | None:
    return session.exec(select(DocumentVariant).where(DocumentVariant.document_id == doc_id,
                                                      DocumentVariant.language == language)).first()


def _source_version(session: Session, doc: Document) -> DocumentVersion:
    """What a translation is made from: the published version, else (drafts) the latest ready one."""
    version = session.get(DocumentVersion, doc.published_version_id) if doc.published_version_id else None
    if version is None:
        version = session.exec(select(DocumentVersion).where(
            DocumentVersion.document_id == doc.id, DocumentVersion.state == VersionState.READY.value)
            .order_by(col(DocumentVersion.number).desc()).limit(1)).first()
    if version is None:
        raise ValidationFailed("variant.no_version", field="document")
    return version


def _is_stale(doc: Document, source_version_id: int) -> bool:
    return doc.published_version_id is not None and doc.published_version_id != source_version_id


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.utcoffset() is not None else value.replace(tzinfo=timezone.utc)


def _info(session: Session, row: DocumentVariant) -> VariantInfo:
    state, progress, failure, pending = row.state, 0, row.failure_code, None
    params: dict[str, object] = {}
    if row.job_id is not None:
        try:
            job = jobs.status_unchecked(session, row.job_id)
        except NotFound:
            job = None
        if job is not None and not job.finished:
            pending, progress = job.id, job.progress
        elif job is not None and job.state == "failed":  # also failures the handler could not record
            failure = failure or job.message_code
            if job.message_code == failure:  # the row keeps only the code; the job its parameters
                params = dict(job.message_params)
            if row.state == VariantState.PROCESSING.value:
                state = VariantState.FAILED.value
    reviewer = session.get(User, row.reviewed_by) if row.reviewed_by else None
    assert row.id is not None
    return VariantInfo(
        id=row.id, document_id=row.document_id, language=row.language, kind=row.kind, state=state, stale=row.stale,
        source_number=row.source_number, title=row.title, description=row.description, text=row.text,
        filename=row.filename, size=row.size, mime_type=row.mime_type, has_file=bool(row.storage_key),
        job_id=row.job_id, pending_job_id=pending, progress=progress, failure_code=failure,
        reviewed_by_name=reviewer.name if reviewer else "", reviewed_at=_aware(row.reviewed_at),
        created_at=_aware(row.created_at), updated_at=_aware(row.updated_at), failure_params=params)


def _own_language(session: Session, principal: Principal) -> str:
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    return (user.ui_language if user else "en").split("-")[0].lower()


def _pair_ready(source: str, target: str) -> bool:
    from kbportal.services import translation

    return translation.can_translate(source, target)


def _require_pair(source: str, target: str) -> None:
    from kbportal.services import translation
    from kbportal.services.translation.types import missing_pair

    if not translation.can_translate(source, target):
        raise missing_pair(source, target, {(p.source, p.target) for p in translation.packages()})


def _variant_key(doc_id: int, number: int, language: str, filename: str) -> str:
    return f"{repository.PREFIX}{doc_id}/variants/v{number}/{language}/{filename}"


# --------------------------------------------------------------------------- requests


def request_translation(session: Session, principal: Principal, actor: Actor, doc_id: int,
                        language: str) -> VariantRef:
    """Queue a machine translation of the document into ``language`` (see module doc)."""
    doc = _visible_doc(session, principal, doc_id, Action.VIEW)
    target = _lang(language)
    if not _may_edit(session, principal, doc.id):
        own = _own_language(session, principal)
        if target != own:
            raise ValidationFailed("variant.own_language_only", field="language", language=own)
    source = _source_lang(doc)
    if target == source:
        raise ValidationFailed("variant.same_language", field="language", language=target)
    version = _source_version(session, doc)
    row = _variant(session, doc.id, target)
    if row is not None:
        if row.source_version_id == version.id and row.state == VariantState.READY.value:
            return VariantRef(variant_id=row.id, existing=True)  # type: ignore[arg-type]
        if _pending_job(session, row) is not None:
            return VariantRef(variant_id=row.id, job_id=row.job_id, existing=True)  # type: ignore[arg-type]
        if (row.state == VariantState.READY.value and row.kind != VariantKind.MACHINE.value
                and not _may_edit(session, principal, doc.id)):
            # A reviewed or human translation is replaced by staff only (it may hold their work).
            raise ValidationFailed("variant.update_by_staff", field="language")
    _require_pair(source, target)
    now = utcnow()
    if row is None:
        row = DocumentVariant(document_id=doc.id, language=target, source_version_id=version.id,
                              source_number=version.number, stale=_is_stale(doc, version.id), created_at=now)
    if row.state != VariantState.READY.value:  # nothing to show meanwhile
        row.source_version_id, row.source_number = version.id, version.number  # type: ignore[assignment]
        row.stale = _is_stale(doc, version.id)  # type: ignore[arg-type]
        row.kind, row.state = VariantKind.MACHINE.value, VariantState.PROCESSING.value
    # A ready (stale) variant stays what readers see until the job replaces it.
    row.failure_code, row.requested_by, row.updated_at = "", principal.user_id, now
    session.add(row)
    session.flush()
    job = jobs.enqueue(session, TRANSLATE_JOB, subject_type="document_variant", subject_id=row.id,
                       payload={"variant_id": row.id, "version_id": version.id, "language": target},
                       created_by=principal.user_id)
    row.job_id = job.id
    session.add(row)
    audit.record(session, actor, "variant.requested", "document", doc.id, language=target, number=version.number,
                 variant_id=row.id, job_id=job.id)
    session.flush()
    return VariantRef(variant_id=row.id, job_id=job.id)  # type: ignore[arg-type]


@jobs.handler(TRANSLATE_JOB)
def translate_job(ctx: jobs.JobContext) -> dict:
    """Translate one variant (idempotent: run again, it redoes the work from the cache)."""
    from kbportal.services import translation

    variant_id, version_id = ctx.payload["variant_id"], ctx.payload["version_id"]
    reviewing = bool(ctx.payload.get("review"))  # make a reviewed variant again with its corrections
    with session_scope() as session:
        row = session.get(DocumentVariant, variant_id)
        version = session.get(DocumentVersion, version_id)
        doc = session.get(Document, row.document_id) if row is not None else None
        if row is None or version is None or doc is None or not _ours(row, ctx):
            return {"discarded": True}
        source, target = _source_lang(doc), row.language
        title, description = (row.title, row.description) if reviewing else (doc.title, doc.description)
        # A title or description a person approved for the same source text wins over the machine's.
        kept_title = row.title if row.reviewed_title_source and row.reviewed_title_source == doc.title else None
        kept_description = (row.description if row.reviewed_description_source
                            and row.reviewed_description_source == doc.description else None)
        overrides = _edits(session, variant_id)
        key, blob_vid, filename, mime, text = (version.storage_key, version.storage_version_id, version.filename,
                                               version.mime_type, version.text or "")
        doc_id, number = doc.id, version.number
    ctx.result.update(document_id=doc_id, language=target, number=number)
    store = get_blob_store()
    try:
        meta = (translation.TranslatedMetadata(title, description) if reviewing
                else translation.translate_metadata(title, description, source, target))
        ctx.progress(10)

        def progress(done: int, total: int) -> None:
            ctx.progress(10 + int(80 * done / max(total, 1)))

        blob = None
        out_name = ""
        if mime == DOCX_MIME:
            with extraction.workdir(repository.work_base()) as work:
                local = work / "source.docx"
                with open(local, "wb") as out:
                    for chunk in store.iter_bytes(key, blob_vid):
                        out.write(chunk)
                stem, ext = filenames.split_extension(filename)
                out_name = filenames.sanitize(f"{stem} ({target}){ext or '.docx'}")
                result = translation.translate_docx(local, work / "translated.docx", source, target, progress,
                                                    overrides)
                translated_text = _docx_text(result.path)
                digest = hashlib.sha256(result.path.read_bytes()).hexdigest()
                blob = store.put_file(_variant_key(doc_id, number, target, out_name), result.path, DOCX_MIME)
            segments, cached, edited = result.segments, result.cached, result.edited
        else:
            result = translation.translate_extracted_text(text, source, target, progress, overrides)
            translated_text, segments, cached = result.text, result.segments, result.cached
            edited = sum(1 for s in translation.text_segments(text) if translation.segment_key(s) in overrides)
    except KbError as failure:
        if not failure.transient:
            _record_failure(ctx, variant_id, failure.code)
        raise
    ctx.progress(95)
    with session_scope() as session:
        row = session.get(DocumentVariant, variant_id)
        doc = session.get(Document, doc_id)
        if row is None or doc is None or not _ours(row, ctx):
            if blob is not None:  # a human upload or a newer request won meanwhile
                store.delete_version(blob.key, blob.version_id)
            ctx.result["discarded"] = True
            return ctx.result
        if not reviewing:
            row.title = (kept_title or meta.title or title)[:200]
            row.description = kept_description if kept_description is not None else meta.description
            if kept_title is None:
                row.reviewed_title_source = ""
            if kept_description is None:
                row.reviewed_description_source = ""
        row.text = translated_text
        if blob is not None:
            row.filename, row.storage_key, row.storage_version_id = out_name, blob.key, blob.version_id
            row.size, row.mime_type, row.sha256 = blob.size, DOCX_MIME, digest
        else:
            row.filename = row.storage_key = row.storage_version_id = row.mime_type = row.sha256 = ""
            row.size = 0
        version = session.get(DocumentVersion, version_id)
        row.source_version_id, row.source_number = version_id, version.number if version else number
        row.state, row.failure_code = VariantState.READY.value, ""
        if not reviewing:  # the reviewer's kind and name stay on a reviewed variant made again
            row.kind = VariantKind.MACHINE.value
            row.reviewed_by = row.reviewed_at = None
        row.stale = _is_stale(doc, version_id)
        row.updated_at = utcnow()
        session.add(row)
        indexing.note_change(session, "document", doc_id)
    ctx.result.update(segments=segments, cached=cached, edited=edited, has_file=blob is not None,
                      review=reviewing)
    return ctx.result


def _ours(row: DocumentVariant, ctx: jobs.JobContext) -> bool:
    """The row still waits for this job's output: a human upload (which clears ``job_id``)
    or a newer request (another job) wins over it."""
    return row.job_id == ctx.job_id


def _pending_job(session: Session, row: DocumentVariant) -> int | None:
    """The id of the row's translation job while it has not finished."""
    if row.job_id is None:
        return None
    try:
        return None if jobs.status_unchecked(session, row.job_id).finished else row.job_id
    except NotFound:
        return None


def _record_failure(ctx: jobs.JobContext, variant_id: int, code: str) -> None:
    with session_scope() as session:
        row = session.get(DocumentVariant, variant_id)
        if row is not None and _ours(row, ctx):
            if row.state != VariantState.READY.value:  # a ready older variant stays readable
                row.state = VariantState.FAILED.value
            row.failure_code, row.updated_at = code[:120], utcnow()
            session.add(row)


def _docx_text(path: Path) -> str:
    """The readable text of a DOCX we wrote ourselves (paragraphs, then table cells)."""
    import docx

    document = docx.Document(str(path))
    lines = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for r in table.rows:
            cells = [c.text.strip() for c in r.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(dict.fromkeys(cells)))
    return "\n\n".join(lines)


# --------------------------------------------------------------------------- staff: upload and review


def upload_human_translation(session: Session, principal: Principal, actor: Actor, doc_id: int, language: str,
                             upload: repository.Upload, *, title: str | None = None,
                             description: str | None = None) -> VariantRef:
    """A localized file made by people: it becomes the document's variant in ``language``
    (kind ``human``), made from the current source version, and wins over machine output.
    Its text is read in a limited child process (search, readers)."""
    if not _may_edit(session, principal, doc_id):
        raise NotFound()
    doc = _visible_doc(session, principal, doc_id, Action.EDIT)
    target = _lang(language)
    if target == _source_lang(doc):
        raise ValidationFailed("variant.same_language", field="language", language=target)
    version = _source_version(session, doc)
    size = repository._check_upload(upload)
    accepted = repository._accept(upload, size)
    with extraction.workdir(repository.work_base()) as work:
        extracted = extraction.extract(accepted.path, accepted.filename, work)
    row = _variant(session, doc.id, target)
    clean_title = repository._clean_title(title if title is not None else (row.title if row and row.title
                                                                             else doc.title))
    clean_description = repository._clean_description(
        description if description is not None else (row.description if row else doc.description))
    digest = repository.sha256_file(accepted.path)
    store = get_blob_store()
    blob = store.put_file(_variant_key(doc.id, version.number, target, accepted.filename), accepted.path,
                          accepted.kind.mime_type)  # the blob first, the row after
    now = utcnow()
    if row is None:
        row = DocumentVariant(document_id=doc.id, language=target, source_version_id=version.id,
                              source_number=version.number, created_at=now)
    row.source_version_id, row.source_number = version.id, version.number  # type: ignore[assignment]
    row.kind, row.state, row.failure_code, row.job_id = VariantKind.HUMAN.value, VariantState.READY.value, "", None
    row.stale = _is_stale(doc, version.id)  # type: ignore[arg-type]
    row.title, row.description, row.text = clean_title, clean_description, extracted.text.replace("\x00", "")
    if title is not None:  # the uploader's own title (not the source's, kept as a placeholder)
        row.reviewed_title_source = doc.title
    if description is not None:
        row.reviewed_description_source = doc.description
    row.filename, row.storage_key, row.storage_version_id = accepted.filename, blob.key, blob.version_id
    row.size, row.mime_type, row.sha256 = blob.size, accepted.kind.mime_type, digest
    row.requested_by, row.reviewed_by, row.reviewed_at, row.updated_at = principal.user_id, principal.user_id, now, now
    session.add(row)
    session.flush()
    audit.record(session, actor, "variant.uploaded", "document", doc.id, language=target, number=version.number,
                 variant_id=row.id, filename=accepted.filename, sha256=digest, size=blob.size)
    indexing.note_change(session, "document", doc.id)
    session.flush()
    return VariantRef(variant_id=row.id)  # type: ignore[arg-type]


def review(session: Session, principal: Principal, actor: Actor, variant_id: int, title: str, description: str,
           edits: Mapping[str, str] | None = None) -> VariantRef:
    """Marketing corrects and approves a translation: machine output becomes ``reviewed``
    (a human variant stays human). ``edits`` are ``{segment key: corrected translation}``
    for segments of :func:`review_segments` (an empty text, or the machine's own, drops a
    correction). When corrections changed (or the last making failed), the variant is
    made again with them in a job (its id in the answer): the file keeps its formatting
    and the text readers and search see is rebuilt from the segments."""
    row = session.get(DocumentVariant, variant_id)
    if row is None or not _may_edit(session, principal, row.document_id):
        raise NotFound()
    if row.state != VariantState.READY.value:
        raise ValidationFailed("variant.not_ready", field="variant")
    if _pending_job(session, row) is not None:
        raise ValidationFailed("variant.busy", field="variant")
    clean_title = repository._clean_title(title)
    clean_description = repository._clean_description(description)
    segment_based = row.kind != VariantKind.HUMAN.value
    if edits and not segment_based:
        raise ValidationFailed("variant.human_no_segments", field="segments")
    changed_segments = _store_edits(session, principal, row, edits) if edits else 0
    changed = [name for name, before, after in (("title", row.title, clean_title),
                                                ("description", row.description, clean_description))
               if before != after]
    now = utcnow()
    before_kind = row.kind
    if row.kind == VariantKind.MACHINE.value:
        row.kind = VariantKind.REVIEWED.value
    row.title, row.description = clean_title, clean_description
    doc = session.get(Document, row.document_id)
    if doc is not None:  # approved for these source texts: kept while they stay the same
        row.reviewed_title_source, row.reviewed_description_source = doc.title, doc.description
    row.reviewed_by, row.reviewed_at, row.updated_at = principal.user_id, now, now
    job_id = None
    if segment_based and (changed_segments or _info(session, row).failure_code):  # or the last making failed
        job = jobs.enqueue(session, TRANSLATE_JOB, subject_type="document_variant", subject_id=row.id,
                           payload={"variant_id": row.id, "version_id": row.source_version_id,
                                    "language": row.language, "review": True},
                           created_by=principal.user_id)
        row.job_id, row.failure_code, job_id = job.id, "", job.id
    session.add(row)
    audit.record(session, actor, "variant.reviewed", "document", row.document_id, language=row.language,
                 variant_id=row.id, before=before_kind, after=row.kind, changed=changed, segments=changed_segments,
                 job_id=job_id)
    indexing.note_change(session, "document", row.document_id)
    session.flush()
    return VariantRef(variant_id=row.id, job_id=job_id)  # type: ignore[arg-type]


def review_segments(session: Session, principal: Principal, variant_id: int, *, page: int = 1, per_page: int = 20,
                    only_changed: bool = False, also: Iterable[str] = ()) -> SegmentPage:
    """One page of the variant's segments for its reviewer (staff who may edit the
    document; others NotFound): source, machine translation, correction. ``only_changed``
    keeps the corrected ones (and the keys in ``also``: corrections not saved yet)."""
    row = session.get(DocumentVariant, variant_id)
    if row is None or not _may_edit(session, principal, row.document_id):
        raise NotFound()
    if row.kind == VariantKind.HUMAN.value:
        return SegmentPage(items=[], total=0, page=1, pages=1, changed=0, editable=False)
    from kbportal.services import translation

    doc = session.get(Document, row.document_id)
    version = session.get(DocumentVersion, row.source_version_id)
    if doc is None or version is None:
        raise NotFound()
    keyed = [(translation.segment_key(s), s) for s in _source_segments(version)]
    edits = _edits(session, row.id)  # type: ignore[arg-type]
    changed_keys = tuple(key for key, _ in keyed if key in edits)
    if only_changed:
        extra = set(also)
        keyed = [(key, text) for key, text in keyed if key in edits or key in extra]
    per_page = max(1, min(per_page, 200))
    pages = max(1, math.ceil(len(keyed) / per_page))
    page = max(1, min(page, pages))
    chunk = keyed[(page - 1) * per_page: page * per_page]
    texts = [text for _, text in chunk]
    try:
        machine = translation.machine_translations(texts, _source_lang(doc), row.language)
    except KbError:  # the pair was removed: what the cache still knows
        machine = translation.machine_translations(texts, _source_lang(doc), row.language, cache_only=True)
    items = [ReviewSegment(key=key, source=text, machine=machine.get(text, ""), edited=edits.get(key))
             for key, text in chunk]
    return SegmentPage(items=items, total=len(keyed), page=page, pages=pages, changed=len(changed_keys),
                       editable=True, changed_keys=changed_keys)


def _edits(session: Session, variant_id: int) -> dict[str, str]:
    """The variant's corrections: ``{sha256 of source segment: translation}``."""
    return {key: text for key, text in session.exec(
        select(VariantSegmentEdit.source_sha256, VariantSegmentEdit.translation)
        .where(VariantSegmentEdit.variant_id == variant_id))}


def _clean_segment(text: str) -> str:
    """One line (a segment lives inside a paragraph), no NULs, trimmed."""
    clean = " ".join((text or "").replace("\x00", "").split())
    if len(clean) > MAX_SEGMENT:
        raise ValidationFailed("validation.too_long", field="segments", max=MAX_SEGMENT)
    return clean


def _store_edits(session: Session, principal: Principal, row: DocumentVariant, edits: Mapping[str, str]) -> int:
    """Save corrections; how many changed. Unknown keys are refused; a correction that is
    empty or equal to the machine's translation is dropped (the machine's is used)."""
    from kbportal.services import translation

    version = session.get(DocumentVersion, row.source_version_id)
    doc = session.get(Document, row.document_id)
    if version is None or doc is None:
        raise NotFound()
    sources = {translation.segment_key(s): s for s in _source_segments(version)}
    if any(key not in sources for key in edits):
        raise ValidationFailed("variant.unknown_segment", field="segments")
    cleaned = {key: _clean_segment(text) for key, text in edits.items()}
    machine = translation.machine_translations([sources[k] for k, t in cleaned.items() if t], _source_lang(doc),
                                               row.language, cache_only=True)
    existing = {e.source_sha256: e for e in session.exec(
        select(VariantSegmentEdit).where(VariantSegmentEdit.variant_id == row.id,
                                         col(VariantSegmentEdit.source_sha256).in_(list(cleaned))))}
    now, changed = utcnow(), 0
    for key, text in cleaned.items():
        current = existing.get(key)
        if not text or machine.get(sources[key]) == text:
            if current is not None:
                session.delete(current)
                changed += 1
            continue
        if current is None:
            session.add(VariantSegmentEdit(variant_id=row.id, source_sha256=key, source_text=sources[key],
                                           translation=text, edited_by=principal.user_id, edited_at=now))
            changed += 1
        elif current.translation != text:
            current.translation, current.edited_by, current.edited_at = text, principal.user_id, now
            session.add(current)
            changed += 1
    session.flush()
    return changed


_segments_lock = threading.Lock()
_segments_cache: OrderedDict[tuple[str, str], list[str]] = OrderedDict()


def _source_segments(version: DocumentVersion) -> list[str]:
    """The segments a translation of ``version`` is made of (a DOCX's are read from its
    file once per process: versions are immutable)."""
    from kbportal.services import translation

    if version.mime_type != DOCX_MIME:
        return translation.text_segments(version.text or "")
    key = (version.storage_key, version.storage_version_id)
    with _segments_lock:
        if key in _segments_cache:
            _segments_cache.move_to_end(key)
            return _segments_cache[key]
    store = get_blob_store()
    with extraction.workdir(repository.work_base()) as work:
        local = work / "source.docx"
        with open(local, "wb") as out:
            for chunk in store.iter_bytes(version.storage_key, version.storage_version_id):
                out.write(chunk)
        found = translation.docx_segments(local)
    with _segments_lock:
        _segments_cache[key] = found
        while len(_segments_cache) > 16:
            _segments_cache.popitem(last=False)
    return found


def job_status(session: Session, principal: Principal, job_id: int) -> jobs.JobStatus:
    """A translation job's progress for whoever may read its variant's document (not only
    the person who asked: a reader follows the job of the variant they see); any other
    job, or a document the principal may not see: NotFound."""
    status = jobs.status_unchecked(session, job_id)
    if status.kind != TRANSLATE_JOB or status.subject_type != "document_variant" or status.subject_id is None:
        raise NotFound()
    row = session.get(DocumentVariant, status.subject_id)
    if row is None:
        raise NotFound()
    _visible_doc(session, principal, row.document_id, Action.VIEW)
    return status


# --------------------------------------------------------------------------- the publish hook


def mark_stale_on_publish(session: Session, doc: Document, version: DocumentVersion) -> list[int]:
    """Called when ``version`` becomes the published one: variants made from any other
    version are stale (and those made from it, after a rollback, are current again).
    Returns the ids of the variants that are stale now."""
    stale: list[int] = []
    for row in session.exec(select(DocumentVariant).where(DocumentVariant.document_id == doc.id)):
        now_stale = row.source_version_id != version.id
        if row.stale != now_stale:
            row.stale = now_stale
            session.add(row)
        if now_stale:
            stale.append(row.id)  # type: ignore[arg-type]
    return stale


# --------------------------------------------------------------------------- reading


def for_reader(session: Session, principal: Principal, doc_id: int, language: str) -> ReaderView:
    """The document as the principal should read it in ``language`` (see :class:`ReaderView`)."""
    doc = _visible_doc(session, principal, doc_id, Action.VIEW)
    target = _lang(language)
    source = _source_lang(doc)
    original_url = f"/documents/{doc.id}?lang={source}"

    def view(mode: str, **kw) -> ReaderView:
        base = dict(document_id=doc.id, language=target, source_language=source, mode=mode, title=doc.title,
                    description=doc.description, variant=None, stale=False, notice_key="",
                    original_url=original_url, can_translate=False)
        return ReaderView(**{**base, **kw})  # type: ignore[arg-type]

    if target == source:
        return view("original")
    row = _variant(session, doc.id, target)
    may_request = _may_edit(session, principal, doc.id) or _own_language(session, principal) == target
    if row is not None and row.state == VariantState.READY.value:
        info = _info(session, row)
        idle = info.pending_job_id is None
        return view("variant", title=info.title or doc.title, description=info.description, variant=info,
                    stale=info.stale, notice_key="variant.stale_notice" if info.stale else "",
                    pending_job_id=info.pending_job_id, failed=idle and bool(info.failure_code),
                    can_update=(info.stale and info.kind == VariantKind.MACHINE.value and idle and may_request
                                and _pair_ready(source, target)))
    info = _info(session, row) if row is not None else None
    pending = info.pending_job_id if info is not None else None
    return view("fallback", notice_key="variant.no_translation", pending_job_id=pending,
                failed=info is not None and info.state == VariantState.FAILED.value,
                can_translate=may_request and pending is None and _pair_ready(source, target))


def list_variants(session: Session, principal: Principal, doc_id: int) -> list[VariantInfo]:
    """Every variant of a document, by language (staff who may edit it; others NotFound)."""
    if not _may_edit(session, principal, doc_id):
        raise NotFound()
    rows = session.exec(select(DocumentVariant).where(DocumentVariant.document_id == doc_id)
                        .order_by(col(DocumentVariant.language)))
    return [_info(session, row) for row in rows]


def get_variant(session: Session, principal: Principal, variant_id: int) -> VariantInfo:
    """One variant; partners only ready ones of documents they may view."""
    row = session.get(DocumentVariant, variant_id)
    if row is None:
        raise NotFound()
    _visible_doc(session, principal, row.document_id, Action.VIEW)
    if row.state != VariantState.READY.value and not _may_edit(session, principal, row.document_id):
        raise NotFound()
    return _info(session, row)


def open_variant_download(session: Session, principal: Principal, variant_id: int) -> repository.DownloadTarget:
    """Where a variant's file is (translated DOCX or uploaded localized file), for the
    download route: the document must be downloadable by the principal; NotFound for a
    text-only or unfinished variant."""
    row = session.get(DocumentVariant, variant_id)
    if row is None:
        raise NotFound()
    doc = _visible_doc(session, principal, row.document_id, Action.DOWNLOAD)
    if row.state != VariantState.READY.value or not row.storage_key:
        raise NotFound()
    if doc.status != Status.PUBLISHED.value and not _may_edit(session, principal, doc.id):
        raise NotFound()
    return repository.DownloadTarget(document_id=doc.id, number=row.source_number, key=row.storage_key,
                                     storage_version_id=row.storage_version_id, size=row.size,
                                     filename=row.filename, mime_type=row.mime_type,
                                     etag=row.sha256 or f"variant-{row.id}-{row.storage_version_id}",
                                     variant=f"translation-{row.language}")

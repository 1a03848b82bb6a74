"""Co-branded PDFs: partners turn marketing's templates into PDFs with their own branding.

The product around the engine (``services/cobrand``):

* **Templates** are documents of type ``template`` (DOCX with ``{{field}}`` placeholders
  or PDF with form fields). The upload check (``version_check``) detects their fields
  with :func:`detect_template` and stores them on the version; a template without
  fields, unreadable, or of another type is refused there with the reason.
* **Usable templates** are the published ones the access policy lets the principal
  download (``access.sql_filter``: the same audience rules as every document).
* **A request** (:func:`request`) merges the organisation's branding profile with the
  values typed for this PDF, names the result by a cache key (template bytes and
  version, branding version, values, logo, title) and either returns the PDF already
  made for that key (no job) or queues a ``cobrand.generate`` job. Both are audited
  as ``cobrand.generated`` (``cached`` true or false).
* **The job** (:func:`generate_job`) fetches the template version and the logo from
  storage, runs the engine (DOCX through the shared LibreOffice pool), stores the PDF
  as ``generated/<org id>/<cache key>.pdf`` and records a :class:`GeneratedPdf` row.
  Engine refusals (broken template, a script the PDF template cannot show) fail the
  job with the engine's sentence; LibreOffice dying, timing out or missing, and
  storage outages, are transient: retried, then left retryable.
* **History and downloads**: an organisation's generated PDFs for its members (staff:
  all), through ``access.generated_sql_filter``; another organisation's PDF is NotFound.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from kbportal.config import get_settings
from kbportal.db import session_scope
from kbportal.models import (DocType, Document, DocumentVersion, GeneratedPdf, JobState, Organisation, Status, User,
                             VersionState)
from kbportal.services import access, audit, branding, extraction, filenames, jobs, repository
from kbportal.services.access import Action, Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import KbError, NotFound, ValidationFailed
from kbportal.storage import BlobStore, get_blob_store
from kbportal.timeutil import utcnow

log = logging.getLogger(__name__)

GENERATE_JOB = "cobrand.generate"
PREFIX = "generated/"
PDF_MIME = "application/pdf"
# Engine failures worth another try: LibreOffice died, hung or could not be started.
TRANSIENT_ENGINE_CODES = frozenset({"cobrand.convert_failed", "cobrand.convert_timeout",
                                    "cobrand.converter_unavailable"})
_TEMPLATE_KINDS = {"application/pdf": "pdf",
                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx"}


class ConversionInterrupted(KbError):
    """An engine failure that may pass (LibreOffice dead, too slow, unavailable): the job
    is retried, then left retryable; the user sees the engine's own sentence."""

    transient = True


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class TemplateCard:
    """A template a principal may use, with the fields its form asks for."""

    document_id: int
    title: str
    description: str
    product: str
    language: str
    version_number: int
    kind: str  # docx | pdf
    fields: tuple[str, ...]  # every text field, document order
    standard_fields: tuple[str, ...]  # filled from the branding profile
    custom_fields: tuple[str, ...]  # typed in by the partner
    has_logo_frame: bool
    has_thumbnail: bool
    malformed: tuple[str, ...]  # "{{...}}" snippets that are no valid placeholder (for marketing)
    published_at: datetime | None


@dataclass(frozen=True)
class GenerationRef:
    """The answer to a request: a PDF made before (``generated_id``, ``cached``) or a job."""

    cache_key: str
    generated_id: int | None = None
    job_id: int | None = None
    cached: bool = False


@dataclass(frozen=True)
class GeneratedItem:
    """A generated PDF as the history shows it."""

    id: int
    org_id: int
    org_name: str
    user_id: int | None
    user_name: str
    template_document_id: int
    template_title: str
    template_version: int
    branding_version: int
    overrides: dict[str, str]
    title: str
    filename: str
    size: int
    page_count: int
    created_at: datetime


@dataclass(frozen=True)
class GenerationStatus:
    """A generation job as the UI polls it."""

    job_id: int
    state: str  # queued | running | done | failed
    progress: int
    generated: GeneratedItem | None = None  # when done
    error: KbError | None = None  # when failed: its sentence is error.message(lang)
    retryable: bool = False  # failed for a passing reason: ``retry`` may queue it again

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE.value, JobState.FAILED.value)


@dataclass(frozen=True)
class GeneratedTarget:
    """Where a generated PDF's bytes are: what the download route and the CLI need
    (the same attributes as ``repository.DownloadTarget``; ``etag`` is the bytes' sha256)."""

    generated_id: int
    key: str
    storage_version_id: str
    size: int
    filename: str
    mime_type: str
    etag: str
    variant: str = "original"


@dataclass(frozen=True)
class _Inputs:
    """Everything that determines a generated PDF (the job's payload)."""

    org_id: int
    template_document_id: int
    template_version_id: int
    template_version_number: int
    kind: str
    branding_version: int
    values: dict[str, str]
    overrides: dict[str, str]
    logo: dict[str, str] | None
    title: str
    author: str
    filename: str
    cache_key: str = ""


# --------------------------------------------------------------------------- template fields (upload check)


def template_kind(mime_type: str) -> str:
    """"docx" or "pdf" for the (sniffed) type of an uploaded template; ValidationFailed
    (field "file") for any other type."""
    from kbportal.services.sniff import KINDS

    kind = _TEMPLATE_KINDS.get(mime_type)
    if kind is None:
        named = next((k.name for k in KINDS.values() if k.mime_type == mime_type), mime_type)
        raise ValidationFailed("cobrand.template_kind", field="file", kind=named)
    return kind


def detect_template(path: Path, mime_type: str, work: Path | None = None) -> dict:
    """The fields of an uploaded template (``TemplateFields.to_dict()``), read by the engine
    in a limited child process. Raises ValidationFailed (field "file"): not DOCX or PDF,
    unreadable, or nothing to fill in."""
    from kbportal.services.cobrand import detect_fields

    return detect_fields(path, template_kind(mime_type), work=work).to_dict()


# --------------------------------------------------------------------------- templates a principal may use


def _usable_conditions(principal: Principal, now: datetime, with_fields: bool = True) -> list:
    conditions = [
        Document.doc_type == DocType.TEMPLATE.value,
        Document.status == Status.PUBLISHED.value,  # staff too: drafts are tried with ``version=``
        or_(col(Document.expires_at).is_(None), col(Document.expires_at) > now),
        access.sql_filter(principal, Action.DOWNLOAD, Document, now),
        DocumentVersion.state == VersionState.READY.value,
    ]
    if with_fields:
        conditions.append(col(DocumentVersion.template_fields).is_not(None))
    return conditions


def _card(doc: Document, version: DocumentVersion) -> TemplateCard:
    from kbportal.services.cobrand import TemplateFields

    found = TemplateFields.from_dict(version.template_fields or {})
    return TemplateCard(
        document_id=doc.id, title=doc.title, description=doc.description, product=doc.product,
        language=doc.source_language, version_number=version.number, kind=found.kind, fields=found.fields,
        standard_fields=found.standard, custom_fields=found.custom, has_logo_frame=found.has_logo_frame,
        has_thumbnail=bool(version.thumbnail_key), malformed=found.malformed, published_at=doc.published_at)


def usable_templates(session: Session, principal: Principal) -> list[TemplateCard]:
    """Published templates whose audience admits the principal (staff: every published one), by title."""
    if not access.may_ever(principal, Action.DOWNLOAD):
        return []
    rows = session.exec(
        select(Document, DocumentVersion)
        .join(DocumentVersion, col(DocumentVersion.id) == Document.published_version_id)
        .where(*_usable_conditions(principal, utcnow()))
        .order_by(Document.title, col(Document.id)))
    return [_card(doc, version) for doc, version in rows]


def _template(session: Session, principal: Principal, doc_id: int,
              number: int | None = None) -> tuple[Document, DocumentVersion]:
    """The template and the version to use: the published one; ``number`` (any ready
    version) only for those who may edit the document. NotFound otherwise."""
    if number is None:
        row = session.exec(
            select(Document, DocumentVersion)
            .join(DocumentVersion, col(DocumentVersion.id) == Document.published_version_id)
            .where(Document.id == doc_id, *_usable_conditions(principal, utcnow(), with_fields=False))).first()
        if row is None:
            raise NotFound()
    else:
        row = session.exec(
            select(Document, DocumentVersion)
            .join(DocumentVersion, DocumentVersion.document_id == Document.id)
            .where(Document.id == doc_id, DocumentVersion.number == number,
                   Document.doc_type == DocType.TEMPLATE.value,
                   DocumentVersion.state == VersionState.READY.value,
                   access.sql_filter(principal, Action.EDIT, Document))).first()
        if row is None:
            raise NotFound()
    if row[1].template_fields is None:  # became a template after its upload: never checked as one
        raise ValidationFailed("cobrand.template_fields_missing", field="template")
    return row[0], row[1]


def get_template(session: Session, principal: Principal, doc_id: int) -> TemplateCard:
    """One usable template (its form); NotFound when the principal may not use it."""
    return _card(*_template(session, principal, doc_id))


# --------------------------------------------------------------------------- requests


def _clean_overrides(overrides: Mapping[str, object] | None, fields: tuple[str, ...]) -> dict[str, str]:
    """Values typed for this PDF, cleaned by the engine's rules. A name the template does
    not have is refused (a typo would otherwise be dropped silently); the standard
    fields are always accepted (a PDF template stamps the footer and logo regardless)."""
    from kbportal.services.cobrand import clean_values
    from kbportal.services.cobrand.fields import TEXT_STANDARD_FIELDS

    known = set(fields) | set(TEXT_STANDARD_FIELDS)
    names: dict[str, object] = {}
    for raw, value in (overrides or {}).items():
        name = str(raw).strip().lower()
        if name.startswith("{{") and name.endswith("}}"):
            name = name[2:-2].strip()
        if name not in known:
            raise ValidationFailed("cobrand.unknown_field", field=name or str(raw), name=str(raw)[:80],
                                   known=", ".join(fields) or "-")
        names[name] = value
    return clean_values(names)


def _output_filename(template_title: str, partner_name: str) -> str:
    stem = f"{template_title} - {partner_name}" if partner_name else template_title
    return filenames.with_extension(filenames.sanitize(stem + ".pdf", fallback="co-branded"), (".pdf",),
                                    frozenset({".pdf"}))


def _inputs(session: Session, doc: Document, version: DocumentVersion, org_id: int,
            overrides: Mapping[str, object] | None) -> _Inputs:
    from kbportal.services.cobrand import TemplateFields, cache_key, default_title

    found = TemplateFields.from_dict(version.template_fields or {})
    snapshot = branding.current(session, org_id)
    profile_values = snapshot.info.values()
    typed = _clean_overrides(overrides, found.fields)
    values = {**profile_values, **typed}
    partner_name = values.get("partner_name", "")
    title = default_title(doc.title, partner_name)
    logo = None
    if snapshot.logo is not None:
        logo = {"key": snapshot.logo.key, "version_id": snapshot.logo.storage_version_id,
                "sha256": snapshot.logo.sha256}
    inputs = _Inputs(
        org_id=org_id, template_document_id=doc.id, template_version_id=version.id,
        template_version_number=version.number, kind=found.kind, branding_version=snapshot.info.version,
        values=values, overrides={k: v for k, v in typed.items() if profile_values.get(k, "") != v}, logo=logo,
        title=title, author=partner_name, filename=_output_filename(doc.title, partner_name))
    key = cache_key(version.sha256, values, logo["sha256"] if logo else None, extra={
        "template_version": str(version.id), "branding_version": str(snapshot.info.version), "title": title,
        "author": partner_name})
    return dataclasses.replace(inputs, cache_key=key)


def _made(session: Session, org_id: int, key: str) -> GeneratedPdf | None:
    return session.exec(select(GeneratedPdf).where(GeneratedPdf.org_id == org_id,
                                                   GeneratedPdf.cache_key == key)).first()


def _in_flight(session: Session, user_id: int | None, doc_id: int, key: str) -> int | None:
    """This user's queued or running job for the same PDF (a double click), if any."""
    from kbportal.models import Job

    return session.exec(
        select(Job.id).where(Job.kind == GENERATE_JOB, Job.created_by == user_id, Job.subject_id == doc_id,
                             col(Job.state).in_([JobState.QUEUED.value, JobState.RUNNING.value]),
                             col(Job.payload).contains(key))
        .order_by(col(Job.id).desc())).first()


def _audit_generated(session: Session, actor: Actor, row: GeneratedPdf, *, cached: bool, user_id: int | None,
                     **extra: object) -> None:
    audit.record(session, actor, "cobrand.generated", "document", row.template_document_id,
                 generated_id=row.id, org_id=row.org_id, user_id=user_id, template_version=row.template_version_number,
                 branding_version=row.branding_version, cached=cached, size=row.size, **extra)


def _branding_org(session: Session, principal: Principal, org_id: int | None) -> int:
    """The organisation whose branding to use (default: the principal's own; staff may name
    any). ValidationFailed without one; NotFound for an organisation the principal may not use."""
    org_id = principal.org_id if org_id is None else org_id
    if not access.can_generate_for(principal, org_id):
        if principal.active and org_id is None:
            raise ValidationFailed("cobrand.no_organisation", field="organisation")
        raise NotFound()
    if session.get(Organisation, org_id) is None:
        raise NotFound()
    return org_id


def request(session: Session, principal: Principal, actor: Actor, template_doc_id: int,
            overrides: Mapping[str, object] | None = None, *, org_id: int | None = None,
            version: int | None = None) -> GenerationRef:
    """Ask for a co-branded PDF of a template with the organisation's branding (default:
    the principal's own; staff may name any) and ``overrides`` for this PDF only.

    Returns the PDF made before for the same inputs at once (``cached``), else the job that
    makes it (dispatched when the caller commits). NotFound for a template the principal may
    not use; ValidationFailed for a value too long or a field the template does not have.
    """
    org_id = _branding_org(session, principal, org_id)
    doc, template_version = _template(session, principal, template_doc_id, version)
    inputs = _inputs(session, doc, template_version, org_id, overrides)
    existing = _made(session, org_id, inputs.cache_key)
    if existing is not None:
        _audit_generated(session, actor, existing, cached=True, user_id=principal.user_id)
        return GenerationRef(cache_key=inputs.cache_key, generated_id=existing.id, cached=True)
    pending = _in_flight(session, principal.user_id, doc.id, inputs.cache_key)
    if pending is not None:
        return GenerationRef(cache_key=inputs.cache_key, job_id=pending)
    payload = {**dataclasses.asdict(inputs), "user_id": principal.user_id, "ip": actor.ip}
    job = jobs.enqueue(session, GENERATE_JOB, subject_type="document", subject_id=doc.id, payload=payload,
                       created_by=principal.user_id)
    return GenerationRef(cache_key=inputs.cache_key, job_id=job.id)


def status(session: Session, principal: Principal, job_id: int) -> GenerationStatus:
    """A generation job of the principal's (anyone else's: NotFound)."""
    current = jobs.status(session, job_id, principal.user_id)
    if current.kind != GENERATE_JOB:
        raise NotFound()
    generated = None
    if current.state == JobState.DONE.value and current.result.get("generated_id"):
        generated = _items(session, principal, [int(current.result["generated_id"])])
        generated = generated[0] if generated else None
    return GenerationStatus(job_id=current.id, state=current.state, progress=current.progress, generated=generated,
                            error=current.error, retryable=current.retryable)


def retry(session: Session, principal: Principal, job_id: int) -> None:
    """Queue a generation that failed for a passing reason once more (the caller commits)."""
    status(session, principal, job_id)
    jobs.retry(session, job_id, principal.user_id)


# --------------------------------------------------------------------------- the job


def _work_base() -> Path:
    return get_settings().resolved_data_dir / "tmp" / "cobrand"


def _local_copy(store: BlobStore, key: str, version_id: str, size: int | None, dest: Path) -> Path:
    """The stored version as a local file: the store's own copy when it has one, else fetched."""
    local = store.local_path(key, version_id, size)
    if local is not None:
        try:  # a copy: the read cache may evict its file while the engine reads
            shutil.copyfile(local, dest)
            return dest
        except OSError:
            pass
    with open(dest, "wb") as out:
        for chunk in store.iter_bytes(key, version_id):
            out.write(chunk)
    return dest


def _converter():
    """The process-wide LibreOffice listener pool (tests point it at their own)."""
    from kbportal.services.cobrand import converter

    return converter.default_pool()


def _run_engine(template: Path, inputs: _Inputs, logo: bytes | None, out: Path, work: Path):
    from kbportal.services.cobrand import generate

    try:
        return generate(template, inputs.kind, inputs.values, logo, out, title=inputs.title, author=inputs.author,
                        converter=_converter() if inputs.kind == "docx" else None, work_dir=work)
    except ValidationFailed:
        raise  # the template or a value cannot be used: final, with the engine's sentence
    except KbError as failure:
        if failure.code in TRANSIENT_ENGINE_CODES:
            raise ConversionInterrupted(failure.code, **failure.params) from failure
        raise


@jobs.handler(GENERATE_JOB)
def generate_job(ctx: jobs.JobContext) -> dict:
    """Make one co-branded PDF. Idempotent: a PDF already made for the key is reused."""
    payload = dict(ctx.payload)
    user_id, ip = payload.pop("user_id", None), payload.pop("ip", "job")
    inputs = _Inputs(**payload)
    with session_scope() as session:
        existing = _made(session, inputs.org_id, inputs.cache_key)
        if existing is not None:
            ctx.result.update(generated_id=existing.id, cached=True)
            return ctx.result
        version = session.get(DocumentVersion, inputs.template_version_id)
        if version is None:
            raise NotFound()
        template_ref = (version.storage_key, version.storage_version_id, version.size)
    store = get_blob_store()
    blob_key = f"{PREFIX}{inputs.org_id}/{inputs.cache_key}.pdf"
    with extraction.workdir(_work_base()) as work:
        template = _local_copy(store, *template_ref, work / f"template.{inputs.kind}")
        logo = store.get_bytes(inputs.logo["key"], inputs.logo["version_id"]) if inputs.logo else None
        ctx.progress(15)
        out = work / "co-branded.pdf"
        info = _run_engine(template, inputs, logo, out, work)
        ctx.progress(85)
        digest = repository.sha256_file(out)
        blob = store.put_file(blob_key, out, PDF_MIME)
        store.keep_local(blob_key, blob.version_id, out)  # the first download is served from here
    with session_scope() as session:
        user = session.get(User, user_id) if user_id else None
        actor = Actor(user_id=user.id, email=user.email, ip=ip) if user else Actor(ip=ip)
    row = GeneratedPdf(
        org_id=inputs.org_id, user_id=user_id, template_document_id=inputs.template_document_id,
        template_version_id=inputs.template_version_id, template_version_number=inputs.template_version_number,
        branding_version=inputs.branding_version, overrides=inputs.overrides, cache_key=inputs.cache_key,
        title=inputs.title[:500], filename=inputs.filename, storage_key=blob_key, storage_version_id=blob.version_id,
        sha256=digest, size=blob.size, page_count=info.pages)
    try:
        with session_scope() as session:
            session.add(row)
            session.flush()
            _audit_generated(session, actor, row, cached=False, user_id=user_id, pages=info.pages,
                             seconds=round(info.seconds, 3))
            generated_id = row.id
    except IntegrityError:  # another job made the same PDF meanwhile: keep theirs
        try:
            store.delete_version(blob_key, blob.version_id)
        except Exception:  # noqa: BLE001 - an unreferenced blob, not a reason to fail
            log.warning("could not remove duplicate generated PDF %s (%s)", blob_key, blob.version_id)
        with session_scope() as session:
            existing = _made(session, inputs.org_id, inputs.cache_key)
            if existing is None:
                raise
            generated_id = existing.id
    ctx.result.update(generated_id=generated_id, cached=False, pages=info.pages, size=blob.size)
    return ctx.result


# --------------------------------------------------------------------------- history and downloads


def _items(session: Session, principal: Principal, ids: list[int] | None = None, limit: int = 100,
           offset: int = 0) -> list[GeneratedItem]:
    query = (
        select(GeneratedPdf, Document.title, Organisation.name, User.name)
        .join(Document, col(Document.id) == GeneratedPdf.template_document_id)
        .join(Organisation, col(Organisation.id) == GeneratedPdf.org_id)
        .outerjoin(User, col(User.id) == GeneratedPdf.user_id)
        .where(access.generated_sql_filter(principal))
        .order_by(col(GeneratedPdf.created_at).desc(), col(GeneratedPdf.id).desc())
    )
    if ids is not None:
        query = query.where(col(GeneratedPdf.id).in_(ids))
    else:
        query = query.offset(max(offset, 0)).limit(min(max(limit, 1), 500))
    return [GeneratedItem(
        id=row.id, org_id=row.org_id, org_name=org_name, user_id=row.user_id, user_name=user_name or "",
        template_document_id=row.template_document_id, template_title=template_title,
        template_version=row.template_version_number, branding_version=row.branding_version,
        overrides=dict(row.overrides or {}), title=row.title, filename=row.filename, size=row.size,
        page_count=row.page_count, created_at=row.created_at) for row, template_title, org_name, user_name in
        session.exec(query)]


def history(session: Session, principal: Principal, limit: int = 100, offset: int = 0) -> list[GeneratedItem]:
    """The generated PDFs of the principal's organisation, newest first (staff: everyone's)."""
    return _items(session, principal, limit=limit, offset=offset)


def open_generated(session: Session, principal: Principal, generated_id: int) -> GeneratedTarget:
    """Where a generated PDF is, for a download; NotFound for another organisation's."""
    row = session.exec(select(GeneratedPdf).where(GeneratedPdf.id == generated_id,
                                                  access.generated_sql_filter(principal))).first()
    if row is None:
        raise NotFound()
    return GeneratedTarget(generated_id=row.id, key=row.storage_key, storage_version_id=row.storage_version_id,
                           size=row.size, filename=row.filename, mime_type=PDF_MIME, etag=row.sha256)


def record_download(session: Session, principal: Principal, actor: Actor, target: GeneratedTarget) -> None:
    """Audit one download of a generated PDF."""
    audit.record(session, actor, "cobrand.downloaded", "generated_pdf", target.generated_id,
                 user_id=principal.user_id, org_id=principal.org_id, size=target.size)


# --------------------------------------------------------------------------- page-1 preview

PREVIEW_DPI = 60
_PREVIEW_TIMEOUT_S = 60


def _preview_dir() -> Path:
    return get_settings().resolved_data_dir / "cache" / "cobrand-preview"


def _render_page_one(pdf: Path, dest: Path, tmp: Path, what: str) -> None:
    """Page 1 of ``pdf`` as a PNG at ``dest`` (``pdftoppm`` at PREVIEW_DPI; atomic: a
    concurrent reader sees the whole file or none). KbError ``cobrand.preview_failed``."""
    import subprocess

    try:
        subprocess.run(["pdftoppm", "-r", str(PREVIEW_DPI), "-f", "1", "-l", "1", "-png", "-singlefile",
                        str(pdf), str(tmp / "page")], check=True, capture_output=True, timeout=_PREVIEW_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("preview of %s failed: %s", what, exc)
        raise KbError("cobrand.preview_failed") from exc
    (tmp / "page.png").replace(dest)


def preview_png(session: Session, principal: Principal, generated_id: int) -> Path:
    """Page 1 of a generated PDF as a PNG (``pdftoppm``), for the co-brand page's result card.

    Same access rule as :func:`open_generated` (NotFound for another organisation's PDF).
    Rendered once and kept on local disk under the data directory, named by the PDF's
    cache key (a generated PDF never changes, so neither does its preview; the cache is
    bounded by :func:`prune_previews`, so an evicted one is rendered again).
    """
    import tempfile

    target = open_generated(session, principal, generated_id)
    row = session.get(GeneratedPdf, generated_id)
    folder = _preview_dir()
    path = folder / f"{row.cache_key}.png"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    store = get_blob_store()
    with tempfile.TemporaryDirectory(dir=folder, prefix="render-") as tmp:
        pdf = _local_copy(store, target.key, target.storage_version_id, target.size, Path(tmp) / "in.pdf")
        _render_page_one(pdf, path, Path(tmp), f"generated PDF {generated_id}")
    _prune_quietly(folder, keep=path)
    return path


# --------------------------------------------------------------------------- live preview of a draft

# The preview cache (generated PDFs' and drafts' page 1) is bounded: files older than a
# day go, then the oldest until the folder holds at most this much.
PREVIEW_CACHE_MAX_BYTES = 200 * 1024 * 1024
PREVIEW_CACHE_MAX_AGE_S = 24 * 3600
_DRAFT_PREFIX = "draft-"
# At most this many drafts render at once in a process (each a LibreOffice conversion for
# DOCX): many users typing, or one fast typist, queue here instead of loading the machine.
DRAFT_RENDERS_AT_ONCE = 2
_draft_slots = threading.BoundedSemaphore(DRAFT_RENDERS_AT_ONCE)
# One render per draft key at a time: a second request for the same key waits, then reuses the file.
_draft_key_locks: dict[str, list] = {}  # key -> [lock, holders and waiters]
_draft_key_guard = threading.Lock()


@dataclass(frozen=True)
class DraftPlan:
    """What a draft preview renders: checked and resolved in a database session
    (:func:`prepare_draft`), rendered outside it (:func:`render_draft`)."""

    key: str  # the PNG's name (sha256 of everything that determines page 1)
    inputs: _Inputs
    template_ref: tuple[str, str, int]  # storage key, version id, size
    template_doc_id: int = 0  # what the route checks again before serving the PNG
    org_id: int | None = None  # the organisation named by staff (None: the principal's own)


def prepare_draft(session: Session, principal: Principal, template_doc_id: int,
                  overrides: Mapping[str, object] | None = None, *, org_id: int | None = None) -> DraftPlan:
    """The access-checked inputs of a live preview: the same rules and values as :func:`request`
    (NotFound for a template or organisation the principal may not use, ValidationFailed for
    a value too long or a field the template does not have). Nothing is stored or audited:
    a draft is no deliverable."""
    import hashlib

    org_id = _branding_org(session, principal, org_id)
    doc, version = _template(session, principal, template_doc_id)
    inputs = _inputs(session, doc, version, org_id, overrides)
    key = hashlib.sha256(f"draft-preview:{PREVIEW_DPI}:{inputs.cache_key}".encode()).hexdigest()
    return DraftPlan(key=key, inputs=inputs,
                     template_ref=(version.storage_key, version.storage_version_id, version.size),
                     template_doc_id=template_doc_id, org_id=None if org_id == principal.org_id else org_id)


def draft_path(key: str) -> Path:
    """Where the draft preview named ``key`` is (or would be) kept."""
    return _preview_dir() / f"{_DRAFT_PREFIX}{key}.png"


@contextmanager
def _draft_key_lock(key: str) -> Iterator[None]:
    """Hold the one lock of draft ``key`` (made on first use, dropped with its last user)."""
    with _draft_key_guard:
        entry = _draft_key_locks.setdefault(key, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _draft_key_guard:
            entry[1] -= 1
            if not entry[1]:
                del _draft_key_locks[key]


def render_draft(plan: DraftPlan, still_wanted: Callable[[], bool] | None = None) -> Path | None:
    """Page 1 of the planned PDF as a PNG: from the cache when rendered before (no work),
    else made by the engine (DOCX through the LibreOffice pool, like a generation) and
    ``pdftoppm``. Raises the engine's ValidationFailed / KbError, or ``cobrand.preview_failed``.

    At most DRAFT_RENDERS_AT_ONCE renders run at once in the process; a render of a key
    already being rendered waits for it and returns its file. ``still_wanted`` is asked
    when a render's turn comes, before any work: False (the caller asked for a newer draft
    meanwhile) skips it and returns None."""
    path = draft_path(plan.key)
    if path.exists():
        return path
    with _draft_key_lock(plan.key):
        if path.exists():  # rendered by the request this one waited for
            return path
        with _draft_slots:
            if still_wanted is not None and not still_wanted():
                return None
            _render_draft_now(plan, path)
    _prune_quietly(path.parent, keep=path)
    return path


def _render_draft_now(plan: DraftPlan, path: Path) -> None:
    import tempfile

    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    store = get_blob_store()
    inputs = plan.inputs
    with tempfile.TemporaryDirectory(dir=folder, prefix="render-") as tmp:
        work = Path(tmp)
        template = _local_copy(store, *plan.template_ref, work / f"template.{inputs.kind}")
        logo = store.get_bytes(inputs.logo["key"], inputs.logo["version_id"]) if inputs.logo else None
        pdf = work / "draft.pdf"
        _run_engine(template, inputs, logo, pdf, work)
        _render_page_one(pdf, path, work, f"draft of template {inputs.template_document_id}")


def draft_preview(session: Session, principal: Principal, template_doc_id: int,
                  overrides: Mapping[str, object] | None = None, *, org_id: int | None = None) -> Path:
    """Page 1 of the PDF :func:`request` would make now, as a PNG (checked, then rendered;
    a caller that must not hold the database session while rendering uses
    :func:`prepare_draft` and :func:`render_draft`)."""
    return render_draft(prepare_draft(session, principal, template_doc_id, overrides, org_id=org_id))


def draft_signature(token: str, key: str, template_doc_id: int, org_id: int | None = None) -> str:
    """Binds a draft preview to the login session that rendered it, and to the template
    and organisation it was rendered for: the route serves ``key`` only with this
    signature, made from the session's own (secret) token."""
    import hashlib
    import hmac

    message = f"{key}:{int(template_doc_id)}:{'' if org_id is None else int(org_id)}"
    return hmac.new(f"kbportal-draft:{token}".encode(), message.encode(), hashlib.sha256).hexdigest()[:40]


def draft_url(token: str, plan: DraftPlan) -> str:
    """The route address of a rendered draft, for the login session holding ``token``."""
    org = "" if plan.org_id is None else f"&o={plan.org_id}"
    return (f"/api/cobrand/draft/{plan.key}.png?t={plan.template_doc_id}{org}"
            f"&s={draft_signature(token, plan.key, plan.template_doc_id, plan.org_id)}")


def open_draft(session: Session, token: str | None, key: str, signature: str, template_doc_id: int,
               org_id: int | None = None) -> Path:
    """The draft preview ``key`` for the login session holding ``token``: NotFound when that
    session is over, without a valid signature for it (another user's or session's draft),
    for a malformed key, when the file is gone (evicted: the page renders it again on the
    next change), or when the user may no longer use the template or the organisation
    (an audience changed after the draft was rendered): checked again on every request."""
    import hmac
    import re

    from kbportal.services import auth

    if (not token or not re.fullmatch(r"[0-9a-f]{64}", key)
            or not hmac.compare_digest(draft_signature(token, key, template_doc_id, org_id), signature or "")):
        raise NotFound()
    found = auth.resolve_principal(session, token)
    if found is None:
        raise NotFound()
    _branding_org(session, found.principal, org_id)  # NotFound when no longer allowed
    _template(session, found.principal, template_doc_id)
    path = draft_path(key)
    if not path.is_file():
        raise NotFound()
    return path


def prune_previews(folder: Path, *, max_bytes: int = PREVIEW_CACHE_MAX_BYTES,
                   max_age_s: float = PREVIEW_CACHE_MAX_AGE_S, now: float | None = None,
                   keep: Path | None = None) -> list[Path]:
    """Bound a folder of preview PNGs: remove those last written more than ``max_age_s``
    ago, then the oldest until the rest take at most ``max_bytes``. ``keep`` (the one just
    written) stays. Other entries (renders in progress) are left alone. Returns the removed."""
    import time

    now = time.time() if now is None else now
    files = []
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.suffix != ".png" or entry == keep:
            continue
        try:
            info = entry.stat()
        except FileNotFoundError:
            continue
        files.append((info.st_mtime, info.st_size, entry))
    kept_size = 0
    if keep is not None:
        try:
            kept_size = keep.stat().st_size
        except FileNotFoundError:
            pass
    files.sort(key=lambda f: (f[0], f[2].name))  # oldest first
    total = kept_size + sum(size for _, size, _ in files)
    removed = []
    for mtime, size, entry in files:
        if now - mtime <= max_age_s and total <= max_bytes:
            break
        entry.unlink(missing_ok=True)
        total -= size
        removed.append(entry)
    return removed


def _prune_quietly(folder: Path, keep: Path) -> None:
    try:
        prune_previews(folder, keep=keep)
    except OSError:  # a full or read-only disk must not fail the preview itself
        log.warning("could not prune the preview cache %s", folder, exc_info=True)

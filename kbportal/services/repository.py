"""Documents and their immutable versions: upload, publish, roll back, archive, list,
download, and the storage housekeeping (``gc``, ``verify``).

Rules that hold everywhere here:

* Every decision about who may see or change a document comes from ``access``
  (``sql_filter`` for queries, ``can_create_documents`` for new ones); a forbidden
  document answers exactly like a missing one (``NotFound``).
* An upload is checked in two steps. While the uploader waits: size limit, duplicate
  of the latest version, type from its bytes (``sniff``); then its bytes and a
  ``processing`` version row are stored. In a background job (``version_check``):
  soundness, text, page count, thumbnail and light variant in a limited child process
  (``extraction``). Only a ``ready`` version can be published or downloaded;
  "publish" on a processing one happens when it is ready. A file the check rejects
  is removed entirely (row, blob, and the document if it was its first version),
  and the job says why.
* Blobs are written first, rows after (the caller commits). A failure in between
  leaves at worst an orphan blob, which ``gc`` removes; never a row without bytes.
* Versions never change. Publishing points the document at one of them; rolling
  back is publishing an older one. Archiving hides a document from partners.
* Object keys are readable: ``documents/<id>/<file name>``, thumbnails
  ``documents/<id>/thumbs/v<n>.png``, light variants ``documents/<id>/light/<file name>``,
  translations ``documents/<id>/variants/v<n>/<lang>/<file name>`` (``variants``);
  the store keeps every version of a key, the row records which one is its own.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, case, exists, false, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from kbportal.config import get_settings
from kbportal.models import (AuditEvent, DocType, Document, DocumentTag, DocumentVariant, DocumentVersion, GeneratedPdf,
                             Organisation, OrgBranding, Region, Status, Tier, User, VariantState, VersionState)
from kbportal.services import access, audit, filenames, indexing, jobs, sniff
from kbportal.services.access import Action, AudienceRule, Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.services.sniff import KNOWN_EXTENSIONS, Kind
from kbportal.services.validation import clean_text
from kbportal.storage import BlobNotFound, BlobStore, StorageError, StoredBlob, get_blob_store
from kbportal.timeutil import utcnow

MB = 1024 * 1024
PREFIX = "documents/"
NEW_DAYS = 14  # "new" and "updated" badges
LIGHT_MIN_BYTES = 5 * MB  # PDFs above this also get a light variant
CHECK_JOB = "document.check"  # the background check of a new version (see version_check)
MAX_TAGS = 20
MAX_DESCRIPTION = 5000
SORTS = ("updated", "title", "published", "size")
VARIANTS = ("original", "light")
_UNSET: Any = object()
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Upload:
    """An uploaded file on disk (the caller owns and deletes it) and the name it came with."""

    path: Path
    filename: str


@dataclass(frozen=True)
class VersionRef:
    document_id: int
    number: int
    job_id: int | None = None  # the background check of a new upload
    pending_check: bool = False  # publish asked for while the check still runs: happens when it passes


@dataclass
class DocumentFilters:
    query: str = ""
    doc_type: str = ""
    product: str = ""
    language: str = ""
    tag: str = ""
    status: str = ""  # draft | published | archived | expired (staff); "" = any the user may see
    sort: str = "updated"  # updated | title | published | size
    page: int = 0
    page_size: int = 24
    reader_language: str = ""  # cards carry the title of a ready translation into this language


@dataclass(frozen=True)
class DocumentCard:
    id: int
    title: str
    doc_type: str
    product: str
    language: str
    tags: list[str]
    status: str  # "expired" when published but past its expiry date
    version_number: int  # partners: the published version; staff: the latest
    size: int
    page_count: int
    mime_type: str
    has_thumbnail: bool
    updated_at: datetime
    published_at: datetime | None
    is_new: bool  # first published within NEW_DAYS
    is_updated: bool  # a newer version published within NEW_DAYS after an earlier publication
    light_size: int
    # The reader's language, when the document has a ready translation into it (filters.reader_language):
    local_title: str = ""
    local_language: str = ""
    local_kind: str = ""  # machine | reviewed | human
    local_stale: bool = False


@dataclass(frozen=True)
class VersionInfo:
    number: int
    label: str
    note: str
    filename: str
    size: int
    mime_type: str
    page_count: int
    sha256: str
    created_at: datetime
    author_name: str
    is_published: bool
    light_size: int
    has_thumbnail: bool = False
    state: str = VersionState.READY.value  # processing: the background check still runs (or must be retried)
    publish_pending: bool = False  # published as soon as the check passes
    check_job_id: int | None = None  # the check of a processing version
    check_state: str = ""  # its job's state: queued, running, or failed (an outage: it can be retried)


@dataclass(frozen=True)
class DocumentDetail(DocumentCard):
    description: str = ""
    audience: AudienceRule | None = None  # only for users who may edit the document
    expires_at: datetime | None = None
    created_at: datetime | None = None
    versions: list[VersionInfo] = field(default_factory=list)  # oldest first; partners: the published one
    published_number: int | None = None
    can_edit: bool = False


@dataclass(frozen=True)
class DocumentPage:
    items: list[DocumentCard]
    total: int
    facets: dict[str, list[tuple[str, int]]]


@dataclass(frozen=True)
class DownloadTarget:
    document_id: int
    number: int
    key: str
    storage_version_id: str
    size: int
    filename: str
    mime_type: str
    etag: str  # the version's sha256 (thumbnails: "<sha256>-thumb")
    variant: str = "original"  # original | light | thumbnail


@dataclass(frozen=True)
class BlobRef:
    key: str
    version_id: str
    size: int


@dataclass(frozen=True)
class GcReport:
    dry_run: bool
    scanned: int
    referenced: int
    removed: list[BlobRef]  # removed, or (dry run) that would be
    kept_recent: int  # unreferenced but younger than the grace period
    bytes_removed: int


@dataclass(frozen=True)
class VerifyProblem:
    document_id: int
    number: int
    part: str  # original | thumbnail | light
    key: str
    version_id: str
    problem: str  # missing | hash_mismatch | size_mismatch | unreadable
    detail: str = ""


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    problems: list[VerifyProblem]
    cache_copies_dropped: int = 0  # local read-cache copies that no longer matched (removed, not a problem)

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------- small helpers


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.utcoffset() is not None else value.replace(tzinfo=timezone.utc)


def _store() -> BlobStore:
    return get_blob_store()


def work_base() -> Path:
    """Where file checks unpack their temporary files."""
    return get_settings().resolved_data_dir / "tmp" / "extract"


def _audience_dict(rule: AudienceRule | None) -> dict | None:
    if rule is None:
        return None
    return {"all_regions": rule.all_regions, "regions": sorted(rule.regions), "min_tier": rule.min_tier,
            "org_ids": sorted(rule.org_ids)}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MB chunks (uploads, verify, co-branded PDFs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MB):
            digest.update(chunk)
    return digest.hexdigest()


def _light_filename(filename: str) -> str:
    stem, ext = filenames.split_extension(filename)
    return f"{stem} (light){ext}"


# --------------------------------------------------------------------------- validation


def _clean_title(value: str | None) -> str:
    return clean_text(value, "title", min_len=1, max_len=200)


def _clean_description(value: str | None) -> str:
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable() or ch == " ").strip()
    if len(text) > MAX_DESCRIPTION:
        raise ValidationFailed("validation.too_long", field="description", max=MAX_DESCRIPTION)
    return text


def _clean_doc_type(value: str | None) -> str:
    doc_type = (value or DocType.OTHER.value).strip().lower()
    if doc_type not in {t.value for t in DocType}:
        raise ValidationFailed("doc.unknown_type", field="doc_type", doc_type=doc_type,
                               known=", ".join(t.value for t in DocType))
    return doc_type


def _clean_product(value: str | None) -> str:
    return clean_text(value, "product", max_len=120)


def _clean_tags(values: Iterable[str] | None) -> list[str]:
    tags: list[str] = []
    seen: set[str] = set()
    for raw in values or ():
        tag = clean_text(raw, "tags", max_len=60)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed("doc.too_many_tags", field="tags", max=MAX_TAGS)
    return tags


def _clean_language(value: str | None) -> str:
    code = (value or "en").strip().replace("_", "-")
    if not _LANGUAGE.match(code) or len(code) > 10:
        raise ValidationFailed("doc.unknown_language", field="source_language", code=code)
    first, *rest = code.split("-")
    return "-".join([first.lower(), *(p.upper() if len(p) == 2 else p for p in rest)])


def _clean_short(value: str | None, name: str, max_len: int) -> str:
    return clean_text(value, name, max_len=max_len)


def _clean_note(value: str | None) -> str:
    text = _clean_description(value)
    if len(text) > 2000:
        raise ValidationFailed("validation.too_long", field="note", max=2000)
    return text


def expiry_from_date(day: date) -> datetime:
    """The moment a document set to expire on ``day`` disappears: the end of that day (UTC)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.utc)


def last_visible_day(expires_at: datetime | None) -> date | None:
    """The date a form shows for an expiry: the last day partners still see the document."""
    if expires_at is None:
        return None
    return (_aware(expires_at) - timedelta(microseconds=1)).date()


def _clean_expiry(value: datetime | date | None, now: datetime) -> datetime | None:
    """A ``date`` means "visible through that day"; a ``datetime`` is exact (naive = UTC)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else expiry_from_date(value)
    moment = _aware(moment)
    if moment <= now:
        raise ValidationFailed("doc.expiry_in_past", field="expires")
    return moment


def _check_audience(session: Session, rule: AudienceRule) -> AudienceRule:
    regions = frozenset(r.strip().upper() for r in rule.regions if r and r.strip())
    if not rule.all_regions:
        for region in sorted(regions):
            if session.get(Region, region) is None:
                known = ", ".join(r.code for r in session.exec(select(Region).order_by(Region.code)))
                raise ValidationFailed("org.unknown_region", field="audience", region=region, known=known)
    min_tier = (rule.min_tier or "").strip().lower() or None
    if min_tier is not None and session.get(Tier, min_tier) is None:
        known = ", ".join(t.code for t in session.exec(select(Tier).order_by(col(Tier.rank))))
        raise ValidationFailed("org.unknown_tier", field="audience", tier=min_tier, known=known)
    org_ids = frozenset(int(o) for o in rule.org_ids)
    if org_ids:
        found = set(session.exec(select(Organisation.id).where(col(Organisation.id).in_(sorted(org_ids)))))
        if found != org_ids:
            raise ValidationFailed("doc.unknown_org", field="audience")
    return AudienceRule(all_regions=rule.all_regions, regions=frozenset() if rule.all_regions else regions,
                        min_tier=min_tier, org_ids=org_ids)


# --------------------------------------------------------------------------- lookups


def _visible(session: Session, principal: Principal, doc_id: int, action: Action) -> Document | None:
    return session.exec(
        select(Document).where(Document.id == doc_id, access.sql_filter(principal, action, Document))
    ).first()


def _editable(session: Session, principal: Principal, doc_id: int) -> Document:
    doc = session.exec(
        select(Document)
        .where(Document.id == doc_id, access.sql_filter(principal, Action.EDIT, Document))
        .with_for_update()
    ).first()
    if doc is None:
        raise NotFound()
    return doc


def _may_edit(session: Session, principal: Principal, doc_id: int) -> bool:
    return session.exec(
        select(Document.id).where(Document.id == doc_id, access.sql_filter(principal, Action.EDIT, Document))
    ).first() is not None


def _versions(session: Session, doc_id: int) -> list[DocumentVersion]:
    return list(session.exec(
        select(DocumentVersion).where(DocumentVersion.document_id == doc_id).order_by(col(DocumentVersion.number))))


def _version(session: Session, doc_id: int, number: int) -> DocumentVersion | None:
    return session.exec(
        select(DocumentVersion).where(DocumentVersion.document_id == doc_id, DocumentVersion.number == number)
    ).first()


def _latest(session: Session, doc_id: int) -> DocumentVersion | None:
    return session.exec(
        select(DocumentVersion).where(DocumentVersion.document_id == doc_id)
        .order_by(col(DocumentVersion.number).desc()).limit(1)
    ).first()


def _tags_of(session: Session, doc_ids: Sequence[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {i: [] for i in doc_ids}
    if doc_ids:
        rows = session.exec(select(DocumentTag).where(col(DocumentTag.document_id).in_(list(doc_ids))))
        for row in rows:
            tags[row.document_id].append(row.tag)
    return {i: sorted(t, key=str.casefold) for i, t in tags.items()}


# --------------------------------------------------------------------------- uploads


@dataclass(frozen=True)
class _Accepted:
    """An upload that passed the quick checks done while the uploader waits: size, type
    from its bytes, name. Parsing it (soundness, text, thumbnail) is the background check's job."""

    path: Path
    filename: str
    size: int
    kind: Kind


def _check_upload(upload: Upload) -> int:
    try:
        size = os.stat(upload.path).st_size
    except OSError:
        raise ValidationFailed("doc.file_missing", field="file") from None
    max_mb = get_settings().max_upload_mb
    if size > max_mb * MB:
        raise ValidationFailed("upload.too_large", field="file", max_mb=max_mb)
    if size == 0:
        raise ValidationFailed("doc.empty", field="file")
    return size


def _accept(upload: Upload, size: int) -> _Accepted:
    name = filenames.sanitize(upload.filename)
    try:
        kind = sniff.sniff(Path(upload.path), name)
    except sniff.Rejected as refusal:
        raise ValidationFailed(refusal.code, field="file", **refusal.params) from None
    name = filenames.with_extension(name, kind.extensions, KNOWN_EXTENSIONS)
    return _Accepted(path=Path(upload.path), filename=name, size=size, kind=kind)


def _put(store: BlobStore, key: str, path: Path, content_type: str, expected_size: int | None = None) -> StoredBlob:
    blob = store.put_file(key, path, content_type)
    if expected_size is not None and blob.size != expected_size:
        raise ValidationFailed("doc.upload_changed", field="file")
    return blob


def _put_bytes(store: BlobStore, key: str, data: bytes, content_type: str, sha256: str) -> StoredBlob:
    return store.put_bytes(key, data, content_type, sha256=sha256)


# Files up to this size are read into memory once: the put sends them in one piece, so
# its thread hardly needs the GIL and the request thread writes the rows meanwhile.
IN_MEMORY_PUT_BYTES = 8 * MB

# Blob puts run here while the request thread writes the upload's rows (and hashes a large file).
_PUTS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kbportal-put")


def _store_version(session: Session, doc_id: int, number: int, accepted: _Accepted, author_id: int | None,
                   label: str, note: str, publish: bool,
                   meanwhile: Callable[[str], None] | None = None) -> tuple[DocumentVersion, int]:
    """Write the blob and add the version row and its check job (flushed; the caller commits).

    The put runs on a pool thread. A small file (up to ``IN_MEMORY_PUT_BYTES``) is read
    once into memory and hashed; the put sends it in one piece, signed with that hash
    (the S3 client would otherwise hash the same bytes again), and this thread writes the
    rows meanwhile. A larger file streams from disk in parts; its put
    thread reads and sends in many small steps, each needing the GIL, so ORM work done
    meanwhile would slow both (measured: ~1 ms more per statement): only the hash
    (hashlib lets go of the GIL) overlaps that put, the rows follow it. ``meanwhile``
    runs with the digest (it may refuse the upload by raising: an identical re-upload).
    Never a committed row without bytes: the rows are committed by the caller only after
    the put returned, and when anything fails after the put began, the new blob is
    removed again.
    """
    key = f"{PREFIX}{doc_id}/{accepted.filename}"
    store = _store()
    in_memory = accepted.size <= IN_MEMORY_PUT_BYTES
    if in_memory:
        data = accepted.path.read_bytes()
        if len(data) != accepted.size:
            raise ValidationFailed("doc.upload_changed", field="file")
        digest = hashlib.sha256(data).hexdigest()  # the put is signed with it: hashed once, not twice
        pending = _PUTS.submit(_put_bytes, store, key, data, accepted.kind.mime_type, digest)
        del data
    else:
        pending = _PUTS.submit(_put, store, key, accepted.path, accepted.kind.mime_type, accepted.size)
    version = job = None
    try:
        if not in_memory:
            digest = sha256_file(accepted.path)  # hashlib lets go of the GIL: this overlaps the put
            blob = pending.result()
        if meanwhile is not None:
            meanwhile(digest)
        version = DocumentVersion(
            document_id=doc_id, number=number, label=label, note=note, filename=accepted.filename,
            storage_key=key, storage_version_id="" if in_memory else blob.version_id, sha256=digest,
            size=accepted.size, mime_type=accepted.kind.mime_type, author_id=author_id,
            state=VersionState.PROCESSING.value, publish_when_ready=publish,
        )
        session.add(version)
        session.flush()
        job = jobs.enqueue(session, CHECK_JOB, subject_type="document_version", subject_id=version.id,
                           payload={"version_id": version.id}, created_by=author_id)
        if in_memory:
            version.storage_version_id = pending.result().version_id
            session.add(version)
            session.flush()
    except BaseException:
        _undo_put(store, key, pending)
        _forget_rows(session, job, version)
        raise
    assert job.id is not None
    return version, job.id


def _forget_rows(session: Session, *rows) -> None:
    """Take back rows flushed for an upload that failed, so that even a caller who commits
    anyway keeps nothing half-made (a caller who rolls back loses them regardless)."""
    try:
        for row in rows:
            if row is not None:
                session.delete(row)
        session.flush()
    except Exception:  # noqa: BLE001 - the session is unusable: the caller's rollback undoes them
        pass


def _undo_put(store: BlobStore, key: str, pending: Future) -> None:
    """Remove the blob a failed upload wrote (if its put succeeded); never raises, gc is the backstop."""
    try:
        blob = pending.result()
    except BaseException:  # the put failed itself: nothing was written
        return
    try:
        store.delete_version(key, blob.version_id)
    except Exception:  # noqa: BLE001 - an orphan for gc, not a reason to hide the real error
        pass


def publish_checked(session: Session, actor: Actor, doc: Document, version: DocumentVersion) -> None:
    """Make a ready version the published one (callers checked the rights)."""
    previous = session.get(DocumentVersion, doc.published_version_id) if doc.published_version_id else None
    now = utcnow()
    doc.published_version_id = version.id
    doc.status = Status.PUBLISHED.value
    doc.published_at = now
    doc.updated_at = now
    session.add(doc)
    session.flush()
    indexing.note_change(session, "document", doc.id)
    from kbportal.services import variants  # variants import this module
    variants.mark_stale_on_publish(session, doc, version)
    audit.record(session, actor, "document.published", "document", doc.id, number=version.number,
                 previous=previous.number if previous else None)


def create_document(
    session: Session, principal: Principal, actor: Actor, upload: Upload, *, title: str, description: str = "",
    doc_type: str = "other", product: str = "", tags: Iterable[str] = (), source_language: str = "en",
    audience: AudienceRule | None = None, expires_at: datetime | date | None = None, label: str = "",
    note: str = "", publish: bool = False,
) -> VersionRef:
    """A new document with its first version (a draft unless ``publish``)."""
    if not access.can_create_documents(principal):
        raise NotFound()
    now = utcnow()
    title = _clean_title(title)
    description = _clean_description(description)
    doc_type = _clean_doc_type(doc_type)
    product = _clean_product(product)
    tag_list = _clean_tags(tags)
    language = _clean_language(source_language)
    rule = _check_audience(session, audience) if audience is not None else None
    expires = _clean_expiry(expires_at, now)
    label = _clean_short(label, "label", 80)
    note = _clean_note(note)
    size = _check_upload(upload)
    accepted = _accept(upload, size)

    doc = Document(title=title, description=description, doc_type=doc_type, product=product,
                   source_language=language, status=Status.DRAFT.value,
                   expires_at=expires, created_by=principal.user_id, created_at=now, updated_at=now)
    session.add(doc)
    session.flush()  # the id names the blob
    assert doc.id is not None

    def meanwhile(digest: str) -> None:  # while the bytes travel to storage
        doc.audience_id = access.save_audience(session, rule) if rule is not None else None
        session.add(doc)
        for tag in tag_list:
            session.add(DocumentTag(document_id=doc.id, tag=tag))

    try:
        version, job_id = _store_version(session, doc.id, 1, accepted, principal.user_id, label, note, publish,
                                         meanwhile=meanwhile)
    except BaseException:
        discard_document(session, doc)
        raise
    # Audited once the bytes are stored (a failed upload leaves no event behind).
    audit.record(session, actor, "document.created", "document", doc.id, title=title, doc_type=doc_type,
                 filename=version.filename, sha256=version.sha256, size=size, mime_type=version.mime_type,
                 audience=_audience_dict(rule), expires_at=expires)
    session.flush()
    return VersionRef(document_id=doc.id, number=1, job_id=job_id)


def discard_document(session: Session, doc: Document) -> None:
    """Remove a document row that never had a usable version (a failed create, or a
    first upload the background check rejected), with its tags and audience."""
    try:
        audience_id = doc.audience_id
        for tag in session.exec(select(DocumentTag).where(DocumentTag.document_id == doc.id)):
            session.delete(tag)
        session.delete(doc)
        session.flush()
        if audience_id is not None:
            from kbportal.models import Audience

            row = session.get(Audience, audience_id)
            if row is not None:
                session.delete(row)
                session.flush()
    except Exception:  # the caller rolls back anyway; never hide the original error
        pass


def add_version(session: Session, principal: Principal, actor: Actor, doc_id: int, upload: Upload, *,
                label: str = "", note: str = "", publish: bool = False) -> VersionRef:
    """A new version of a document; partners keep the published one until this one is published."""
    doc = _visible(session, principal, doc_id, Action.EDIT)
    if doc is None:
        raise NotFound()
    if doc.status == Status.ARCHIVED.value:
        raise ValidationFailed("doc.archived", field="status")
    label = _clean_short(label, "label", 80)
    note = _clean_note(note)
    size = _check_upload(upload)
    accepted = _accept(upload, size)
    doc = _editable(session, principal, doc_id)
    latest = _latest(session, doc.id)
    number = (latest.number if latest else 0) + 1

    def meanwhile(digest: str) -> None:  # while the bytes travel to storage
        if latest is not None and latest.sha256 == digest:
            raise ValidationFailed("doc.duplicate_version", field="file", number=latest.number)
        doc.updated_at = utcnow()
        session.add(doc)

    version, job_id = _store_version(session, doc.id, number, accepted, principal.user_id, label, note, publish,
                                     meanwhile=meanwhile)
    audit.record(session, actor, "document.version_added", "document", doc.id, number=number,
                 filename=version.filename, sha256=version.sha256, size=size, mime_type=version.mime_type,
                 label=label, note=note)
    session.flush()
    return VersionRef(document_id=doc.id, number=number, job_id=job_id)


def check_outcome(session: Session, ref: VersionRef) -> jobs.JobStatus | None:
    """The background check of an upload; raises its refusal (ValidationFailed on the
    "file" field, the uploader's sentence) when the file was rejected."""
    if ref.job_id is None:
        return None
    outcome = jobs.status_unchecked(session, ref.job_id)
    if outcome.state == "failed" and not outcome.retryable:
        raise ValidationFailed(outcome.message_code, field="file", **outcome.message_params)
    return outcome


def publish_version(session: Session, principal: Principal, actor: Actor, doc_id: int, number: int) -> VersionRef:
    """Make version ``number`` the one partners see (an older one: a rollback)."""
    doc = _editable(session, principal, doc_id)
    if doc.status == Status.ARCHIVED.value:
        raise ValidationFailed("doc.archived", field="status")
    version = _version(session, doc.id, number)
    if version is None:
        raise NotFound()
    if version.state != VersionState.READY.value:
        # Still being checked: publish it the moment the check passes.
        if not version.publish_when_ready:
            version.publish_when_ready = True
            session.add(version)
            audit.record(session, actor, "document.publish_requested", "document", doc.id, number=number)
            session.flush()
        check = jobs.latest_for(session, "document_version", version.id, CHECK_JOB) if version.id else None
        return VersionRef(document_id=doc.id, number=number, job_id=check.id if check else None, pending_check=True)
    if doc.published_version_id != version.id or doc.status != Status.PUBLISHED.value:
        publish_checked(session, actor, doc, version)
    return VersionRef(document_id=doc.id, number=number)


def archive_document(session: Session, principal: Principal, actor: Actor, doc_id: int) -> None:
    """Hide a document from partners (nothing is deleted; ``restore_document`` undoes it)."""
    doc = _editable(session, principal, doc_id)
    if doc.status == Status.ARCHIVED.value:
        return
    before = doc.status
    doc.status = Status.ARCHIVED.value
    doc.updated_at = utcnow()
    session.add(doc)
    audit.record(session, actor, "document.archived", "document", doc.id, before=before)
    indexing.note_change(session, "document", doc.id)
    session.flush()


def restore_document(session: Session, principal: Principal, actor: Actor, doc_id: int) -> None:
    """Un-archive: published again if a version was published, else a draft."""
    doc = _editable(session, principal, doc_id)
    if doc.status != Status.ARCHIVED.value:
        return
    doc.status = Status.PUBLISHED.value if doc.published_version_id else Status.DRAFT.value
    doc.updated_at = utcnow()
    session.add(doc)
    audit.record(session, actor, "document.restored", "document", doc.id, after=doc.status)
    indexing.note_change(session, "document", doc.id)
    session.flush()


def update_metadata(
    session: Session, principal: Principal, actor: Actor, doc_id: int, *, title: str | None = None,
    description: str | None = None, doc_type: str | None = None, product: str | None = None,
    tags: Iterable[str] | None = None, source_language: str | None = None,
    expires_at: datetime | date | None = _UNSET, audience: AudienceRule | None = _UNSET,
) -> dict[str, list]:
    """Change what is given (None = keep; for ``expires_at`` and ``audience`` None clears).

    Returns the changes as ``{field: [before, after]}``, which is also what the audit
    event "document.updated" records.
    """
    doc = _editable(session, principal, doc_id)
    now = utcnow()
    changes: dict[str, list] = {}

    def apply(name: str, attr: str, value: Any) -> None:
        before = getattr(doc, attr)
        if value != before:
            changes[name] = [before, value]
            setattr(doc, attr, value)

    if title is not None:
        apply("title", "title", _clean_title(title))
    if description is not None:
        apply("description", "description", _clean_description(description))
    if doc_type is not None:
        apply("doc_type", "doc_type", _clean_doc_type(doc_type))
    if product is not None:
        apply("product", "product", _clean_product(product))
    if source_language is not None:
        apply("source_language", "source_language", _clean_language(source_language))
    if expires_at is not _UNSET:
        current = _aware(doc.expires_at)
        wanted = expires_at if isinstance(expires_at, datetime) or expires_at is None else expiry_from_date(expires_at)
        wanted = _aware(wanted)
        if wanted != current:
            apply("expires_at", "expires_at", _clean_expiry(wanted, now))
    if tags is not None:
        new_tags = _clean_tags(tags)
        old_tags = _tags_of(session, [doc.id])[doc.id]
        if sorted(new_tags, key=str.casefold) != old_tags:
            changes["tags"] = [old_tags, sorted(new_tags, key=str.casefold)]
            for row in session.exec(select(DocumentTag).where(DocumentTag.document_id == doc.id)):
                session.delete(row)
            session.flush()
            for tag in new_tags:
                session.add(DocumentTag(document_id=doc.id, tag=tag))
    if audience is not _UNSET:
        before_rule = access.load_audience(session, doc.audience_id)
        after_rule = _check_audience(session, audience) if audience is not None else None
        if after_rule != before_rule:
            changes["audience"] = [_audience_dict(before_rule), _audience_dict(after_rule)]
            doc.audience_id = (access.save_audience(session, after_rule, doc.audience_id)
                               if after_rule is not None else None)
    if changes:
        doc.updated_at = now
        session.add(doc)
        audit.record(session, actor, "document.updated", "document", doc.id, changes=changes)
        indexing.note_change(session, "document", doc.id)
        session.flush()
    return changes


# --------------------------------------------------------------------------- reading


def _shown_version_id(principal: Principal):
    """Per row: the latest version for users who may edit the document, else the published one."""
    latest = (
        select(DocumentVersion.id)
        .where(DocumentVersion.document_id == Document.id)
        .order_by(col(DocumentVersion.number).desc())
        .limit(1)
        .correlate(Document)
        .scalar_subquery()
    )
    return case((access.sql_filter(principal, Action.EDIT, Document), latest), else_=Document.published_version_id)


def _status_condition(status: str, now: datetime):
    not_expired = or_(col(Document.expires_at).is_(None), col(Document.expires_at) > now)
    if status == Status.PUBLISHED.value:
        return (Document.status == Status.PUBLISHED.value) & not_expired
    if status == Status.EXPIRED.value:
        return or_(Document.status == Status.EXPIRED.value,
                   (Document.status == Status.PUBLISHED.value) & (col(Document.expires_at) <= now))
    if status in (Status.DRAFT.value, Status.ARCHIVED.value):
        return Document.status == status
    return false()


def _conditions(principal: Principal, filters: DocumentFilters, now: datetime, skip: str = "") -> list:
    conds: list = [access.sql_filter(principal, Action.VIEW, Document, now)]
    query = " ".join((filters.query or "").split()).lower()
    if query:
        tags = aliased(DocumentTag)
        tag_hit = exists().where(tags.document_id == Document.id,
                                 func.lower(tags.tag).contains(query, autoescape=True)).correlate(Document)
        matches = [func.lower(Document.title).contains(query, autoescape=True),
                   func.lower(Document.description).contains(query, autoescape=True),
                   func.lower(Document.product).contains(query, autoescape=True), tag_hit]
        if filters.reader_language:  # the title the reader sees on the card (a translation) matches too
            variant = aliased(DocumentVariant)
            matches.append(exists().where(
                variant.document_id == Document.id, variant.language == filters.reader_language,
                variant.state == VariantState.READY.value,
                func.lower(variant.title).contains(query, autoescape=True)).correlate(Document))
        conds.append(or_(*matches))
    if filters.doc_type and skip != "doc_type":
        conds.append(Document.doc_type == filters.doc_type)
    if filters.product and skip != "product":
        conds.append(Document.product == filters.product)
    if filters.language and skip != "language":
        conds.append(Document.source_language == filters.language)
    if filters.tag and skip != "tag":
        tags = aliased(DocumentTag)
        conds.append(exists().where(tags.document_id == Document.id, tags.tag == filters.tag).correlate(Document))
    if filters.status:
        conds.append(_status_condition(filters.status, now))
    return conds


def _order(sort: str) -> list:
    if sort == "title":
        return [func.lower(Document.title).asc(), col(Document.id).asc()]
    if sort == "published":
        return [col(Document.published_at).desc().nulls_last(), col(Document.id).desc()]
    if sort == "size":
        return [col(DocumentVersion.size).desc().nulls_last(), col(Document.id).desc()]
    return [col(Document.updated_at).desc(), col(Document.id).desc()]


def _publish_history(session: Session, doc_ids: Sequence[int]) -> dict[int, tuple[datetime, int]]:
    """Per document: when it was first published and how many publications there were."""
    if not doc_ids:
        return {}
    rows = session.exec(
        select(AuditEvent.target_id, func.min(AuditEvent.at), func.count())
        .where(AuditEvent.action == "document.published", AuditEvent.target_type == "document",
               col(AuditEvent.target_id).in_([str(i) for i in doc_ids]))
        .group_by(AuditEvent.target_id)
    )
    history: dict[int, tuple[datetime, int]] = {}
    for target_id, first, count in rows:
        if isinstance(first, str):
            first = datetime.fromisoformat(first)
        history[int(target_id)] = (_aware(first), int(count))
    return history


def _effective_status(doc: Document, now: datetime) -> str:
    expires = _aware(doc.expires_at)
    if doc.status == Status.PUBLISHED.value and expires is not None and expires <= now:
        return Status.EXPIRED.value
    return doc.status


def _card_fields(doc: Document, version: DocumentVersion | None, tags: list[str],
                 history: tuple[datetime, int] | None, now: datetime) -> dict[str, Any]:
    published_at = _aware(doc.published_at)
    recent = now - timedelta(days=NEW_DAYS)
    first, publications = history if history else (None, 0)
    is_new = first is not None and first >= recent
    is_updated = not is_new and publications > 1 and published_at is not None and published_at >= recent
    return dict(
        id=doc.id, title=doc.title, doc_type=doc.doc_type, product=doc.product, language=doc.source_language,
        tags=tags, status=_effective_status(doc, now), version_number=version.number if version else 0,
        size=version.size if version else 0, page_count=version.page_count if version else 0,
        mime_type=version.mime_type if version else "", has_thumbnail=bool(version and version.thumbnail_key),
        updated_at=_aware(doc.updated_at), published_at=published_at, is_new=is_new, is_updated=is_updated,
        light_size=version.light_size if version else 0,
    )


def _translated_titles(session: Session, ids: list[int], language: str) -> dict[int, dict[str, Any]]:
    """Titles of ready translations into ``language`` of documents already listed for the
    reader (a reader who may see a document may read its translations)."""
    if not ids or not language:
        return {}
    rows = session.exec(
        select(DocumentVariant.document_id, DocumentVariant.title, DocumentVariant.language, DocumentVariant.kind,
               DocumentVariant.stale)
        .join(Document, col(Document.id) == DocumentVariant.document_id)
        .where(col(DocumentVariant.document_id).in_(ids), DocumentVariant.language == language,
               DocumentVariant.state == VariantState.READY.value, DocumentVariant.title != "",
               Document.source_language != language))
    return {doc_id: dict(local_title=title, local_language=lang, local_kind=kind, local_stale=bool(stale))
            for doc_id, title, lang, kind, stale in rows}


def _cards(session: Session, rows: list, now: datetime, reader_language: str) -> list[DocumentCard]:
    """Cards for listed ``(document, version)`` rows: tags, publication history and the
    reader's translated titles fetched once for the whole list."""
    ids = [doc.id for doc, _ in rows]
    tags, history = _tags_of(session, ids), _publish_history(session, ids)
    local = _translated_titles(session, ids, reader_language)
    return [DocumentCard(**_card_fields(doc, version, tags[doc.id], history.get(doc.id), now), **local.get(doc.id, {}))
            for doc, version in rows]


def list_documents(session: Session, principal: Principal, filters: DocumentFilters | None = None) -> DocumentPage:
    """One page of the documents the principal may see, with totals and facet counts
    (all computed over the visible set only)."""
    filters = filters or DocumentFilters()
    now = utcnow()
    page_size = min(max(int(filters.page_size or 24), 1), 200)
    page = max(int(filters.page or 0), 0)
    conds = _conditions(principal, filters, now)

    total = session.exec(select(func.count()).select_from(Document).where(*conds)).one()
    stmt = (
        select(Document, DocumentVersion)
        .outerjoin(DocumentVersion, col(DocumentVersion.id) == _shown_version_id(principal))
        .where(*conds)
        .order_by(*_order(filters.sort if filters.sort in SORTS else "updated"))
        .offset(page * page_size)
        .limit(page_size)
    )
    items = _cards(session, list(session.exec(stmt)), now, filters.reader_language)

    facets: dict[str, list[tuple[str, int]]] = {}
    for name, column in (("doc_type", Document.doc_type), ("product", Document.product),
                         ("language", Document.source_language)):
        counted = session.exec(
            select(column, func.count()).where(*_conditions(principal, filters, now, skip=name))
            .group_by(column).order_by(func.count().desc(), column))
        facets[name] = [(value, int(n)) for value, n in counted if value]
    counted = session.exec(
        select(DocumentTag.tag, func.count(DocumentTag.document_id))
        .join(Document, col(Document.id) == DocumentTag.document_id)
        .where(*_conditions(principal, filters, now, skip="tag"))
        .group_by(DocumentTag.tag).order_by(func.count(DocumentTag.document_id).desc(), DocumentTag.tag))
    facets["tag"] = [(value, int(n)) for value, n in counted if value]
    return DocumentPage(items=items, total=int(total), facets=facets)


def recently_published(session: Session, principal: Principal, *, since: datetime, limit: int = 8,
                       reader_language: str = "") -> list[DocumentCard]:
    """Published documents the principal may see whose latest publication is at or after
    ``since``, newest first (what's new: new documents and new versions)."""
    now = utcnow()
    conds = [*_conditions(principal, DocumentFilters(status="published"), now), Document.published_at >= since]
    rows = list(session.exec(
        select(Document, DocumentVersion)
        .outerjoin(DocumentVersion, col(DocumentVersion.id) == Document.published_version_id)
        .where(*conds).order_by(*_order("published")).limit(max(1, min(int(limit), 100)))))
    return _cards(session, rows, now, reader_language)


def count_published_since(session: Session, principal: Principal, since: datetime) -> int:
    """How many documents the principal may see were published (or published again) after ``since``."""
    conds = [*_conditions(principal, DocumentFilters(status="published"), utcnow()), Document.published_at > since]
    return int(session.exec(select(func.count()).select_from(Document).where(*conds)).one())


def get_document(session: Session, principal: Principal, doc_id: int) -> DocumentDetail:
    """Everything about one document the principal may see; NotFound when missing or forbidden."""
    doc = _visible(session, principal, doc_id, Action.VIEW)
    if doc is None:
        raise NotFound()
    now = utcnow()
    can_edit = _may_edit(session, principal, doc.id)
    all_versions = _versions(session, doc.id)
    published = next((v for v in all_versions if v.id == doc.published_version_id), None)
    versions = all_versions if can_edit else [v for v in all_versions if v is published]
    shown = (all_versions[-1] if all_versions else None) if can_edit else published
    author_ids = {v.author_id for v in versions if v.author_id is not None}
    names = {uid: name for uid, name in session.exec(
        select(User.id, User.name).where(col(User.id).in_(sorted(author_ids))))} if author_ids else {}
    tags = _tags_of(session, [doc.id])[doc.id]
    history = _publish_history(session, [doc.id]).get(doc.id)
    checks = {v.id: jobs.latest_for(session, "document_version", v.id, CHECK_JOB)
              for v in versions if v.state != VersionState.READY.value and v.id is not None}
    return DocumentDetail(
        **_card_fields(doc, shown, tags, history, now),
        description=doc.description,
        audience=access.load_audience(session, doc.audience_id) if can_edit else None,
        expires_at=_aware(doc.expires_at),
        created_at=_aware(doc.created_at),
        versions=[VersionInfo(
            number=v.number, label=v.label, note=v.note, filename=v.filename, size=v.size, mime_type=v.mime_type,
            page_count=v.page_count, sha256=v.sha256, created_at=_aware(v.created_at),
            author_name=names.get(v.author_id, ""), is_published=v is published, light_size=v.light_size,
            has_thumbnail=bool(v.thumbnail_key), state=v.state, publish_pending=v.publish_when_ready,
            check_job_id=(checks[v.id].id if checks.get(v.id) else None),
            check_state=(checks[v.id].state if checks.get(v.id) else "")) for v in versions],
        published_number=published.number if published else None,
        can_edit=can_edit,
    )


_FILE_COLUMNS = ("number", "storage_key", "storage_version_id", "size", "filename", "mime_type", "sha256",
                 "light_key", "light_version_id", "light_size", "thumbnail_key", "thumbnail_version_id")


@dataclass(frozen=True)
class _VersionFiles:
    """Where a version's bytes (and light copy and thumbnail) are: what downloads need."""

    number: int
    storage_key: str
    storage_version_id: str
    size: int
    filename: str
    mime_type: str
    sha256: str
    light_key: str | None
    light_version_id: str | None
    light_size: int | None
    thumbnail_key: str | None
    thumbnail_version_id: str | None

    @classmethod
    def of(cls, version: DocumentVersion) -> "_VersionFiles":
        return cls(*(getattr(version, name) for name in _FILE_COLUMNS))


@lru_cache(maxsize=2048)
def _published_files_query(principal: Principal):
    """Built once per principal (statement building cost more than running it): the
    published version of ``:doc_id`` if the policy lets the principal download it at ``:now``."""
    return (
        select(*(getattr(DocumentVersion, name) for name in _FILE_COLUMNS))
        .join(Document, col(Document.published_version_id) == DocumentVersion.id)
        .where(Document.id == bindparam("doc_id"),
               access.sql_filter(principal, Action.DOWNLOAD, Document, now=bindparam("now")))
    )


def _downloadable_version(session: Session, principal: Principal, doc_id: int, number: int | None) -> _VersionFiles:
    if not access.may_ever(principal, Action.EDIT):  # partners: the published version, one query
        row = session.connection().execute(_published_files_query(principal),
                                           {"doc_id": doc_id, "now": utcnow()}).first()
        if row is None or (number is not None and row.number != number):
            raise NotFound()
        return _VersionFiles(*row)
    doc = _visible(session, principal, doc_id, Action.DOWNLOAD)
    if doc is None:
        raise NotFound()
    if _may_edit(session, principal, doc.id):
        version = _version(session, doc.id, number) if number is not None else _latest(session, doc.id)
    else:
        version = session.get(DocumentVersion, doc.published_version_id) if doc.published_version_id else None
        if version is not None and number is not None and version.number != number:
            version = None
    if version is None or version.document_id != doc.id:
        raise NotFound()
    return _VersionFiles.of(version)


def open_download(session: Session, principal: Principal, doc_id: int, number: int | None = None,
                  variant: str = "original") -> DownloadTarget:
    """Where the bytes of a version are. Partners: only the published version; users who may
    edit: any (default the latest). ``variant="light"`` only where a light copy exists."""
    if variant not in VARIANTS:
        raise NotFound()
    version = _downloadable_version(session, principal, doc_id, number)
    if variant == "light":
        if not version.light_key:
            raise NotFound()
        return DownloadTarget(document_id=doc_id, number=version.number, key=version.light_key,
                              storage_version_id=version.light_version_id, size=version.light_size,
                              filename=_light_filename(version.filename), mime_type="application/pdf",
                              etag=version.sha256, variant="light")
    return DownloadTarget(document_id=doc_id, number=version.number, key=version.storage_key,
                          storage_version_id=version.storage_version_id, size=version.size,
                          filename=version.filename, mime_type=version.mime_type, etag=version.sha256)


def open_thumbnail(session: Session, principal: Principal, doc_id: int,
                   number: int | None = None) -> DownloadTarget | None:
    """The first-page PNG of a version, None when it has none (NotFound when not visible)."""
    version = _downloadable_version(session, principal, doc_id, number)
    if not version.thumbnail_key:
        return None
    store = _store()
    local = store.local_path(version.thumbnail_key, version.thumbnail_version_id)
    try:
        size = local.stat().st_size if local is not None else None
    except OSError:  # evicted meanwhile
        size = None
    if size is None:
        size = store.stat(version.thumbnail_key, version.thumbnail_version_id).size
    stem, _ = filenames.split_extension(version.filename)
    return DownloadTarget(document_id=doc_id, number=version.number, key=version.thumbnail_key,
                          storage_version_id=version.thumbnail_version_id, size=size,
                          filename=f"{stem}-v{version.number}.png", mime_type="image/png",
                          etag=f"{version.sha256}-thumb", variant="thumbnail")


def record_download(session: Session, principal: Principal, actor: Actor, target: DownloadTarget) -> None:
    """Audit one download: who (user and organisation), which document, version and variant."""
    audit.record(session, actor, "document.downloaded", "document", target.document_id,
                 user_id=principal.user_id, org_id=principal.org_id, version=target.number, variant=target.variant,
                 size=target.size)


# --------------------------------------------------------------------------- housekeeping


def _referenced(session: Session) -> set[tuple[str, str]]:
    refs: set[tuple[str, str]] = set()
    rows = session.exec(select(DocumentVersion.storage_key, DocumentVersion.storage_version_id,
                               DocumentVersion.thumbnail_key, DocumentVersion.thumbnail_version_id,
                               DocumentVersion.light_key, DocumentVersion.light_version_id))
    for key, vid, tkey, tvid, lkey, lvid in rows:
        refs.add((key, vid))
        if tkey:
            refs.add((tkey, tvid))
        if lkey:
            refs.add((lkey, lvid))
    # Translated DOCX files and uploaded localized files of variants (services/variants.py).
    refs.update((key, vid) for key, vid in session.exec(
        select(DocumentVariant.storage_key, DocumentVariant.storage_version_id).where(DocumentVariant.storage_key != "")))
    # Organisations' current logos (older ones are no longer used) and co-branded PDFs.
    refs.update((key, vid) for key, vid in session.exec(
        select(OrgBranding.logo_key, OrgBranding.logo_version_id).where(OrgBranding.logo_key != "")))
    refs.update((key, vid) for key, vid in session.exec(
        select(GeneratedPdf.storage_key, GeneratedPdf.storage_version_id)))
    return refs


# What gc sweeps: every prefix kbportal writes blobs under, whose rows ``_referenced`` reads.
GC_PREFIXES = (PREFIX, "branding/", "generated/")


def gc(session: Session, dry_run: bool = False, grace: timedelta = timedelta(hours=1),
       store: BlobStore | None = None) -> GcReport:
    """Remove blob versions under ``GC_PREFIXES`` that no row references (originals,
    thumbnails, light and translated variants, logos, co-branded PDFs). Blobs younger than ``grace`` are kept (an
    upload may be between writing its blob and committing its row); a blob whose age the
    store does not report counts as young unless ``grace`` is zero."""
    store = store or _store()
    refs = _referenced(session)
    cutoff = utcnow() - grace
    scanned = kept = removed_bytes = 0
    removed: list[BlobRef] = []
    for blob in [b for prefix in GC_PREFIXES for b in store.list_versions(prefix)]:
        scanned += 1
        if (blob.key, blob.version_id) in refs:
            continue
        modified = _aware(getattr(blob, "last_modified", None))
        if grace > timedelta(0) and (modified is None or modified > cutoff):
            kept += 1
            continue
        if not dry_run:
            store.delete_version(blob.key, blob.version_id)
        removed.append(BlobRef(key=blob.key, version_id=blob.version_id, size=blob.size))
        removed_bytes += blob.size
    return GcReport(dry_run=dry_run, scanned=scanned, referenced=len(refs), removed=removed, kept_recent=kept,
                    bytes_removed=removed_bytes)


def _hash_blob(store: BlobStore, key: str, version_id: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in store.iter_bytes(key, version_id):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _hash_file(path: Path) -> tuple[str, int]:
    try:
        return sha256_file(path), path.stat().st_size
    except OSError:
        return "", -1


def verify(session: Session, store: BlobStore | None = None) -> VerifyReport:
    """Re-hash every version's bytes from storage; report missing or changed blobs
    (thumbnails and light variants are checked for presence and size)."""
    store = store or _store()
    problems: list[VerifyProblem] = []
    checked = dropped = 0
    cache = getattr(store, "cache", None)  # the S3 store's node-local copies are checked too
    rows = session.exec(select(DocumentVersion).order_by(col(DocumentVersion.document_id),
                                                          col(DocumentVersion.number)))
    for v in rows:
        checked += 1

        def problem(part: str, key: str, vid: str, kind: str, detail: str = "") -> None:
            problems.append(VerifyProblem(document_id=v.document_id, number=v.number, part=part, key=key,
                                          version_id=vid, problem=kind, detail=detail))

        try:
            digest, size = _hash_blob(store, v.storage_key, v.storage_version_id)
        except (BlobNotFound, FileNotFoundError):
            problem("original", v.storage_key, v.storage_version_id, "missing")
        except (StorageError, OSError) as exc:
            problem("original", v.storage_key, v.storage_version_id, "unreadable", str(exc))
        else:
            if size != v.size:
                problem("original", v.storage_key, v.storage_version_id, "size_mismatch",
                        f"expected {v.size} bytes, found {size}")
            elif digest != v.sha256:
                problem("original", v.storage_key, v.storage_version_id, "hash_mismatch",
                        f"expected {v.sha256}, found {digest}")
        if cache is not None and (copy := cache.get(v.storage_key, v.storage_version_id)) is not None:
            if _hash_file(copy) != (v.sha256, v.size):
                cache.discard(v.storage_key, v.storage_version_id)  # downloads fall back to storage
                dropped += 1
        for part, key, vid, size_expected in (("thumbnail", v.thumbnail_key, v.thumbnail_version_id, None),
                                              ("light", v.light_key, v.light_version_id, v.light_size)):
            if not key:
                continue
            try:
                blob = store.stat(key, vid)
            except (BlobNotFound, FileNotFoundError):
                problem(part, key, vid, "missing")
                continue
            except (StorageError, OSError) as exc:
                problem(part, key, vid, "unreadable", str(exc))
                continue
            if size_expected is not None and blob.size != size_expected:
                problem(part, key, vid, "size_mismatch", f"expected {size_expected} bytes, found {blob.size}")
    return VerifyReport(checked=checked, problems=problems, cache_copies_dropped=dropped)

"""The background check of a new document version (job kind ``document.check``).

The upload request stored the bytes and a ``processing`` version row. Here, off the
request path, the stored bytes are read back and checked against the upload's sha256
and size (an upload whose stored copy differs is refused), then the file is opened in a limited child process (``extraction``): a sound
file gets its text, page count, thumbnail and, for big PDFs, a light variant, and
becomes ``ready`` (and published, if that was asked for meanwhile). A file the check
rejects is removed entirely (blob, row, and the document if this was its first
version); the job keeps the reason as a catalogue key, which is what the uploader sees.

Word files (documents and templates) get their thumbnail and real page count from
LibreOffice's PDF of them (``office_thumbnail``), best effort: without LibreOffice, or
when it fails or is too slow, the version is ready without a thumbnail.

Templates (documents of type ``template``) must also be DOCX or PDF with something to
fill in: their fields are detected by the co-branding engine (``cobranding.detect_template``)
and stored on the version; a template the engine cannot use is rejected the same way.

Idempotent: a worker that died half-way leaves the row ``processing`` and the sweep
runs the job again; a row that is already ready or gone is left alone.

Versions checked before Word thumbnails existed (or while LibreOffice was missing) get
theirs from the job ``document.thumbnail_backfill`` (:func:`backfill_thumbnails`):
idempotent, it only touches ready Word versions without a thumbnail.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path

from sqlmodel import col, select

from kbportal.db import session_scope
from kbportal.models import DocType, Document, DocumentVersion, User, VersionState
from kbportal.services import audit, cobranding, extraction, jobs, office_thumbnail, repository
from kbportal.services.audit import Actor
from kbportal.services.errors import ValidationFailed
from kbportal.services.sniff import KINDS
from kbportal.storage import StorageError, get_blob_store

log = logging.getLogger(__name__)

THUMBNAIL_BACKFILL_JOB = "document.thumbnail_backfill"
_OFFICE_MIME_TYPES = {KINDS[kind].mime_type: kind for kind in office_thumbnail.KINDS}


def _fetch(key: str, version_id: str, dest: Path) -> tuple[str, int]:
    """Copy a stored version to ``dest``; returns the sha256 and size of what was read."""
    digest, size = hashlib.sha256(), 0
    with open(dest, "wb") as out:
        for chunk in get_blob_store().iter_bytes(key, version_id):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fetch_verified(key: str, version_id: str, dest: Path, sha256: str, size: int) -> Path:
    """The stored bytes, checked against the hash and size the upload recorded.

    The upload signs its put with its own hash and not every S3 server checks payload
    hashes (SeaweedFS does not), so this first read is where kbportal proves the stored
    bytes are the uploaded ones. A mismatch is read once more (a damaged read is not a
    damaged object) before the upload is refused."""
    for _attempt in range(2):
        if _fetch(key, version_id, dest) == (sha256, size):
            return dest
    log.error("stored bytes of %s (%s) do not match the upload's sha256/size", key, version_id)
    raise ValidationFailed("doc.stored_mismatch", field="file")


def _thumb_key(doc_id: int, number: int) -> str:
    return f"{repository.PREFIX}{doc_id}/thumbs/v{number}.png"


def _actor(user_id: int | None) -> Actor:
    with session_scope() as session:
        return Actor.of(session.get(User, user_id) if user_id else None, ip="job")


@jobs.handler(repository.CHECK_JOB)
def check_version(ctx: jobs.JobContext) -> dict:
    with session_scope() as session:
        version = session.get(DocumentVersion, ctx.payload["version_id"])
        if version is None or version.state == VersionState.READY.value:
            return {}
        key, version_id, filename, size, sha256 = (version.storage_key, version.storage_version_id,
                                                   version.filename, version.size, version.sha256)
        doc_id, number, mime_type = version.document_id, version.number, version.mime_type
        doc = session.get(Document, doc_id)
        is_template = doc is not None and doc.doc_type == DocType.TEMPLATE.value
    ctx.result.update(document_id=doc_id, number=number, filename=filename)
    store = get_blob_store()
    stored: list[tuple[str, str]] = []  # blobs written here, removed again if the row is gone
    with extraction.workdir(repository.work_base()) as work:
        try:
            local = _fetch_verified(key, version_id, work / "upload.bin", sha256, size)
            ctx.progress(15)
            if is_template:  # a template of another type: say so before parsing it
                cobranding.template_kind(mime_type)
            extracted = extraction.extract(local, filename, work)
            template_fields = cobranding.detect_template(local, mime_type, work / "template") if is_template \
                else None
        except ValidationFailed as refusal:
            _reject(ctx, version_id=ctx.payload["version_id"], refusal=refusal)
            raise
        ctx.progress(60)
        if extracted.thumbnail is None and office_thumbnail.supported(extracted.kind.name):
            first = office_thumbnail.render(local, extracted.kind.name, work, label=f"{filename} (document {doc_id})")
            if first is not None:
                extracted = dataclasses.replace(extracted, thumbnail=first.thumbnail,
                                                page_count=first.page_count or extracted.page_count)
        light = None
        if extracted.kind.name == "pdf" and size > repository.LIGHT_MIN_BYTES and not extracted.encrypted:
            light = extraction.make_light_pdf(local, work)
        ctx.progress(85)
        thumb_key = thumb_vid = light_key = light_vid = ""
        light_size = 0
        if extracted.thumbnail is not None:
            thumb_key = _thumb_key(doc_id, number)
            thumb_vid = store.put_file(thumb_key, extracted.thumbnail, "image/png").version_id
            stored.append((thumb_key, thumb_vid))
        if light is not None:
            light_key = f"{repository.PREFIX}{doc_id}/light/{filename}"
            light_blob = store.put_file(light_key, light, "application/pdf")
            light_vid, light_size = light_blob.version_id, light_blob.size
            stored.append((light_key, light_vid))
        # The checked copies are exactly the stored versions: keep them for downloads (S3 read cache).
        store.keep_local(key, version_id, local)
        if thumb_key:
            store.keep_local(thumb_key, thumb_vid, extracted.thumbnail)
        if light is not None:
            store.keep_local(light_key, light_vid, light)

    actor = _actor(ctx.created_by)
    with session_scope() as session:
        version = session.get(DocumentVersion, ctx.payload["version_id"])
        if version is None:  # deleted meanwhile: leave nothing behind
            for blob_key, blob_vid in stored:
                store.delete_version(blob_key, blob_vid)
            return ctx.result
        version.mime_type = extracted.mime_type
        version.page_count = extracted.page_count
        version.text = extracted.text.replace("\x00", "")
        version.thumbnail_key, version.thumbnail_version_id = thumb_key, thumb_vid
        version.light_key, version.light_version_id, version.light_size = light_key, light_vid, light_size
        version.template_fields = template_fields
        version.state = VersionState.READY.value
        session.add(version)
        session.flush()
        doc = session.get(Document, version.document_id)
        if version.publish_when_ready and doc is not None and doc.status != "archived":
            repository.publish_checked(session, actor, doc, version)
            ctx.result["published"] = True
    ctx.result.update(page_count=extracted.page_count)
    if template_fields is not None:
        ctx.result.update(template_fields=list(template_fields["fields"]),
                          has_logo_frame=template_fields["has_logo_frame"])
    return ctx.result


def versions_missing_thumbnails(session) -> list[int]:
    """Ready Word versions without a thumbnail, oldest first."""
    return list(session.exec(
        select(DocumentVersion.id).where(DocumentVersion.state == VersionState.READY.value,
                                         col(DocumentVersion.mime_type).in_(list(_OFFICE_MIME_TYPES)),
                                         DocumentVersion.thumbnail_key == "").order_by(DocumentVersion.id)))


def backfill_thumbnail(version_id: int) -> bool:
    """Give one ready Word version the thumbnail (and page count) its check would give it
    now. True when one was added; a version that has one, is not ready or is gone is left
    alone, and a blob written for a row that changed meanwhile is removed again."""
    with session_scope() as session:
        version = session.get(DocumentVersion, version_id)
        if version is None or version.state != VersionState.READY.value or version.thumbnail_key \
                or version.mime_type not in _OFFICE_MIME_TYPES:
            return False
        key, blob_version, filename = version.storage_key, version.storage_version_id, version.filename
        doc_id, number, kind = version.document_id, version.number, _OFFICE_MIME_TYPES[version.mime_type]
    store = get_blob_store()
    with extraction.workdir(repository.work_base()) as work:
        local = work / "upload.bin"
        _fetch(key, blob_version, local)
        first = office_thumbnail.render(local, kind, work, label=f"{filename} (document {doc_id})")
        if first is None:
            return False
        thumb_key = _thumb_key(doc_id, number)
        thumb_vid = store.put_file(thumb_key, first.thumbnail, "image/png").version_id
        with session_scope() as session:
            version = session.get(DocumentVersion, version_id)
            if version is None or version.thumbnail_key:  # deleted, or given one meanwhile
                store.delete_version(thumb_key, thumb_vid)
                return False
            version.thumbnail_key, version.thumbnail_version_id = thumb_key, thumb_vid
            version.page_count = first.page_count or version.page_count
            session.add(version)
        store.keep_local(thumb_key, thumb_vid, first.thumbnail)
    return True


@jobs.handler(THUMBNAIL_BACKFILL_JOB)
def backfill_thumbnails(ctx: jobs.JobContext) -> dict:
    """Thumbnails for the ready Word versions that have none (see the module doc)."""
    with session_scope() as session:
        missing = versions_missing_thumbnails(session)
    ctx.result.update(missing=len(missing), added=0)
    if missing and not office_thumbnail.libreoffice_available():
        log.warning("%d Word version(s) without a thumbnail: LibreOffice (soffice) is not installed", len(missing))
        return ctx.result
    for done, version_id in enumerate(missing, start=1):
        try:
            if backfill_thumbnail(version_id):
                ctx.result["added"] += 1
        except StorageError as failure:  # one unreadable original does not stop the others
            log.warning("no thumbnail for version %s: %s", version_id, failure)
        ctx.progress(100 * done // len(missing))
    return ctx.result


def _reject(ctx: jobs.JobContext, *, version_id: int, refusal: ValidationFailed) -> None:
    """Remove every trace of a rejected upload; the job keeps the reason."""
    actor = _actor(ctx.created_by)
    with session_scope() as session:
        version = session.get(DocumentVersion, version_id)
        if version is None:
            return
        key, blob_version = version.storage_key, version.storage_version_id
        doc = session.get(Document, version.document_id)
        session.delete(version)
        session.flush()
        audit.record(session, actor, "document.upload_rejected", "document", version.document_id,
                     number=version.number, filename=version.filename, reason=refusal.code)
        others = session.exec(select(DocumentVersion.id).where(DocumentVersion.document_id == version.document_id))
        if doc is not None and others.first() is None:
            repository.discard_document(session, doc)
            ctx.result["document_removed"] = True
    try:
        get_blob_store().delete_version(key, blob_version)
    except Exception:  # noqa: BLE001 - an orphan blob is what gc is for
        log.warning("could not remove rejected blob %s (%s); gc will", key, blob_version)

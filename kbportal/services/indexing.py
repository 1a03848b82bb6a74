"""Keeps the search index in step with the database. The index is derived data.

* :func:`note_change` adds an outbox row in the caller's transaction (so a change and
  its "reindex me" note commit together or not at all) and, once that commits, kicks
  the indexer.
* :func:`apply_outbox` is the indexer: it reads outbox rows, rebuilds the entries of
  each changed object from the database (one per language variant), applies upserts
  and deletes to the index and removes the rows it applied. Idempotent, so a row
  applied twice does no harm. In queue mode it runs on the worker (huey task, also
  every minute as a safety net); in inline mode right after the commit.
* :func:`rebuild` builds a whole new index from the database beside the live one and
  swaps it in (``kbportal reindex``, the admin page, and automatically when the index
  is missing or damaged). Search keeps answering from the old index meanwhile.
* :func:`get_index` is this process's index (one reused searcher per process).

Which rows become entries is decided by builders per kind (``register_builder``):
documents here; KB articles and forum posts register theirs in their own modules.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, event, func
from sqlmodel import Session, col, select

from kbportal.config import get_settings
from kbportal.models import (Document, DocumentTag, DocumentVariant, DocumentVersion, SearchIndexState, SearchOutbox,
                             Status)
from kbportal.services import access
from kbportal.services.search import LANGUAGES, IndexStats, SearchEntry, SearchIndex, make_key, open_index
from kbportal.timeutil import utcnow

log = logging.getLogger(__name__)

BATCH = 500
_PENDING = "kbportal.indexing.kick"


# --------------------------------------------------------------------------- the index of this process

_index_lock = threading.Lock()
_indexes: dict[str, SearchIndex] = {}


def index_path() -> Path:
    return get_settings().resolved_data_dir / "search"


def get_index() -> SearchIndex:
    """The index of the current data dir, opened once per process (never raises)."""
    path = str(index_path())
    with _index_lock:
        index = _indexes.get(path)
        if index is None:
            index = _indexes[path] = open_index(path)
        return index


def forget_indexes() -> None:
    """Close the cached indexes (tests that change the data dir)."""
    with _index_lock:
        for index in _indexes.values():
            try:
                index.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        _indexes.clear()


# --------------------------------------------------------------------------- entry builders

Builder = Callable[[Session, int], list[SearchEntry]]
ManyBuilder = Callable[[Session, list[int]], list[list[SearchEntry]]]
_BUILDERS: dict[str, Builder] = {}
_MANY_BUILDERS: dict[str, ManyBuilder] = {}
_ALL_IDS: dict[str, Callable[[Session], Iterator[int]]] = {}


def register_builder(kind: str, build: Builder, all_ids: Callable[[Session], Iterator[int]],
                     build_many: ManyBuilder | None = None) -> None:
    """``build(session, id)`` gives the object's entries (none: not searchable now);
    ``all_ids(session)`` lists every object of the kind that may be searchable (rebuilds);
    ``build_many(session, ids)`` (optional) gives the same as ``[build(session, id) for id
    in ids]`` with a few queries per batch instead of a few per object (rebuilds)."""
    _BUILDERS[kind] = build
    _ALL_IDS[kind] = all_ids
    if build_many is not None:
        _MANY_BUILDERS[kind] = build_many
    else:
        _MANY_BUILDERS.pop(kind, None)


def document_entries(session: Session, doc_id: int) -> list[SearchEntry]:
    """A published (or expired-but-published) document's published version, in its language."""
    doc = session.get(Document, doc_id)
    if doc is None or doc.status != Status.PUBLISHED.value or doc.published_version_id is None:
        return []
    version = session.get(DocumentVersion, doc.published_version_id)
    if version is None:
        return []
    tags = tuple(session.exec(select(DocumentTag.tag).where(DocumentTag.document_id == doc_id)
                              .order_by(col(DocumentTag.tag))))
    audience = access.load_audience(session, doc.audience_id)
    variants = session.exec(select(DocumentVariant).where(DocumentVariant.document_id == doc_id,
                                                          DocumentVariant.state == "ready")
                            .order_by(col(DocumentVariant.id)))
    return _document_entries(doc, version, tags, audience, variants)


def document_entries_many(session: Session, doc_ids: list[int]) -> list[list[SearchEntry]]:
    """``document_entries`` of each id, loaded with five queries per call (rebuilds)."""
    ids = list(doc_ids)
    if not ids:
        return []
    docs = {d.id: d for d in session.exec(select(Document).where(col(Document.id).in_(ids)))}
    live = [d for d in docs.values() if d.status == Status.PUBLISHED.value and d.published_version_id is not None]
    versions = {v.id: v for v in session.exec(select(DocumentVersion).where(
        col(DocumentVersion.id).in_([d.published_version_id for d in live])))} if live else {}
    live_ids = [d.id for d in live]
    tags: dict[int, list[str]] = {}
    variants: dict[int, list[DocumentVariant]] = {}
    if live_ids:
        for doc_id, tag in session.exec(select(DocumentTag.document_id, DocumentTag.tag)
                                        .where(col(DocumentTag.document_id).in_(live_ids))
                                        .order_by(col(DocumentTag.document_id), col(DocumentTag.tag))):
            tags.setdefault(doc_id, []).append(tag)
        for variant in session.exec(select(DocumentVariant).where(col(DocumentVariant.document_id).in_(live_ids),
                                                                  DocumentVariant.state == "ready")
                                    .order_by(col(DocumentVariant.id))):
            variants.setdefault(variant.document_id, []).append(variant)
    audiences: dict[int | None, access.AudienceRule | None] = {}
    out: list[list[SearchEntry]] = []
    for doc_id in ids:
        doc = docs.get(doc_id)
        if doc is None or doc.status != Status.PUBLISHED.value or doc.published_version_id is None:
            out.append([])
            continue
        version = versions.get(doc.published_version_id)
        if version is None:
            out.append([])
            continue
        if doc.audience_id not in audiences:
            audiences[doc.audience_id] = access.load_audience(session, doc.audience_id)
        out.append(_document_entries(doc, version, tuple(tags.get(doc_id, ())), audiences[doc.audience_id],
                                     variants.get(doc_id, ())))
    return out


def _document_entries(doc: Document, version: DocumentVersion, tags: tuple[str, ...],
                      audience: access.AudienceRule | None, variants) -> list[SearchEntry]:
    doc_id = doc.id
    guarded = access.GuardedObject(status=doc.status, audience=audience, expires_at=doc.expires_at)
    language = (doc.source_language or "en").split("-")[0].lower()
    if language not in LANGUAGES:
        language = "en"
    published = doc.published_at or doc.updated_at
    fields = access.index_fields(guarded)
    entries = [SearchEntry(
        key=make_key("document", doc_id, language), kind="document", object_id=doc_id, language=language,
        title=doc.title, description=doc.description, body=version.text or "", tags=tags, doc_type=doc.doc_type,
        product=doc.product, published_at=_aware(published), updated_at=_aware(doc.updated_at),
        access=fields, source_language=language, url=f"/documents/{doc_id}",
    )]
    # Ready translated variants (also stale ones: partners read them with a notice), under their language.
    for variant in variants:
        if variant.language == language or variant.language not in LANGUAGES:
            continue
        entries.append(SearchEntry(
            key=make_key("document", doc_id, variant.language), kind="document", object_id=doc_id,
            language=variant.language, title=variant.title or doc.title, description=variant.description,
            body=variant.text, tags=tags, doc_type=doc.doc_type, product=doc.product,
            published_at=_aware(published), updated_at=_aware(variant.updated_at), access=fields,
            source_language=language, is_translation=True, url=f"/documents/{doc_id}?lang={variant.language}"))
    return entries


def _document_ids(session: Session) -> Iterator[int]:
    yield from session.exec(select(Document.id).where(Document.status == Status.PUBLISHED.value)
                            .order_by(col(Document.id)))


register_builder("document", document_entries, _document_ids, document_entries_many)


def _aware(value: datetime | None) -> datetime:
    from datetime import timezone

    value = value or utcnow()
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------- noting changes


def note_change(session: Session, kind: str, object_id: int) -> None:
    """In the caller's transaction: this object's search entries must be refreshed."""
    session.add(SearchOutbox(kind=kind, object_id=object_id))
    if not session.info.get(_PENDING):
        session.info[_PENDING] = True
        event.listen(session, "after_commit", _after_commit, once=True)
        event.listen(session, "after_rollback", _after_rollback, once=True)


def _after_commit(session: Session) -> None:
    session.info.pop(_PENDING, None)
    kick()


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def kick() -> None:
    """Have the indexer run soon. Never raises: the outbox keeps the work."""
    try:
        if get_settings().jobs == "inline":
            apply_outbox()
        else:
            from kbportal.services import jobs

            jobs.queue()
            jobs.enqueue_index()
    except Exception:  # noqa: BLE001 - the periodic run picks it up
        log.exception("could not start the indexer")


# --------------------------------------------------------------------------- the indexer

_apply_lock = threading.Lock()


def apply_outbox(max_batches: int | None = None) -> int:
    """Apply pending changes to the index; returns how many outbox rows were applied."""
    from kbportal.db import session_scope

    index = get_index()
    if not index.healthy:
        rebuild()
        return 0
    applied = 0
    with _apply_lock:
        batches = 0
        while max_batches is None or batches < max_batches:
            batches += 1
            with session_scope() as session:
                rows = list(session.exec(select(SearchOutbox).order_by(col(SearchOutbox.id)).limit(BATCH)))
                if not rows:
                    break
                changed = sorted({(r.kind, r.object_id) for r in rows})
                upserts: list[SearchEntry] = []
                deletes: list[str] = []
                for kind, object_id in changed:
                    build = _BUILDERS.get(kind)
                    entries = build(session, object_id) if build else []
                    keep = {e.key for e in entries}
                    upserts.extend(entries)
                    deletes.extend(k for k in (make_key(kind, object_id, lang) for lang in LANGUAGES) if k not in keep)
                ids = [r.id for r in rows]
            try:
                _apply_with_retry(index, upserts, deletes)
            except Exception as exc:  # noqa: BLE001 - recorded for admins; rows stay for the next run
                _record(error=f"{type(exc).__name__}: {exc}")
                raise
            with session_scope() as session:
                session.execute(delete(SearchOutbox).where(col(SearchOutbox.id).in_(ids)))
            applied += len(ids)
        _record(applied=True)
    return applied


def compact() -> None:
    """Merge the index's small segments while the indexer is idle (the periodic run)."""
    index = get_index()
    if index.healthy:
        index.compact()


def _apply_with_retry(index: SearchIndex, upserts: list[SearchEntry], deletes: list[str], attempts: int = 5) -> None:
    """Another process may hold the index's write lock for a moment (a rebuild, the CLI)."""
    for attempt in range(attempts):
        try:
            index.apply(upserts, deletes)
            return
        except Exception as exc:  # noqa: BLE001
            if "Lock" not in type(exc).__name__ or attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def rebuild(progress: Callable[[int, int], None] | None = None) -> int:
    """Build the whole index from the database beside the live one, then swap it in."""
    from kbportal.db import session_scope

    with session_scope() as session:
        targets = [(kind, object_id) for kind, all_ids in _ALL_IDS.items() for object_id in all_ids(session)]
    total = len(targets)

    def entries() -> Iterator[SearchEntry]:
        for start in range(0, total, BATCH):
            with session_scope() as session:
                batch = targets[start:start + BATCH]
                i = 0
                while i < len(batch):  # runs of one kind (targets are listed kind by kind)
                    kind = batch[i][0]
                    j = i
                    while j < len(batch) and batch[j][0] == kind:
                        j += 1
                    ids = [object_id for _, object_id in batch[i:j]]
                    many = _MANY_BUILDERS.get(kind)
                    if many is not None:
                        for built in many(session, ids):
                            yield from built
                    else:
                        for object_id in ids:
                            yield from _BUILDERS[kind](session, object_id)
                    i = j
            if progress:
                progress(min(start + BATCH, total), total)

    with _apply_lock:
        try:
            count = get_index().rebuild(entries())
        except Exception as exc:  # noqa: BLE001
            _record(error=f"{type(exc).__name__}: {exc}")
            raise
        _record(rebuilt=True)
    if progress:
        progress(total, total)
    apply_outbox()  # changes made while the new index was built
    return count


def _record(*, applied: bool = False, rebuilt: bool = False, error: str = "") -> None:
    from kbportal.db import session_scope

    try:
        with session_scope() as session:
            state = session.get(SearchIndexState, 1) or SearchIndexState(id=1)
            now = utcnow()
            if applied:
                state.last_applied_at = now
            if rebuilt:
                state.rebuilt_at = now
                state.last_error, state.last_error_at = "", None
            if error:
                state.last_error, state.last_error_at = error[:2000], now
            session.add(state)
    except Exception:  # noqa: BLE001 - bookkeeping must not hide the real outcome
        log.exception("could not record the indexer state")


REBUILD_JOB = "search.rebuild"


def request_rebuild(session: Session, user_id: int | None) -> int:
    """Queue a rebuild with progress (admin page); returns the job id."""
    from kbportal.services import jobs

    return jobs.enqueue(session, REBUILD_JOB, created_by=user_id).id  # type: ignore[return-value]


def rebuild_pending(session: Session) -> bool:
    from kbportal.models import Job

    return session.exec(select(Job.id).where(Job.kind == REBUILD_JOB, col(Job.state).in_(("queued", "running")))
                        ).first() is not None


def _rebuild_job(ctx) -> dict:
    count = rebuild(progress=lambda done, total: ctx.progress(int(99 * done / max(total, 1))))
    return {"entries": count}


def _register_job() -> None:
    from kbportal.services import jobs

    jobs.handler(REBUILD_JOB)(_rebuild_job)


_register_job()


# --------------------------------------------------------------------------- status for admins


@dataclass(frozen=True)
class IndexStatus:
    pending: int  # changes not yet in the index
    lag_seconds: float  # age of the oldest pending change (0: up to date)
    last_applied_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    rebuilt_at: datetime | None
    stats: IndexStats


def status(session: Session) -> IndexStatus:
    pending, oldest = session.exec(select(func.count(), func.min(SearchOutbox.created_at))).one()
    state = session.get(SearchIndexState, 1) or SearchIndexState(id=1)
    now = utcnow()
    return IndexStatus(
        pending=int(pending or 0),
        lag_seconds=round((now - _aware(oldest)).total_seconds(), 1) if oldest else 0.0,
        last_applied_at=state.last_applied_at, last_error=state.last_error, last_error_at=state.last_error_at,
        rebuilt_at=state.rebuilt_at, stats=get_index().stats(),
    )

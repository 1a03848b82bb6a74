"""What an admin needs to trust the portal at a glance: the search index, the background
jobs and the file storage (the ``/admin/system`` page; ``kbportal doctor`` shares the
index verdict).

Everything is read through the module that owns it (``indexing``, ``jobs``,
``storage``); this module only decides who may look (admins, through the policy) and
what counts as healthy, so the page and the doctor never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from kbportal.config import get_settings
from kbportal.services import access, audit, indexing, jobs
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import NotFound
from kbportal.services.indexing import IndexStatus
from kbportal.services.jobs import JobStatus
from kbportal.storage import StorageError, get_blob_store, uses_embedded_server
from kbportal.timeutil import utcnow

PAGE = "admin_system"
WINDOW = timedelta(hours=24)  # how far back the job figures reach
# The indexer runs right after each change and every minute as a safety net: a change
# waiting longer than this means it is stuck (no worker, or failing on every run).
LAG_WARN_SECONDS = 300.0
FAILED_LIMIT = 50


# --------------------------------------------------------------------------- the index verdict


class IndexHealth(StrEnum):
    OK = "ok"
    LAGGING = "lagging"  # changes wait longer than LAG_WARN_SECONDS
    FAILING = "failing"  # the indexer's last run failed and none succeeded since
    DAMAGED = "damaged"  # missing or unreadable; search degrades until a rebuild


def error_is_current(status: IndexStatus) -> bool:
    """The last error has not been followed by a successful run (a rebuild clears it)."""
    if not status.last_error:
        return False
    if status.last_error_at is None or status.last_applied_at is None:
        return True
    return status.last_error_at >= status.last_applied_at


def index_health(status: IndexStatus) -> IndexHealth:
    """One verdict, worst first."""
    if not status.stats.healthy:
        return IndexHealth.DAMAGED
    if error_is_current(status):
        return IndexHealth.FAILING
    if status.lag_seconds > LAG_WARN_SECONDS:
        return IndexHealth.LAGGING
    return IndexHealth.OK


# --------------------------------------------------------------------------- the overview


@dataclass(frozen=True)
class IndexOverview:
    entries: int  # live entries (one per language variant)
    segments: int
    size_bytes: int
    pending: int  # changes not yet in the index
    lag_seconds: float  # age of the oldest pending change
    last_applied_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    error_current: bool  # False: an older error, resolved by a later successful run
    rebuilt_at: datetime | None
    problem: str  # why the index is damaged ("" when readable)
    health: IndexHealth
    rebuild: JobStatus | None  # the latest rebuild job

    @property
    def healthy(self) -> bool:
        return self.health == IndexHealth.OK

    @property
    def rebuilding(self) -> bool:
        return self.rebuild is not None and not self.rebuild.finished


@dataclass(frozen=True)
class JobsOverview:
    since: datetime
    counts: dict[str, int]  # state -> jobs waiting or running now, or finished since ``since``
    failed: tuple[JobStatus, ...]  # newest first, at most FAILED_LIMIT


class StorageKind(StrEnum):
    EMBEDDED = "embedded"  # the SeaweedFS server kbportal starts itself
    S3 = "s3"  # an external S3-compatible server
    FILESYSTEM = "filesystem"


@dataclass(frozen=True)
class StorageOverview:
    kind: StorageKind
    location: str  # endpoint/bucket, or the folder
    problem: StorageError | None  # the store does not answer (None: it does)
    cache_enabled: bool  # S3 stores keep a local read cache unless KBPORTAL_BLOB_CACHE_MB=0
    cache_files: int = 0
    cache_bytes: int = 0
    cache_max_bytes: int = 0


@dataclass(frozen=True)
class SystemOverview:
    at: datetime
    index: IndexOverview
    jobs: JobsOverview
    storage: StorageOverview


def _require_admin(principal: Principal) -> None:
    if not access.can_open_page(principal, PAGE):
        raise NotFound()


def overview(session: Session, principal: Principal) -> SystemOverview:
    """Index, jobs and storage as they are now. Admins only (anyone else: NotFound)."""
    _require_admin(principal)
    now = utcnow()
    return SystemOverview(at=now, index=_index(session), jobs=_jobs(session, now - WINDOW), storage=_storage())


def rebuild_status(session: Session, principal: Principal) -> JobStatus | None:
    """The latest index rebuild job, whoever started it (cheap: the page polls it)."""
    _require_admin(principal)
    return jobs.latest_of_kind(session, indexing.REBUILD_JOB)


def request_reindex(session: Session, principal: Principal, actor: Actor) -> int:
    """Queue a rebuild of the search index and return its job id. One at a time: while a
    rebuild waits or runs, that job's id is returned and nothing new is queued."""
    _require_admin(principal)
    current = jobs.latest_of_kind(session, indexing.REBUILD_JOB)
    if current is not None and not current.finished:
        return current.id
    job_id = indexing.request_rebuild(session, principal.user_id)
    audit.record(session, actor, "search.reindex_requested", "job", job_id)
    return job_id


def retry_job(session: Session, principal: Principal, actor: Actor, job_id: int) -> None:
    """Queue a failed, retryable job again, whoever started it (admins, from the System page)."""
    _require_admin(principal)
    jobs.retry(session, job_id, principal.user_id, any_owner=True)
    audit.record(session, actor, "job.retried", "job", job_id)


def _index(session: Session) -> IndexOverview:
    status = indexing.status(session)
    stats = status.stats
    return IndexOverview(
        entries=stats.doc_count, segments=stats.segments, size_bytes=stats.size_bytes, pending=status.pending,
        lag_seconds=status.lag_seconds, last_applied_at=status.last_applied_at, last_error=status.last_error,
        last_error_at=status.last_error_at, error_current=error_is_current(status), rebuilt_at=status.rebuilt_at,
        problem=stats.problem, health=index_health(status),
        rebuild=jobs.latest_of_kind(session, indexing.REBUILD_JOB),
    )


def _jobs(session: Session, since: datetime) -> JobsOverview:
    return JobsOverview(since=since, counts=jobs.counts_by_state(session, since),
                        failed=tuple(jobs.failures_since(session, since, FAILED_LIMIT)))


def _storage() -> StorageOverview:
    settings = get_settings()
    if settings.storage == "filesystem":
        kind = StorageKind.FILESYSTEM
    else:
        kind = StorageKind.EMBEDDED if uses_embedded_server() else StorageKind.S3
    try:
        store = get_blob_store()
    except StorageError as exc:  # e.g. the embedded server did not start
        return StorageOverview(kind=kind, location=settings.s3_endpoint or str(settings.resolved_data_dir),
                               problem=exc, cache_enabled=False)
    if kind == StorageKind.FILESYSTEM:
        location = str(getattr(store, "root", ""))
    else:
        location = f"{getattr(store, 'endpoint', '')}/{getattr(store, 'bucket', '')}"
    problem = None
    try:
        store.check()
    except StorageError as exc:
        problem = exc
    cache = getattr(store, "cache", None)
    if cache is None:
        return StorageOverview(kind=kind, location=location, problem=problem, cache_enabled=False)
    files, size = cache.usage()
    return StorageOverview(kind=kind, location=location, problem=problem, cache_enabled=True, cache_files=files,
                           cache_bytes=size, cache_max_bytes=cache.max_bytes)

"""Jobs: slow work runs off the request path; its state lives in the ``job`` table.

A service calls :func:`enqueue` inside its own transaction, so the job row commits
together with the work it belongs to (or not at all). Only after that commit is the
job dispatched:

* ``KBPORTAL_JOBS=queue`` (default): the job id goes to a huey queue (SQLite storage
  in the data dir) and ``kbportal worker`` (started by ``kbportal run``) runs it.
* ``KBPORTAL_JOBS=inline``: it runs right after the commit, in the committing thread
  (tests, the CLI, the smallest installs).

:func:`run` claims the row (queued -> running in one UPDATE, so two workers never run
the same job), calls the handler registered for its kind and records the outcome. A
:class:`KbError` from a handler is final (the input is bad; its catalogue key is the
sentence the user sees). Anything else (storage outage, a crash) is retried with
backoff up to ``MAX_ATTEMPTS``, then recorded as a failure the user may retry.
:func:`sweep` re-queues jobs that a dead worker or a lost queue message left behind,
so the queue is never the only copy of a job.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, or_, update
from sqlmodel import Session, col, select

from kbportal.config import get_settings
from kbportal.models import Job, JobState
from kbportal.services.errors import KbError, NotFound
from kbportal.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_DELAYS = (2, 10, 30)  # seconds before attempt 2, 3, ...
STALE_RUNNING = timedelta(minutes=15)  # a running job this old lost its worker
LOST_QUEUED = timedelta(minutes=1)  # a queued job this old lost its queue message
TRANSIENT_CODE = "job.failed_transient"

_PENDING = "kbportal.jobs.pending"
_LISTENING = "kbportal.jobs.listening"


# --------------------------------------------------------------------------- handlers


@dataclass
class JobContext:
    """What a handler gets: its job's id and payload, and a way to report progress."""

    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    created_by: int | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def progress(self, percent: int) -> None:
        """Record progress (0..100) in its own short transaction, for the UI to poll."""
        from kbportal.db import session_scope

        with session_scope() as session:
            session.execute(update(Job).where(col(Job.id) == self.job_id).values(progress=max(0, min(100, percent))))


Handler = Callable[[JobContext], "dict[str, Any] | None"]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind``. It must be idempotent: a job
    whose worker died is run again."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def _load_handlers() -> None:
    """Import the modules that register handlers (the worker may not have imported them)."""
    from kbportal.services import cobranding, indexing, variants, version_check  # noqa: F401


# --------------------------------------------------------------------------- enqueue and dispatch


def enqueue(session: Session, kind: str, *, subject_type: str = "", subject_id: int | None = None,
            payload: dict[str, Any] | None = None, created_by: int | None = None) -> Job:
    """Add a job to the caller's transaction; it is dispatched once that commits."""
    job = Job(kind=kind, subject_type=subject_type, subject_id=subject_id, payload=json.dumps(payload or {}),
              created_by=created_by)
    session.add(job)
    session.flush()
    assert job.id is not None
    _dispatch_after_commit(session, job.id)
    return job


def _dispatch_after_commit(session: Session, job_id: int) -> None:
    session.info.setdefault(_PENDING, []).append(job_id)
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for job_id in pending:
        dispatch(job_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def dispatch(job_id: int, delay: float = 0) -> None:
    """Hand a committed job to whoever runs jobs. Never raises: a job that could not be
    queued stays ``queued`` in the DB and the sweep queues it again."""
    try:
        if get_settings().jobs == "inline":
            if delay:
                time.sleep(min(delay, 1.0))
            run(job_id)
        else:
            _enqueue_on_queue(job_id, delay)
    except Exception:  # noqa: BLE001 - the row is the truth; the sweep will retry
        log.exception("could not dispatch job %s", job_id)


# --------------------------------------------------------------------------- running


def _claim(job_id: int) -> Job | None:
    from kbportal.db import session_scope

    now = utcnow()
    with session_scope() as session:
        claimed = session.execute(
            update(Job).where(col(Job.id) == job_id, col(Job.state) == JobState.QUEUED.value)
            .values(state=JobState.RUNNING.value, started_at=now, attempts=Job.attempts + 1)
        ).rowcount
        if claimed != 1:
            return None
        return session.get(Job, job_id)


def _finish(job_id: int, **values: Any) -> None:
    from kbportal.db import session_scope

    with session_scope() as session:
        session.execute(update(Job).where(col(Job.id) == job_id).values(**{"finished_at": utcnow(), **values}))


def run(job_id: int) -> str | None:
    """Run one job if it is still queued; returns its new state (None: not ours to run)."""
    _load_handlers()
    job = _claim(job_id)
    if job is None:
        return None
    fn = _HANDLERS.get(job.kind)
    ctx = JobContext(job_id=job_id, kind=job.kind, payload=json.loads(job.payload or "{}"), attempt=job.attempts,
                     created_by=job.created_by)
    try:
        if fn is None:
            raise KbError("job.unknown_kind", kind=job.kind)
        result = fn(ctx) or {}
    except Exception as failure:  # noqa: BLE001 - every failure is recorded, none escapes the worker
        return _failed(job, ctx, failure)
    _finish(job_id, state=JobState.DONE.value, progress=100, result=json.dumps(result, default=str))
    return JobState.DONE.value


def _failed(job: Job, ctx: JobContext, failure: Exception) -> str:
    """Record a failure. A KbError that is not transient is final (the input is bad);
    anything else is retried with backoff (queue mode), then left retryable."""
    assert job.id is not None
    if isinstance(failure, KbError) and not failure.transient:
        _finish(job.id, state=JobState.FAILED.value, message_code=failure.code,
                message_params=json.dumps(failure.params, default=str), result=json.dumps(ctx.result, default=str))
        return JobState.FAILED.value
    log.warning("job %s (%s) attempt %s failed: %r", job.id, job.kind, job.attempts, failure)
    if job.attempts < MAX_ATTEMPTS and get_settings().jobs == "queue":
        _finish(job.id, state=JobState.QUEUED.value, finished_at=None)
        dispatch(job.id, delay=RETRY_DELAYS[min(job.attempts, len(RETRY_DELAYS)) - 1])
        return JobState.QUEUED.value
    if isinstance(failure, KbError):
        code, params = failure.code, failure.params
    else:
        code, params = TRANSIENT_CODE, {"detail": type(failure).__name__}
    _finish(job.id, state=JobState.FAILED.value, retryable=True, message_code=code,
            message_params=json.dumps(params, default=str), result=json.dumps(ctx.result, default=str))
    return JobState.FAILED.value


def run_queued(kind: str | None = None) -> int:
    """Run every queued job in this process (``kbportal worker --once``, the CLI, tests)."""
    from kbportal.db import session_scope

    with session_scope() as session:
        query = select(Job.id).where(Job.state == JobState.QUEUED.value).order_by(col(Job.id))
        if kind:
            query = query.where(Job.kind == kind)
        ids = list(session.exec(query))
    return sum(1 for job_id in ids if run(job_id) is not None)


def sweep(now: datetime | None = None) -> int:
    """Queue again what was lost: queued jobs nobody picked up, running jobs whose worker died."""
    from kbportal.db import session_scope

    now = now or utcnow()
    with session_scope() as session:
        lost = list(session.exec(select(Job.id).where(Job.state == JobState.QUEUED.value,
                                                      col(Job.created_at) < now - LOST_QUEUED)))
        dead = list(session.exec(select(Job.id).where(Job.state == JobState.RUNNING.value,
                                                      col(Job.started_at) < now - STALE_RUNNING)))
        if dead:
            session.execute(update(Job).where(col(Job.id).in_(dead)).values(state=JobState.QUEUED.value))
    for job_id in lost + dead:
        dispatch(job_id)
    return len(lost) + len(dead)


# --------------------------------------------------------------------------- reading and retrying


@dataclass(frozen=True)
class JobStatus:
    id: int
    kind: str
    state: str
    progress: int
    message_code: str
    message_params: dict[str, Any]
    result: dict[str, Any]
    retryable: bool
    subject_type: str
    subject_id: int | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE.value, JobState.FAILED.value)

    @property
    def error(self) -> KbError | None:
        return KbError(self.message_code, **self.message_params) if self.state == JobState.FAILED.value else None


def _status(job: Job) -> JobStatus:
    assert job.id is not None
    return JobStatus(id=job.id, kind=job.kind, state=job.state, progress=job.progress, message_code=job.message_code,
                     message_params=json.loads(job.message_params or "{}"), result=json.loads(job.result or "{}"),
                     retryable=job.retryable,
                     subject_type=job.subject_type, subject_id=job.subject_id, created_at=job.created_at,
                     finished_at=job.finished_at)


def status(session: Session, job_id: int, user_id: int | None) -> JobStatus:
    """A job's status for the user who started it (anyone else: NotFound, like any object)."""
    job = session.get(Job, job_id)
    if job is None or job.created_by != user_id:
        raise NotFound()
    return _status(job)


def status_unchecked(session: Session, job_id: int) -> JobStatus:
    """For services and the CLI acting on a job they just created."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound()
    return _status(job)


def latest_for(session: Session, subject_type: str, subject_id: int, kind: str | None = None) -> JobStatus | None:
    query = select(Job).where(Job.subject_type == subject_type, Job.subject_id == subject_id)
    if kind:
        query = query.where(Job.kind == kind)
    job = session.exec(query.order_by(col(Job.id).desc()).limit(1)).first()
    return _status(job) if job else None


def latest_of_kind(session: Session, kind: str) -> JobStatus | None:
    """The newest job of a kind that has no subject (e.g. the search index rebuild)."""
    job = session.exec(select(Job).where(Job.kind == kind).order_by(col(Job.id).desc()).limit(1)).first()
    return _status(job) if job else None


def counts_by_state(session: Session, since: datetime) -> dict[str, int]:
    """Jobs per state (every state present): all that still wait or run, and those that finished since ``since``."""
    unfinished = (JobState.QUEUED.value, JobState.RUNNING.value)
    rows = session.exec(select(Job.state, func.count()).where(
        or_(col(Job.state).in_(unfinished), col(Job.finished_at) >= since)).group_by(Job.state))
    return {state.value: 0 for state in JobState} | {state: int(count) for state, count in rows}


def failures_since(session: Session, since: datetime, limit: int = 50) -> list[JobStatus]:
    """Jobs that failed since ``since``, newest first (the admin's system page)."""
    query = (select(Job).where(Job.state == JobState.FAILED.value, col(Job.finished_at) >= since)
             .order_by(col(Job.finished_at).desc(), col(Job.id).desc()).limit(limit))
    return [_status(job) for job in session.exec(query)]


def retry(session: Session, job_id: int, user_id: int | None, *, any_owner: bool = False) -> None:
    """Queue a job that failed for a passing reason (storage outage) once more. Only its
    owner may, unless ``any_owner`` (the caller checked that the user is an admin)."""
    current = status_unchecked(session, job_id) if any_owner else status(session, job_id, user_id)
    if not (current.state == JobState.FAILED.value and current.retryable):
        raise KbError("job.not_retryable")
    session.execute(update(Job).where(col(Job.id) == job_id).values(
        state=JobState.QUEUED.value, message_code="", message_params="{}", finished_at=None, attempts=0,
        retryable=False))
    _dispatch_after_commit(session, job_id)


def wait(job_id: int, timeout: float = 300.0, poll: float = 0.1) -> JobStatus:
    """Block until a job finishes (CLI, tests, benchmarks)."""
    from kbportal.db import session_scope

    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            current = status_unchecked(session, job_id)
        if current.finished or time.monotonic() > deadline:
            return current
        time.sleep(poll)


# --------------------------------------------------------------------------- the huey queue

_queue_lock = threading.Lock()
_queue = None
_queue_task = None  # huey's wrapper of _execute: calling it enqueues
_index_task = None  # huey's wrapper of the search indexer


def queue():
    """The huey instance (SQLite storage in the data dir), created on first use."""
    global _queue, _queue_task, _index_task
    with _queue_lock:
        if _queue is None:
            from huey import SqliteHuey
            from huey.api import crontab

            path = get_settings().resolved_data_dir / "jobs-queue.sqlite3"
            path.parent.mkdir(parents=True, exist_ok=True)
            # fsync off: a message lost in a crash is re-queued by the sweep (the job row is the truth).
            huey = SqliteHuey("kbportal", filename=str(path), results=False, utc=True, fsync=False)
            _queue_task = huey.task(name="kbportal.run_job")(_execute)
            huey.periodic_task(crontab(minute="*"), name="kbportal.sweep_jobs")(_periodic_sweep)
            # The search indexer: kicked after each change, and every minute as a safety net.
            _index_task = huey.task(name="kbportal.apply_outbox")(_apply_outbox)
            huey.periodic_task(crontab(minute="*"), name="kbportal.apply_outbox_periodic")(_periodic_index)
            _queue = huey
        return _queue


def reset_queue() -> None:
    """Forget the huey instance (tests that change the data dir)."""
    global _queue, _queue_task, _index_task
    with _queue_lock:
        _queue = _queue_task = _index_task = None


def _execute(job_id: int) -> None:
    run(job_id)


def _periodic_sweep() -> None:
    sweep()


def _apply_outbox() -> None:
    from kbportal.services import indexing

    indexing.apply_outbox()


def _periodic_index() -> None:
    """Apply what is pending, then merge the small segments quick applies left behind."""
    from kbportal.services import indexing

    if indexing.apply_outbox() == 0:
        indexing.compact()


def enqueue_index() -> None:
    """Ask the worker to apply pending search-index changes."""
    queue()
    assert _index_task is not None
    _index_task()


def _enqueue_on_queue(job_id: int, delay: float = 0) -> None:
    queue()
    assert _queue_task is not None
    if delay:
        _queue_task.schedule(args=(job_id,), delay=delay)
    else:
        _queue_task(job_id)


def serve_worker(workers: int | None = None) -> None:
    """Run the huey consumer until SIGTERM/SIGINT (``kbportal worker``)."""
    _load_handlers()
    sweep(utcnow() + LOST_QUEUED)  # anything queued before we started
    from kbportal.services import indexing

    try:  # a missing or damaged index is rebuilt, changes made while no worker ran are applied
        indexing.apply_outbox()
    except Exception:  # noqa: BLE001 - recorded for admins; the periodic run tries again
        log.exception("search indexer failed at start")
    consumer = queue().create_consumer(workers=workers or get_settings().job_workers, worker_type="thread",
                                       periodic=True, check_worker_health=True)
    consumer.run()

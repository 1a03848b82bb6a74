"""Background jobs: the row is the truth, the queue only carries ids.

Handlers registered here are test kinds; the real queue (huey on SQLite in the data
dir) runs them in consumer threads started by the ``consumer`` fixture, and the
``kbportal worker`` process is tested end to end with a real upload.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col

from kbportal import db as kbdb
from kbportal.config import reset_settings
from kbportal.models import Job, JobState, Role
from kbportal.services import jobs, repository
from kbportal.services.access import AudienceRule
from kbportal.services.errors import KbError, NotFound, ValidationFailed
from kbportal.timeutil import utcnow

import docfiles
from factories import SYSTEM_ACTOR, actor_of, make_user, principal_of

RAN: list[tuple[str, int]] = []
FLAKY_FAILURES = {"left": 0}


@jobs.handler("test.echo")
def _echo(ctx: jobs.JobContext) -> dict:
    RAN.append(("echo", ctx.job_id))
    ctx.progress(50)
    return {"echo": ctx.payload.get("text", "")}


@jobs.handler("test.bad_input")
def _bad_input(ctx: jobs.JobContext) -> dict:
    raise ValidationFailed("doc.empty", field="file")


@jobs.handler("test.flaky")
def _flaky(ctx: jobs.JobContext) -> dict:
    RAN.append(("flaky", ctx.attempt))
    if FLAKY_FAILURES["left"] > 0:
        FLAKY_FAILURES["left"] -= 1
        raise ConnectionError("storage went away")
    return {"attempt": ctx.attempt}


@pytest.fixture(autouse=True)
def _clean():
    RAN.clear()
    FLAKY_FAILURES["left"] = 0


@pytest.fixture
def queue_mode(db, monkeypatch):
    """Jobs go to the real huey queue in this test's data dir."""
    monkeypatch.setenv("KBPORTAL_JOBS", "queue")
    reset_settings()
    jobs.reset_queue()
    yield
    jobs.reset_queue()


@pytest.fixture
def consumer(queue_mode):
    """huey consumer threads in this process (signal handlers stay the test runner's)."""
    monkeypatch_delays = jobs.RETRY_DELAYS
    jobs.RETRY_DELAYS = (0.2, 0.2, 0.2)
    worker = jobs.queue().create_consumer(workers=1, worker_type="thread", periodic=False, initial_delay=0.05,
                                          max_delay=0.2)
    worker.start()
    yield worker
    worker.stop(graceful=True)
    jobs.RETRY_DELAYS = monkeypatch_delays


def queued(kind: str, payload: dict | None = None, created_by: int | None = None) -> int:
    with kbdb.session_scope() as session:
        return jobs.enqueue(session, kind, payload=payload, created_by=created_by).id


def state_of(job_id: int) -> jobs.JobStatus:
    with kbdb.session_scope() as session:
        return jobs.status_unchecked(session, job_id)


# --------------------------------------------------------------------------- transactions


def test_a_job_runs_once_its_transaction_commits(db):
    job_id = queued("test.echo", {"text": "hi"})

    done = state_of(job_id)
    assert (done.state, done.progress, done.result) == ("done", 100, {"echo": "hi"})
    assert RAN == [("echo", job_id)]


def test_a_job_queued_in_a_transaction_that_rolls_back_never_exists_nor_runs(db):
    with pytest.raises(RuntimeError):
        with kbdb.session_scope() as session:
            jobs.enqueue(session, "test.echo")
            raise RuntimeError("the request failed")

    with Session(db) as session:
        assert session.get(Job, 1) is None
    assert RAN == []


# --------------------------------------------------------------------------- outcomes


def test_bad_input_fails_at_once_with_the_sentence_for_the_user(db):
    job_id = queued("test.bad_input")

    failed = state_of(job_id)
    assert (failed.state, failed.retryable, failed.message_code) == ("failed", False, "doc.empty")
    assert str(failed.error) == KbError("doc.empty").message("en")


def test_an_unexpected_failure_is_left_retryable_and_a_retry_runs_it_again(db):
    FLAKY_FAILURES["left"] = 1
    user = make_user_in(db)
    job_id = queued("test.flaky", created_by=user)
    assert (state_of(job_id).state, state_of(job_id).retryable) == ("failed", True)

    with kbdb.session_scope() as session:
        jobs.retry(session, job_id, user)

    assert state_of(job_id).state == "done"


def test_a_finished_job_cannot_be_retried(db):
    user = make_user_in(db)
    job_id = queued("test.echo", created_by=user)

    with kbdb.session_scope() as session, pytest.raises(KbError) as refused:
        jobs.retry(session, job_id, user)
    assert refused.value.code == "job.not_retryable"


def test_an_unknown_kind_fails_with_a_clear_message(db):
    job_id = queued("test.no_such_kind")

    assert state_of(job_id).message_code == "job.unknown_kind"


# --------------------------------------------------------------------------- the queue


def test_in_queue_mode_the_request_only_queues_the_job(queue_mode):
    job_id = queued("test.echo")

    assert state_of(job_id).state == "queued"
    assert RAN == []
    assert len(jobs.queue()) == 1  # one message waits in huey's SQLite storage


def test_the_queue_consumer_runs_queued_jobs(consumer):
    job_id = queued("test.echo", {"text": "from the queue"})

    assert wait_for(job_id).result == {"echo": "from the queue"}


def test_the_queue_retries_a_passing_failure_with_backoff_until_it_succeeds(consumer):
    FLAKY_FAILURES["left"] = 2
    job_id = queued("test.flaky")

    done = wait_for(job_id)
    assert (done.state, done.result) == ("done", {"attempt": 3})
    assert [attempt for kind, attempt in RAN if kind == "flaky"] == [1, 2, 3]


def test_the_queue_gives_up_after_the_last_attempt_and_leaves_the_job_retryable(consumer):
    FLAKY_FAILURES["left"] = 99
    job_id = queued("test.flaky")

    failed = wait_for(job_id)
    assert (failed.state, failed.retryable, failed.message_code) == ("failed", True, jobs.TRANSIENT_CODE)
    assert len(RAN) == jobs.MAX_ATTEMPTS


def test_two_runners_never_run_the_same_job(queue_mode):
    job_id = queued("test.echo")
    outcomes: list[str | None] = []
    threads = [threading.Thread(target=lambda: outcomes.append(jobs.run(job_id))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes, key=str) == [None, None, None, "done"]
    assert RAN == [("echo", job_id)]


def test_the_sweep_runs_a_job_whose_queue_message_was_lost(queue_mode, monkeypatch):
    job_id = queued("test.echo")
    jobs.queue().flush()  # the message is gone; the row still says queued
    monkeypatch.setenv("KBPORTAL_JOBS", "inline")
    reset_settings()

    assert jobs.sweep(utcnow() + jobs.LOST_QUEUED + timedelta(seconds=1)) == 1
    assert state_of(job_id).state == "done"


def test_the_sweep_runs_again_a_job_whose_worker_died(queue_mode, monkeypatch):
    job_id = queued("test.echo")
    jobs.queue().flush()
    with kbdb.session_scope() as session:  # a worker claimed it, then died
        session.execute(update(Job).where(col(Job.id) == job_id).values(state=JobState.RUNNING.value,
                                                                          started_at=utcnow()))
    monkeypatch.setenv("KBPORTAL_JOBS", "inline")
    reset_settings()

    assert jobs.sweep(utcnow()) == 0  # a running job is left alone while it may still be working
    assert jobs.sweep(utcnow() + jobs.STALE_RUNNING + timedelta(seconds=1)) == 1
    assert state_of(job_id).state == "done"


# --------------------------------------------------------------------------- who may see a job


def test_a_job_is_not_found_for_anyone_but_the_user_who_started_it(db):
    owner, other = make_user_in(db), make_user_in(db, "other@vendor.example")
    job_id = queued("test.echo", created_by=owner)

    with kbdb.session_scope() as session:
        assert jobs.status(session, job_id, owner).state == "done"
        with pytest.raises(NotFound):
            jobs.status(session, job_id, other)
        with pytest.raises(NotFound):
            jobs.retry(session, job_id, other)


# --------------------------------------------------------------------------- the worker process


def test_kbportal_worker_checks_an_upload_in_the_background(queue_mode, tmp_path):
    with kbdb.session_scope() as session:
        marketing = make_user(session, "mia@vendor.example", Role.MARKETING)
        ref = repository.create_document(
            session, principal_of(session, marketing.id), actor_of(marketing),
            repository.Upload(path=docfiles.make_pdf(tmp_path / "a.pdf", ["Checked by the worker"]),
                              filename="a.pdf"),
            title="A", audience=AudienceRule(all_regions=True), publish=True)
    with kbdb.session_scope() as session:
        detail = repository.get_document(session, principal_of(session, marketing.id), ref.document_id)
        assert (detail.versions[0].state, detail.published_number) == ("processing", None)

    worker = subprocess.Popen([sys.executable, "-m", "kbportal.cli", "worker"], env=dict(os.environ),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        done = wait_for(ref.job_id, timeout=60)
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        worker.wait(timeout=30)

    assert done.state == "done", worker.stderr.read() if worker.stderr else ""
    with kbdb.session_scope() as session:
        detail = repository.get_document(session, principal_of(session, marketing.id), ref.document_id)
        assert (detail.versions[0].state, detail.published_number, detail.page_count) == ("ready", 1, 1)


# --------------------------------------------------------------------------- helpers


def make_user_in(engine, email: str = "owner@vendor.example") -> int:
    with Session(engine) as session:
        user = make_user(session, email, Role.MARKETING)
        session.commit()
        return user.id


def wait_for(job_id: int, timeout: float = 20) -> jobs.JobStatus:
    current = jobs.wait(job_id, timeout=timeout, poll=0.05)
    assert current.finished, f"job {job_id} still {current.state} after {timeout} s"
    return current

"""The admin's system page (services.system_status) and the doctor's search index check.

Real database, real index, real jobs (inline by default; ``queue_mode`` keeps work
waiting so it can be looked at). A fault is injected only where a real one cannot be
arranged: a failing index write.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from kbportal import db as kbdb
from kbportal.config import reset_settings
from kbportal.models import AuditEvent, Job, JobState, Role, SearchOutbox, User
from kbportal.services import doctor, indexing, jobs, repository, system_status
from kbportal.services.access import AudienceRule
from kbportal.services.errors import KbError, NotFound
from kbportal.services.search import SearchIndex
from kbportal.services.system_status import IndexHealth, StorageKind
from kbportal.timeutil import utcnow

import docfiles
from factories import actor_of, make_org, make_user, principal_of


@jobs.handler("test.system_ok")
def _ok(ctx: jobs.JobContext) -> dict:
    return {}


@jobs.handler("test.system_outage")
def _outage(ctx: jobs.JobContext) -> dict:
    raise ConnectionError("storage went away")


_OUTAGES = {"left": 1}


@jobs.handler("test.system_ok_after_outage")
def _ok_after_outage(ctx: jobs.JobContext) -> dict:
    """Fails once (a passing outage), then works: a retry succeeds."""
    if _OUTAGES["left"]:
        _OUTAGES["left"] -= 1
        raise ConnectionError("storage went away")
    return {}


@pytest.fixture
def world(db):
    with Session(db) as session:
        org = make_org(session, "Alpha Asia", "APAC", "gold")
        ids = {
            "admin": make_user(session, "ada@vendor.example", Role.ADMIN).id,
            "marketing": make_user(session, "mia@vendor.example", Role.MARKETING).id,
            "partner_admin": make_user(session, "pat@alpha.example", Role.PARTNER_ADMIN, org=org).id,
            "partner_user": make_user(session, "ana@alpha.example", org=org).id,
        }
        session.commit()
    return ids


@pytest.fixture
def queue_mode(monkeypatch):
    """Jobs and index changes wait for a worker instead of running after the commit."""
    monkeypatch.setenv("KBPORTAL_JOBS", "queue")
    reset_settings()
    yield
    monkeypatch.setenv("KBPORTAL_JOBS", "inline")
    reset_settings()


def overview_as(world, who: str = "admin") -> system_status.SystemOverview:
    with kbdb.session_scope() as session:
        return system_status.overview(session, principal_of(session, world[who]))


def reindex_as(world, who: str = "admin") -> int:
    with kbdb.session_scope() as session:
        user = session.get(User, world[who])
        return system_status.request_reindex(session, principal_of(session, user), actor_of(user))


def publish_doc(world, tmp_path: Path, title: str = "Firewall datasheet") -> int:
    path = docfiles.make_text(tmp_path / f"{title.replace(' ', '-')}.txt", "throughput of the appliance\n")
    with kbdb.session_scope() as session:
        user = session.get(User, world["marketing"])
        ref = repository.create_document(session, principal_of(session, user), actor_of(user),
                                         repository.Upload(path=path, filename=path.name), title=title,
                                         audience=AudienceRule(all_regions=True), publish=True)
    return ref.document_id


def retitle(world, doc_id: int, title: str) -> None:
    with kbdb.session_scope() as session:
        user = session.get(User, world["marketing"])
        repository.update_metadata(session, principal_of(session, user), actor_of(user), doc_id, title=title)


def age_outbox(minutes: float) -> None:
    """Make the waiting changes as old as if the indexer had not run for ``minutes``."""
    with kbdb.session_scope() as session:
        session.execute(update(SearchOutbox).values(created_at=utcnow() - timedelta(minutes=minutes)))


def fill_the_disk(monkeypatch) -> None:
    """The injected fault: the disk under the index is full, every index write fails
    (``monkeypatch.undo()`` frees it again)."""
    def apply(self, upserts, deletes=(), merge=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SearchIndex, "apply", apply)


def a_change_the_indexer_fails_on(world, tmp_path, monkeypatch) -> int:
    """A document indexed while all was well, then retitled once the disk is full."""
    doc = publish_doc(world, tmp_path)
    fill_the_disk(monkeypatch)
    retitle(world, doc, "Kubernetes operator guide")
    return doc


def damage_live_index() -> None:
    """Garble every file of the index directory the CURRENT pointer names."""
    path = indexing.index_path()
    live = path / (path / "CURRENT").read_text().strip()
    for file in live.iterdir():
        file.write_bytes(b"\x00garbage")
    indexing.forget_indexes()  # this process opens it afresh, as a restarted server would


# --------------------------------------------------------------------------- search index


def test_a_change_the_indexer_has_not_applied_yet_is_shown_as_pending(world, tmp_path, queue_mode):
    doc = publish_doc(world, tmp_path)
    jobs.run_queued()  # the file check, as the worker would
    indexing.apply_outbox()
    retitle(world, doc, "Kubernetes operator guide")  # the worker is not running: the change waits

    index = overview_as(world).index

    assert index.pending == 1
    assert 0 <= index.lag_seconds < system_status.LAG_WARN_SECONDS
    assert index.health == IndexHealth.OK


def test_changes_waiting_longer_than_five_minutes_mark_the_index_as_falling_behind(world, tmp_path, queue_mode):
    doc = publish_doc(world, tmp_path)
    jobs.run_queued()
    indexing.apply_outbox()
    retitle(world, doc, "Kubernetes operator guide")
    age_outbox(minutes=12)

    index = overview_as(world).index

    assert index.lag_seconds >= 12 * 60
    assert index.health == IndexHealth.LAGGING


def test_an_indexer_failure_is_shown_with_its_message_and_time(world, tmp_path, monkeypatch):
    doc = a_change_the_indexer_fails_on(world, tmp_path, monkeypatch)

    index = overview_as(world).index

    assert "No space left on device" in index.last_error
    assert index.last_error_at is not None and index.error_current
    assert index.health == IndexHealth.FAILING
    assert index.pending == 1  # the change waits for the next run, nothing is lost
    with kbdb.session_scope() as session:
        assert session.exec(select(SearchOutbox.object_id)).all() == [doc]


def test_an_error_followed_by_a_successful_run_is_shown_as_resolved(world, tmp_path, monkeypatch):
    a_change_the_indexer_fails_on(world, tmp_path, monkeypatch)
    monkeypatch.undo()  # the disk has space again
    indexing.apply_outbox()  # the periodic run

    index = overview_as(world).index

    assert "No space left on device" in index.last_error
    assert not index.error_current
    assert index.health == IndexHealth.OK and index.pending == 0


def test_a_damaged_index_is_reported_as_damaged_instead_of_failing_the_page(world, tmp_path):
    publish_doc(world, tmp_path)
    damage_live_index()

    index = overview_as(world).index

    assert index.health == IndexHealth.DAMAGED
    assert index.problem


def test_the_overview_counts_the_live_entries_of_the_index(world, tmp_path):
    publish_doc(world, tmp_path, "Firewall datasheet")
    publish_doc(world, tmp_path, "Router brochure")

    index = overview_as(world).index

    assert index.entries == 2 and index.segments >= 1 and index.size_bytes > 0
    assert index.last_applied_at is not None


# --------------------------------------------------------------------------- rebuilding


def test_request_reindex_queues_a_search_rebuild_job_the_overview_follows(world, queue_mode):
    job_id = reindex_as(world)

    with kbdb.session_scope() as session:
        job = session.get(Job, job_id)
        assert (job.kind, job.state, job.created_by) == (indexing.REBUILD_JOB, JobState.QUEUED.value, world["admin"])
    index = overview_as(world).index
    assert index.rebuilding and index.rebuild is not None and index.rebuild.id == job_id


def test_request_reindex_is_recorded_in_the_audit_log(world, queue_mode):
    job_id = reindex_as(world)

    with kbdb.session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "search.reindex_requested")).all()
    assert [(e.actor_id, e.target_type, e.target_id) for e in events] == [(world["admin"], "job", str(job_id))]


def test_a_second_request_while_a_rebuild_waits_joins_it_instead_of_queueing_another(world, queue_mode):
    first = reindex_as(world)
    second = reindex_as(world)

    assert second == first
    with kbdb.session_scope() as session:
        assert len(session.exec(select(Job.id).where(Job.kind == indexing.REBUILD_JOB)).all()) == 1


def test_a_rebuild_clears_the_indexer_error_and_applies_what_waited(world, tmp_path, monkeypatch):
    a_change_the_indexer_fails_on(world, tmp_path, monkeypatch)
    monkeypatch.undo()

    job_id = reindex_as(world)  # inline: runs right after the commit

    index = overview_as(world).index
    assert jobs.wait(job_id).state == JobState.DONE.value
    assert index.health == IndexHealth.OK and index.entries == 1 and index.pending == 0
    assert index.last_error == "" and index.rebuilt_at is not None and not index.rebuilding


def test_the_rebuild_status_reports_the_progress_of_the_latest_rebuild(world, queue_mode):
    job_id = reindex_as(world)
    jobs.run_queued(indexing.REBUILD_JOB)

    with kbdb.session_scope() as session:
        status = system_status.rebuild_status(session, principal_of(session, world["admin"]))
    assert (status.id, status.state, status.progress) == (job_id, JobState.DONE.value, 100)


# --------------------------------------------------------------------------- who may look


@pytest.mark.parametrize("who", ["marketing", "partner_admin", "partner_user"])
def test_only_admins_see_the_system_overview(world, who):
    with pytest.raises(NotFound):
        overview_as(world, who)


@pytest.mark.parametrize("who", ["marketing", "partner_admin", "partner_user"])
def test_only_admins_may_rebuild_the_index_and_nothing_is_queued_for_others(world, who, queue_mode):
    with pytest.raises(NotFound):
        reindex_as(world, who)

    with kbdb.session_scope() as session:
        assert session.exec(select(Job.id)).all() == []
        assert session.exec(select(AuditEvent.id).where(AuditEvent.action == "search.reindex_requested")).all() == []


@pytest.mark.parametrize("who", ["marketing", "partner_admin", "partner_user"])
def test_only_admins_see_the_rebuild_progress(world, who, queue_mode):
    reindex_as(world)

    with pytest.raises(NotFound), kbdb.session_scope() as session:
        system_status.rebuild_status(session, principal_of(session, world[who]))


# --------------------------------------------------------------------------- jobs


def enqueue(kind: str, created_by: int | None = None) -> int:
    with kbdb.session_scope() as session:
        return jobs.enqueue(session, kind, created_by=created_by).id


def test_jobs_of_the_last_day_are_counted_by_state(world, queue_mode):
    enqueue("test.system_ok")  # waits: no worker runs
    done = enqueue("test.system_ok")
    long_ago = enqueue("test.system_ok")
    jobs.run(done)
    jobs.run(long_ago)
    with kbdb.session_scope() as session:
        session.execute(update(Job).where(col(Job.id) == long_ago).values(finished_at=utcnow() - timedelta(days=2)))

    counts = overview_as(world).jobs.counts

    assert counts == {"queued": 1, "running": 0, "done": 1, "failed": 0}


def test_failed_jobs_are_listed_newest_first_with_their_reason_and_whether_they_may_be_retried(world):
    final = enqueue("test.no_such_kind")  # inline: fails at once, for good
    passing = enqueue("test.system_outage")  # a passing outage: may be retried

    failed = overview_as(world).jobs.failed

    assert [(j.id, j.retryable) for j in failed] == [(passing, True), (final, False)]
    assert isinstance(failed[1].error, KbError) and failed[1].error.code == "job.unknown_kind"
    assert "test.no_such_kind" in failed[1].error.message("en")


def retry_as(world, who: str, job_id: int) -> None:
    with kbdb.session_scope() as session:
        user = session.get(User, world[who])
        system_status.retry_job(session, principal_of(session, user), actor_of(user), job_id)


def test_an_admin_retries_a_failed_job_someone_else_started_and_it_is_audited(world):
    passing = enqueue("test.system_ok_after_outage")

    retry_as(world, "admin", passing)

    with kbdb.session_scope() as session:
        assert jobs.status_unchecked(session, passing).state == "done"
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "job.retried")).one().target_id == str(passing)


def test_a_job_that_failed_for_good_cannot_be_retried(world):
    final = enqueue("test.no_such_kind")
    with pytest.raises(KbError) as refused:
        retry_as(world, "admin", final)
    assert refused.value.code == "job.not_retryable"


@pytest.mark.parametrize("who", ["marketing", "partner_admin", "partner_user"])
def test_only_admins_may_retry_jobs_from_the_system_page(world, who):
    passing = enqueue("test.system_outage")
    with pytest.raises(NotFound):
        retry_as(world, who, passing)
    with kbdb.session_scope() as session:
        assert jobs.status_unchecked(session, passing).state == "failed"


def test_jobs_that_failed_more_than_a_day_ago_are_not_listed(world):
    old = enqueue("test.no_such_kind")
    with kbdb.session_scope() as session:
        session.execute(update(Job).where(col(Job.id) == old).values(finished_at=utcnow() - timedelta(hours=25)))

    assert overview_as(world).jobs.failed == ()


# --------------------------------------------------------------------------- storage


def test_filesystem_storage_is_reported_with_its_folder_and_no_read_cache(world):
    storage = overview_as(world).storage

    assert storage.kind == StorageKind.FILESYSTEM
    assert storage.location.endswith("blobs") and storage.problem is None
    assert not storage.cache_enabled


def test_s3_storage_reports_how_much_of_the_read_cache_is_used(world, tmp_path, use_s3_storage):
    publish_doc(world, tmp_path)  # the file check keeps its copy in the read cache

    storage = overview_as(world).storage

    assert storage.kind == StorageKind.S3 and storage.problem is None
    assert storage.location.endswith(f"/{use_s3_storage.bucket}")
    assert storage.cache_enabled and storage.cache_files == 1
    assert storage.cache_bytes == len("throughput of the appliance\n")
    assert storage.cache_max_bytes == 1024 * 1024 * 1024


def test_s3_storage_that_does_not_answer_is_reported_not_raised(world, use_s3_storage):
    with use_s3_storage.server.stopped():
        storage = overview_as(world).storage

    assert storage.kind == StorageKind.S3
    assert storage.problem is not None and storage.problem.code.startswith("storage.")


# --------------------------------------------------------------------------- kbportal doctor


def test_doctor_reports_a_readable_index_that_keeps_up_as_ok(world, tmp_path):
    publish_doc(world, tmp_path)

    check = doctor.check_search_index()

    assert check.status == doctor.Status.OK, check
    assert "1 entry" in check.detail


def test_doctor_warns_about_a_missing_index_and_does_not_create_it(world):
    check = doctor.check_search_index()

    assert check.status == doctor.Status.WARN
    assert "kbportal reindex" in check.fix
    assert not (indexing.index_path() / "CURRENT").exists()


def test_doctor_warns_about_a_damaged_index_and_says_to_reindex(world, tmp_path):
    publish_doc(world, tmp_path)
    damage_live_index()

    check = doctor.check_search_index()

    assert check.status == doctor.Status.WARN and "damaged" in check.detail
    assert "kbportal reindex" in check.fix


def test_doctor_names_the_lag_when_changes_wait_for_the_indexer_too_long(world, tmp_path, queue_mode):
    doc = publish_doc(world, tmp_path)
    jobs.run_queued()
    indexing.apply_outbox()
    retitle(world, doc, "Kubernetes operator guide")
    age_outbox(minutes=12)

    check = doctor.check_search_index()

    assert check.status == doctor.Status.WARN
    assert "1 change(s)" in check.detail and "12 min" in check.detail
    assert "worker" in check.fix


def test_doctor_reports_the_indexers_last_error_while_it_is_unresolved(world, tmp_path, monkeypatch):
    a_change_the_indexer_fails_on(world, tmp_path, monkeypatch)
    monkeypatch.undo()  # no run since the failure

    check = doctor.check_search_index()

    assert check.status == doctor.Status.WARN and "No space left on device" in check.detail


def test_the_doctor_runs_the_search_index_check():
    assert doctor.check_search_index in doctor.all_checks()

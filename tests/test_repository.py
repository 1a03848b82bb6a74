"""The document repository, end to end: real files, a real database, real storage.

Tests run against the filesystem store; the storage-dependent core ones run against
S3 as well (a real SeaweedFS server, through the ``use_s3_storage`` fixture of
``tests/seaweed_server.py``; skipped while that plugin is not registered).
Every forbidden read must answer exactly like a missing document (``NotFound``).
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from kbportal import db as kbdb
from kbportal.config import reset_settings
from kbportal.models import AuditEvent, Document, DocumentVersion, Role
from kbportal.services import access, filenames, jobs, repository
from kbportal.services.access import Action, AudienceRule, GuardedObject
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.storage import StorageError, get_blob_store, reset_blob_store
from kbportal.timeutil import utcnow

import docfiles
from factories import DB_FILE, SYSTEM_ACTOR, Template, actor_of, build_template, forget_cached, make_org, make_user, \
    point_at, principal_of

APAC_GOLD = AudienceRule(regions=frozenset({"APAC"}), min_tier="gold")
EMEA_ANY = AudienceRule(regions=frozenset({"EMEA"}))


@dataclass(frozen=True)
class World:
    apac_gold: int  # org APAC / gold
    emea_silver: int  # org EMEA / silver
    apac_registered: int  # org APAC / registered
    admin: int
    marketing: int
    ana: int  # partner_user, APAC gold
    paul: int  # partner_admin, APAC gold
    eve: int  # partner_user, EMEA silver
    reg: int  # partner_user, APAC registered
    gone: int  # disabled partner_user, APAC gold


def _build(session: Session) -> World:
    a = make_org(session, "Alpha Asia", region="APAC", tier="gold")
    e = make_org(session, "Euro Silver", region="EMEA", tier="silver")
    r = make_org(session, "Asia Registered", region="APAC", tier="registered")
    return World(
        apac_gold=a.id, emea_silver=e.id, apac_registered=r.id,
        admin=make_user(session, "root@vendor.example", Role.ADMIN).id,
        marketing=make_user(session, "mia@vendor.example", Role.MARKETING).id,
        ana=make_user(session, "ana@alpha.example", Role.PARTNER_USER, org=a).id,
        paul=make_user(session, "paul@alpha.example", Role.PARTNER_ADMIN, org=a).id,
        eve=make_user(session, "eve@euro.example", Role.PARTNER_USER, org=e).id,
        reg=make_user(session, "reg@asia.example", Role.PARTNER_USER, org=r).id,
        gone=make_user(session, "gone@alpha.example", Role.PARTNER_USER, org=a, active=False).id,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "repository", _build)


def _use_storage(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    if kind == "s3":
        try:
            request.getfixturevalue("use_s3_storage")
        except pytest.FixtureLookupError:
            pytest.skip("S3 fixtures not registered (tests/seaweed_server.py as a pytest plugin)")
    else:
        monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    reset_settings()
    reset_blob_store()


@pytest.fixture
def world(request, template, db_from_template, monkeypatch) -> World:
    """The template's users in this test's own database, documents on the filesystem store."""
    _use_storage(request, monkeypatch, "filesystem")
    built = db_from_template(template)
    reset_blob_store()
    return built


@pytest.fixture(params=["filesystem", "s3"])
def any_world(request, template, db_from_template, monkeypatch) -> World:
    """Like ``world``, once per blob store."""
    _use_storage(request, monkeypatch, request.param)
    built = db_from_template(template)
    reset_blob_store()
    return built


@pytest.fixture
def session(request) -> Iterator[Session]:
    """A session on this test's database (set up by ``world`` or ``any_world`` first)."""
    for name in ("world", "any_world"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
    with Session(kbdb.get_engine(), expire_on_commit=False) as s:
        yield s


# --------------------------------------------------------------------------- helpers


def up(path: Path, name: str | None = None) -> repository.Upload:
    return repository.Upload(path=path, filename=name or path.name)


def who(session: Session, user_id: int):
    return principal_of(session, user_id)


def actor(session: Session, user_id: int):
    from kbportal.models import User

    return actor_of(session.get(User, user_id))


def add_doc(session: Session, w: World, path: Path, *, name: str | None = None, audience=APAC_GOLD,
            publish: bool = False, title: str = "Brochure", **kw) -> repository.VersionRef:
    """A document uploaded by marketing, committed."""
    ref = repository.create_document(session, who(session, w.marketing), actor(session, w.marketing), up(path, name),
                                     title=title, audience=audience, publish=publish, **kw)
    return _committed(session, ref)


def _committed(session: Session, ref: repository.VersionRef) -> repository.VersionRef:
    """Commit (the background check runs inline then) and raise the check's refusal, if any."""
    session.commit()
    session.expire_all()  # the check updated the rows in its own session
    repository.check_outcome(session, ref)
    return ref


def add_ver(session: Session, w: World, doc_id: int, path: Path, **kw) -> repository.VersionRef:
    ref = repository.add_version(session, who(session, w.marketing), actor(session, w.marketing), doc_id, up(path),
                                 **kw)
    return _committed(session, ref)


def publish(session: Session, w: World, doc_id: int, number: int) -> None:
    repository.publish_version(session, who(session, w.marketing), actor(session, w.marketing), doc_id, number)
    session.commit()


def listed_ids(session: Session, user_id: int, **filters) -> list[int]:
    return [c.id for c in repository.list_documents(session, who(session, user_id),
                                                    repository.DocumentFilters(**filters)).items]


def download(session: Session, user_id: int, doc_id: int, number: int | None = None, variant: str = "original") -> bytes:
    target = repository.open_download(session, who(session, user_id), doc_id, number, variant)
    return get_blob_store().get_bytes(target.key, target.storage_version_id)


def blobs() -> list:
    return list(get_blob_store().list_versions("documents/"))


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def events(session: Session, action: str) -> list[dict]:
    rows = session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id)))
    return [{"target_id": e.target_id, "actor": e.actor_email, **json.loads(e.detail)} for e in rows]


def pdf(tmp_path: Path, text: str, name: str = "brochure.pdf") -> Path:
    return docfiles.make_pdf(tmp_path / name, [text])


def txt(tmp_path: Path, text: str, name: str = "notes.txt") -> Path:
    """A text file: the quickest real upload, for tests where the file type does not matter."""
    return docfiles.make_text(tmp_path / name, text + "\n")


# --------------------------------------------------------------------------- workflow and visibility


def test_a_new_upload_is_a_draft_that_partners_cannot_see_but_marketing_can(any_world, session, tmp_path):
    w = any_world
    ref = add_doc(session, w, pdf(tmp_path, "Draft text"))

    assert listed_ids(session, w.ana) == []
    with pytest.raises(NotFound):
        repository.get_document(session, who(session, w.ana), ref.document_id)
    with pytest.raises(NotFound):
        repository.open_download(session, who(session, w.ana), ref.document_id)
    assert listed_ids(session, w.marketing) == [ref.document_id]
    assert repository.get_document(session, who(session, w.marketing), ref.document_id).status == "draft"


def test_published_document_is_seen_and_downloaded_by_a_partner_of_matching_region_and_tier(any_world, session,
                                                                                            tmp_path):
    w = any_world
    path = pdf(tmp_path, "Published text")
    ref = add_doc(session, w, path, publish=True)

    assert listed_ids(session, w.ana) == [ref.document_id]
    detail = repository.get_document(session, who(session, w.ana), ref.document_id)
    assert (detail.status, detail.published_number, [v.number for v in detail.versions]) == ("published", 1, [1])
    assert download(session, w.ana, ref.document_id) == path.read_bytes()


@pytest.mark.parametrize("user", ["eve", "reg", "gone"], ids=["other region", "lower tier", "disabled user"])
def test_published_document_is_not_found_for_partners_outside_its_audience(world, session, tmp_path, user):
    ref = add_doc(session, world, pdf(tmp_path, "APAC gold only"), publish=True)
    outsider = getattr(world, user)

    assert listed_ids(session, outsider) == []
    with pytest.raises(NotFound):
        repository.get_document(session, who(session, outsider), ref.document_id)
    with pytest.raises(NotFound):
        repository.open_download(session, who(session, outsider), ref.document_id)
    with pytest.raises(NotFound):
        repository.open_thumbnail(session, who(session, outsider), ref.document_id)


def test_a_new_version_stays_a_draft_and_partners_keep_getting_the_published_one(any_world, session, tmp_path):
    w = any_world
    v1 = pdf(tmp_path, "Version one", "v1.pdf")
    ref = add_doc(session, w, v1, publish=True)

    add_ver(session, w, ref.document_id, pdf(tmp_path, "Version two", "v2.pdf"), note="New prices")

    assert download(session, w.ana, ref.document_id) == v1.read_bytes()
    card = repository.list_documents(session, who(session, w.ana)).items[0]
    assert card.version_number == 1
    assert [v.number for v in repository.get_document(session, who(session, w.ana), ref.document_id).versions] == [1]
    with pytest.raises(NotFound):
        repository.open_download(session, who(session, w.ana), ref.document_id, 2)


def test_publishing_the_new_version_gives_partners_the_new_bytes(any_world, session, tmp_path):
    w = any_world
    ref = add_doc(session, w, pdf(tmp_path, "Version one", "v1.pdf"), publish=True)
    v2 = pdf(tmp_path, "Version two", "v2.pdf")
    add_ver(session, w, ref.document_id, v2)

    publish(session, w, ref.document_id, 2)

    assert download(session, w.ana, ref.document_id) == v2.read_bytes()
    assert repository.get_document(session, who(session, w.ana), ref.document_id).published_number == 2


def test_rollback_publishes_an_older_version_again(world, session, tmp_path):
    v1 = txt(tmp_path, "Version one", "v1.txt")
    ref = add_doc(session, world, v1, publish=True)
    add_ver(session, world, ref.document_id, txt(tmp_path, "Version two", "v2.txt"), publish=True)

    publish(session, world, ref.document_id, 1)

    assert download(session, world.ana, ref.document_id) == v1.read_bytes()
    assert [e["number"] for e in events(session, "document.published")] == [1, 2, 1]


def test_staff_see_every_version_and_can_download_any(world, session, tmp_path):
    v1 = txt(tmp_path, "Version one", "v1.txt")
    ref = add_doc(session, world, v1, publish=True)
    v2 = txt(tmp_path, "Version two", "v2.txt")
    add_ver(session, world, ref.document_id, v2, label="Q3 launch", note="New prices")

    detail = repository.get_document(session, who(session, world.marketing), ref.document_id)

    assert [(v.number, v.is_published, v.label) for v in detail.versions] == [(1, True, ""), (2, False, "Q3 launch")]
    assert detail.version_number == 2 and detail.can_edit
    assert download(session, world.marketing, ref.document_id, 1) == v1.read_bytes()
    assert download(session, world.marketing, ref.document_id) == v2.read_bytes()


def test_archived_document_disappears_for_partners_and_restore_brings_it_back(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "Old brochure"), publish=True)
    m = who(session, world.marketing)

    repository.archive_document(session, m, actor(session, world.marketing), ref.document_id)
    session.commit()
    hidden = listed_ids(session, world.ana)
    with pytest.raises(NotFound):
        repository.open_download(session, who(session, world.ana), ref.document_id)
    repository.restore_document(session, m, actor(session, world.marketing), ref.document_id)
    session.commit()

    assert hidden == []
    assert listed_ids(session, world.ana) == [ref.document_id]
    assert listed_ids(session, world.marketing, status="archived") == []


def test_archived_document_refuses_new_versions_until_restored(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "Old brochure"))
    repository.archive_document(session, who(session, world.marketing), actor(session, world.marketing),
                                ref.document_id)

    with pytest.raises(ValidationFailed) as refused:
        repository.add_version(session, who(session, world.marketing), actor(session, world.marketing),
                               ref.document_id, up(txt(tmp_path, "New", "new.txt")))

    assert refused.value.code == "doc.archived"


def test_expired_document_disappears_for_partners_but_staff_see_it_as_expired(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "Spring promotion"), publish=True,
                  expires_at=date.today() + timedelta(days=3))
    doc = session.get(Document, ref.document_id)
    doc.expires_at = utcnow() - timedelta(minutes=1)  # time passes
    session.add(doc)
    session.commit()

    assert listed_ids(session, world.ana) == []
    with pytest.raises(NotFound):
        repository.open_download(session, who(session, world.ana), ref.document_id)
    assert repository.get_document(session, who(session, world.marketing), ref.document_id).status == "expired"
    assert listed_ids(session, world.marketing, status="expired") == [ref.document_id]


def test_an_expiry_date_means_visible_through_that_day(world, session, tmp_path):
    day = date.today() + timedelta(days=10)
    ref = add_doc(session, world, txt(tmp_path, "Promotion"), expires_at=day)

    expires = repository.get_document(session, who(session, world.marketing), ref.document_id).expires_at

    assert expires == repository.expiry_from_date(day)
    assert expires.date() == day + timedelta(days=1) and (expires.hour, expires.minute) == (0, 0)
    assert repository.last_visible_day(expires) == day


def test_an_expiry_date_in_the_past_is_refused(world, session, tmp_path):
    with pytest.raises(ValidationFailed) as refused:
        add_doc(session, world, txt(tmp_path, "Late"), expires_at=date.today() - timedelta(days=1))

    assert (refused.value.code, refused.value.field) == ("doc.expiry_in_past", "expires")
    assert count(session, Document) == 0


def test_an_identical_reupload_of_the_latest_version_is_refused_with_a_clear_message(any_world, session, tmp_path):
    w = any_world
    path = pdf(tmp_path, "Same bytes")
    ref = add_doc(session, w, path)
    before = len(blobs())

    with pytest.raises(ValidationFailed) as refused:
        add_ver(session, w, ref.document_id, path)

    assert refused.value.code == "doc.duplicate_version" and refused.value.field == "file"
    assert str(refused.value) == "This file is identical to the latest version (version 1). Choose the changed file."
    assert count(session, DocumentVersion) == 1 and len(blobs()) == before


def test_a_partner_cannot_upload_publish_archive_or_edit(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "Published"), publish=True)
    for user in (world.ana, world.paul):
        p, a = who(session, user), actor(session, user)
        attempts = [
            lambda: repository.create_document(session, p, a, up(txt(tmp_path, "Mine", "mine.txt")), title="Mine"),
            lambda: repository.add_version(session, p, a, ref.document_id, up(txt(tmp_path, "V2", "v2.txt"))),
            lambda: repository.publish_version(session, p, a, ref.document_id, 1),
            lambda: repository.archive_document(session, p, a, ref.document_id),
            lambda: repository.update_metadata(session, p, a, ref.document_id, title="Hacked"),
        ]
        for attempt in attempts:
            with pytest.raises(NotFound):
                attempt()
    session.commit()  # a refused attempt changes nothing, even when the caller commits

    assert (count(session, Document), count(session, DocumentVersion)) == (1, 1)
    assert session.get(Document, ref.document_id).title == "Brochure"


def test_publishing_a_version_that_does_not_exist_is_not_found(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "One"))

    with pytest.raises(NotFound):
        publish(session, world, ref.document_id, 7)


# --------------------------------------------------------------------------- content sniffing and hostile files


def test_a_pdf_named_txt_is_stored_as_a_pdf_with_the_right_extension(world, session, tmp_path):
    ref = add_doc(session, world, pdf(tmp_path, "Really a PDF", "notes.txt"))

    version = repository.get_document(session, who(session, world.marketing), ref.document_id).versions[0]

    assert (version.mime_type, version.filename, version.page_count) == ("application/pdf", "notes.pdf", 1)


def test_text_named_pdf_is_refused_as_not_a_real_pdf(world, session, tmp_path):
    fake = docfiles.make_text(tmp_path / "brochure.pdf", "I am not a PDF\n")

    with pytest.raises(ValidationFailed) as refused:
        add_doc(session, world, fake)

    assert str(refused.value) == "This file is damaged or not a real PDF. Export the PDF again and upload the new file."
    assert count(session, Document) == 0 and blobs() == []


HOSTILE = [
    ("encrypted.pdf", docfiles.make_encrypted_pdf, "doc.encrypted_pdf",
     "This PDF is password-protected. Upload a version without a password."),
    ("corrupt.pdf", docfiles.make_corrupt_pdf, "doc.damaged_pdf", "This file is damaged or not a real PDF."),
    ("truncated.pdf", docfiles.make_truncated_pdf, "doc.damaged_pdf", "This file is damaged or not a real PDF."),
    ("bomb.docx", docfiles.make_docx_bomb, "doc.inflates_too_much", "expands to more than 100 MB"),
    ("setup.exe", docfiles.make_exe, "doc.type_not_allowed",
     "Files of this type can't be uploaded. Allowed: PDF, Word, PowerPoint, Excel, text, Markdown, CSV, PNG, JPEG."),
    ("tool.pdf", docfiles.make_exe, "doc.damaged_pdf", "not a real PDF"),
    ("archive.zip", docfiles.make_plain_zip, "doc.type_not_allowed", "Files of this type can't be uploaded."),
    ("poster.png", docfiles.make_huge_png, "doc.image_too_large", "144 megapixels"),
    ("prices.csv", lambda p: (p.write_bytes("Preis;Stück\n".encode("latin-1")), p)[1], "doc.text_not_utf8",
     "not saved as UTF-8"),
    ("page.html", lambda p: docfiles.make_text(p, "<html><script>alert(1)</script></html>"), "doc.type_not_allowed",
     "Files of this type can't be uploaded."),
    ("empty.pdf", lambda p: (p.write_bytes(b""), p)[1], "doc.empty", "This file is empty."),
]


@pytest.mark.parametrize("name, make, code, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_or_broken_file_is_rejected_with_a_clear_message_and_nothing_is_written(
        world, session, tmp_path, name, make, code, message):
    path = make(tmp_path / name)

    with pytest.raises(ValidationFailed) as refused:
        add_doc(session, world, path)

    assert (refused.value.code, refused.value.field) == (code, "file")
    assert message in str(refused.value)
    session.commit()
    assert (count(session, Document), count(session, DocumentVersion)) == (0, 0)
    assert blobs() == []


def test_a_hostile_new_version_leaves_the_document_as_it_was(world, session, tmp_path):
    ref = add_doc(session, world, pdf(tmp_path, "Good"), publish=True)
    before = len(blobs())

    with pytest.raises(ValidationFailed):
        add_ver(session, world, ref.document_id, docfiles.make_encrypted_pdf(tmp_path / "locked.pdf"))

    assert count(session, DocumentVersion) == 1 and len(blobs()) == before


def test_an_upload_over_the_size_limit_is_refused_before_anything_is_stored(world, session, tmp_path, monkeypatch):
    monkeypatch.setenv("KBPORTAL_MAX_UPLOAD_MB", "1")
    reset_settings()
    big = docfiles.make_text(tmp_path / "big.txt", "x" * (2 * 1024 * 1024))

    with pytest.raises(ValidationFailed) as refused:
        add_doc(session, world, big)

    assert (refused.value.code, refused.value.params) == ("upload.too_large", {"max_mb": 1})
    assert count(session, Document) == 0 and blobs() == []


# --------------------------------------------------------------------------- storage failures, gc, verify


@pytest.mark.parametrize("sent_from", ["memory", "disk"])
def test_a_storage_failure_during_upload_raises_and_leaves_no_document_or_version(any_world, session, tmp_path,
                                                                                  monkeypatch, sent_from):
    w = any_world
    store = get_blob_store()
    if sent_from == "disk":  # as a file over the in-memory size would be
        monkeypatch.setattr(repository, "IN_MEMORY_PUT_BYTES", 0)

    def broken(*args, **kwargs):
        raise StorageError("storage.unavailable")

    monkeypatch.setattr(store, "put_file", broken)  # large files stream from disk,
    monkeypatch.setattr(store, "put_bytes", broken)  # small ones are sent from memory
    with pytest.raises(StorageError):
        add_doc(session, w, pdf(tmp_path, "Never stored"))
    session.commit()  # even a caller that commits after the error keeps no half-made document

    assert (count(session, Document), count(session, DocumentVersion)) == (0, 0)
    assert events(session, "document.created") == []  # and no event claims it exists


@pytest.mark.parametrize("sent_from", ["memory", "disk"])
def test_an_upload_whose_stored_copy_differs_from_what_was_sent_is_refused_and_nothing_is_kept(
        any_world, session, tmp_path, monkeypatch, sent_from):
    w = any_world
    store = get_blob_store()
    if sent_from == "disk":
        monkeypatch.setattr(repository, "IN_MEMORY_PUT_BYTES", 0)
    real_put_bytes, real_put_file = store.put_bytes, store.put_file

    def damaging_put_bytes(key, data, content_type="application/octet-stream", sha256=None):
        return real_put_bytes(key, data[:-1] + bytes([data[-1] ^ 1]), content_type)  # one bit flipped on the way

    def damaging_put_file(key, path, content_type="application/octet-stream"):
        damaged = tmp_path / "damaged.bin"
        data = path.read_bytes()
        damaged.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        return real_put_file(key, damaged, content_type)

    if sent_from == "memory":  # (the filesystem store's put_bytes goes through its put_file: patch one)
        monkeypatch.setattr(store, "put_bytes", damaging_put_bytes)
    else:
        monkeypatch.setattr(store, "put_file", damaging_put_file)
    with pytest.raises(ValidationFailed) as refused:
        add_doc(session, w, pdf(tmp_path, "Damaged in transit"))

    assert (refused.value.code, refused.value.field) == ("doc.stored_mismatch", "file")
    assert "Upload it again" in str(refused.value)
    assert (count(session, Document), count(session, DocumentVersion)) == (0, 0)
    assert blobs() == []


def test_a_storage_outage_during_the_background_check_can_be_retried_and_loses_nothing(world, session, tmp_path,
                                                                                       monkeypatch):
    ref = add_doc(session, world, pdf(tmp_path, "One", "v1.pdf"), publish=True)
    store = get_blob_store()
    real_put = store.put_file

    def fail_on_thumbnail(key, path, content_type="application/octet-stream"):
        if "/thumbs/" in key:  # the original is already stored: only the check's own write fails
            raise StorageError("storage.unavailable")
        return real_put(key, path, content_type)

    monkeypatch.setattr(store, "put_file", fail_on_thumbnail)
    second = add_ver(session, world, ref.document_id, pdf(tmp_path, "Two", "v2.pdf"), publish=True)
    outcome = jobs.status_unchecked(session, second.job_id)
    assert (outcome.state, outcome.retryable, outcome.message_code) == ("failed", True, "storage.unavailable")
    assert [v.state for v in repository.get_document(session, who(session, world.marketing),
                                                     ref.document_id).versions] == ["ready", "processing"]

    monkeypatch.setattr(store, "put_file", real_put)
    jobs.retry(session, second.job_id, world.marketing)
    session.commit()
    session.expire_all()

    detail = repository.get_document(session, who(session, world.marketing), ref.document_id)
    assert [v.state for v in detail.versions] == ["ready", "ready"]
    assert detail.published_number == 2  # the publish asked for with the upload happened once it was checked


def test_a_blob_written_before_a_failed_commit_is_an_orphan_that_gc_removes(any_world, session, tmp_path):
    w = any_world
    kept = add_doc(session, w, pdf(tmp_path, "Kept", "kept.pdf"))
    referenced = {(b.key, b.version_id) for b in blobs()}
    repository.create_document(session, who(session, w.marketing), actor(session, w.marketing),
                               up(pdf(tmp_path, "Lost", "lost.pdf")), title="Lost")
    session.rollback()  # the commit never happens
    orphans = {(b.key, b.version_id) for b in blobs()} - referenced

    report = repository.gc(session, grace=timedelta(0))

    assert orphans and {(r.key, r.version_id) for r in report.removed} == orphans
    assert {(b.key, b.version_id) for b in blobs()} == referenced
    assert download(session, w.marketing, kept.document_id) == (tmp_path / "kept.pdf").read_bytes()


def test_gc_keeps_originals_thumbnails_and_light_variants_that_rows_reference(world, session, tmp_path, monkeypatch):
    monkeypatch.setattr(repository, "LIGHT_MIN_BYTES", 1024 * 1024)
    ref = add_doc(session, world, docfiles.make_image_pdf(tmp_path / "photos.pdf", pages=1, side=1000))
    version = session.exec(select(DocumentVersion)).one()
    assert version.thumbnail_key and version.light_key
    before = {(b.key, b.version_id) for b in blobs()}

    report = repository.gc(session, grace=timedelta(0))

    assert report.removed == [] and report.scanned == 3
    assert {(b.key, b.version_id) for b in blobs()} == before
    assert download(session, world.marketing, ref.document_id, variant="light")


def test_gc_spares_orphans_younger_than_the_grace_period_and_dry_run_removes_nothing(world, session, tmp_path):
    get_blob_store().put_bytes("documents/99/in-flight.pdf", b"%PDF-1.7 uploading")

    young = repository.gc(session, grace=timedelta(hours=1))
    dry = repository.gc(session, dry_run=True, grace=timedelta(0))

    assert (young.removed, young.kept_recent) == ([], 1)
    assert [r.key for r in dry.removed] == ["documents/99/in-flight.pdf"] and len(blobs()) == 1


def test_verify_passes_when_every_blob_matches(any_world, session, tmp_path):
    add_doc(session, any_world, pdf(tmp_path, "Intact"))

    report = repository.verify(session)

    assert report.ok and report.checked == 1


def test_verify_reports_a_row_pointing_at_different_bytes(any_world, session, tmp_path):
    add_doc(session, any_world, pdf(tmp_path, "Original"))
    version = session.exec(select(DocumentVersion)).one()
    other = get_blob_store().put_bytes(version.storage_key, b"%PDF-1.7 something else entirely")
    version.storage_version_id = other.version_id
    session.add(version)
    session.commit()

    report = repository.verify(session)

    assert [(p.part, p.problem) for p in report.problems] == [("original", "size_mismatch")]


def test_verify_reports_bytes_tampered_with_on_disk(world, session, tmp_path):
    add_doc(session, world, pdf(tmp_path, "Original"))
    version = session.exec(select(DocumentVersion)).one()
    blob_file = get_blob_store().root.joinpath(*version.storage_key.split("/")) / version.storage_version_id
    data = bytearray(blob_file.read_bytes())
    data[-20] ^= 0xFF  # same size, different bytes
    blob_file.write_bytes(bytes(data))

    report = repository.verify(session)

    assert [(p.document_id, p.number, p.problem) for p in report.problems] == [(version.document_id, 1,
                                                                                 "hash_mismatch")]


def test_verify_reports_missing_blobs(world, session, tmp_path):
    add_doc(session, world, pdf(tmp_path, "Original"))
    for blob in blobs():
        get_blob_store().delete_version(blob.key, blob.version_id)

    report = repository.verify(session)

    assert sorted((p.part, p.problem) for p in report.problems) == [("original", "missing"), ("thumbnail", "missing")]


# --------------------------------------------------------------------------- audit


def test_metadata_edits_are_audited_with_before_and_after(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "Text"), title="Old title", tags=["alpha"], product="Router X")

    changes = repository.update_metadata(session, who(session, world.marketing), actor(session, world.marketing),
                                         ref.document_id, title="New title", tags=["beta", "alpha"], product="Router X",
                                         doc_type="datasheet")
    session.commit()

    expected = {"title": ["Old title", "New title"], "tags": [["alpha"], ["alpha", "beta"]],
                "doc_type": ["other", "datasheet"]}
    assert changes == expected
    [event] = events(session, "document.updated")
    assert event["changes"] == expected and event["actor"] == "mia@vendor.example"
    assert event["target_id"] == str(ref.document_id)


def test_an_audience_edit_is_audited_and_changes_who_sees_the_document(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "Text"), publish=True)

    repository.update_metadata(session, who(session, world.marketing), actor(session, world.marketing),
                               ref.document_id, audience=EMEA_ANY)
    session.commit()

    [event] = events(session, "document.updated")
    assert event["changes"]["audience"] == [
        {"all_regions": False, "regions": ["APAC"], "min_tier": "gold", "org_ids": []},
        {"all_regions": False, "regions": ["EMEA"], "min_tier": None, "org_ids": []},
    ]
    assert (listed_ids(session, world.ana), listed_ids(session, world.eve)) == ([], [ref.document_id])


def test_an_audience_with_an_unknown_region_is_refused_on_the_audience_field(world, session, tmp_path):
    with pytest.raises(ValidationFailed) as refused:
        add_doc(session, world, txt(tmp_path, "Text"), audience=AudienceRule(regions=frozenset({"MARS"})))

    assert (refused.value.code, refused.value.field) == ("org.unknown_region", "audience")


def test_a_download_is_audited_with_user_org_document_version_and_variant(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "Text"), publish=True)
    ana = who(session, world.ana)
    target = repository.open_download(session, ana, ref.document_id)

    repository.record_download(session, ana, actor(session, world.ana), target)
    session.commit()

    [event] = events(session, "document.downloaded")
    assert {k: event[k] for k in ("target_id", "actor", "user_id", "org_id", "version", "variant")} == {
        "target_id": str(ref.document_id), "actor": "ana@alpha.example", "user_id": world.ana,
        "org_id": world.apac_gold, "version": 1, "variant": "original"}


# --------------------------------------------------------------------------- derived files


def test_a_pdf_gets_a_first_page_thumbnail_partners_can_fetch(any_world, session, tmp_path):
    from PIL import Image

    w = any_world
    ref = add_doc(session, w, docfiles.make_pdf(tmp_path / "two.pdf", ["Page one", "Page two"]), publish=True)

    target = repository.open_thumbnail(session, who(session, w.ana), ref.document_id)
    png = get_blob_store().get_bytes(target.key, target.storage_version_id)

    assert target.key == f"documents/{ref.document_id}/thumbs/v1.png" and target.mime_type == "image/png"
    assert max(Image.open(io.BytesIO(png)).size) == 480
    assert repository.list_documents(session, who(session, w.ana)).items[0].page_count == 2


def test_images_get_a_thumbnail_and_spreadsheets_do_not(world, session, tmp_path):
    # Word files get one from LibreOffice: tests/test_office_thumbnails.py
    image = add_doc(session, world, docfiles.make_jpeg(tmp_path / "photo.jpg"), title="Photo")
    sheet = add_doc(session, world, docfiles.make_xlsx(tmp_path / "prices.xlsx"), title="Prices")
    m = who(session, world.marketing)

    assert repository.open_thumbnail(session, m, image.document_id) is not None
    assert repository.open_thumbnail(session, m, sheet.document_id) is None


def test_a_large_pdf_with_images_gets_a_smaller_light_variant(world, session, tmp_path):
    from pypdf import PdfReader

    path = docfiles.make_image_pdf(tmp_path / "catalogue.pdf", pages=3)
    assert path.stat().st_size > 5 * 1024 * 1024
    ref = add_doc(session, world, path, publish=True)

    card = repository.list_documents(session, who(session, world.ana)).items[0]
    target = repository.open_download(session, who(session, world.ana), ref.document_id, variant="light")
    light = get_blob_store().get_bytes(target.key, target.storage_version_id)

    assert 0 < card.light_size < card.size / 2
    assert target.key == f"documents/{ref.document_id}/light/catalogue.pdf"
    assert target.filename == "catalogue (light).pdf" and len(light) == card.light_size
    assert len(PdfReader(io.BytesIO(light)).pages) == 3


def test_a_small_pdf_has_no_light_variant(world, session, tmp_path):
    ref = add_doc(session, world, pdf(tmp_path, "Small"), publish=True)

    with pytest.raises(NotFound):
        repository.open_download(session, who(session, world.ana), ref.document_id, variant="light")


def test_extracted_text_and_page_count_are_stored_with_the_version(world, session, tmp_path):
    add_doc(session, world, docfiles.make_docx(tmp_path / "specs.docx", ["Throughput figures"],
                                               table=[["Model", "Mbps"], ["X1", "940"]]))

    version = session.exec(select(DocumentVersion)).one()

    assert "Throughput figures" in version.text and "940" in version.text
    assert version.mime_type.endswith("wordprocessingml.document") and version.page_count >= 1


# --------------------------------------------------------------------------- file names


def test_non_ascii_file_names_are_kept_in_the_row_and_the_key(any_world, session, tmp_path):
    w = any_world
    ref = add_doc(session, w, pdf(tmp_path, "Hallo", "upload.pdf"), name="Präsentation 日本.pdf", publish=True)

    target = repository.open_download(session, who(session, w.ana), ref.document_id)

    assert target.filename == "Präsentation 日本.pdf"
    assert target.key == f"documents/{ref.document_id}/Präsentation 日本.pdf"


@pytest.mark.parametrize("given, expected", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\mia\\Desktop\\Brochure.PDF", "Brochure.pdf"),
    ("evil\u202eftp.pdf", "evilftp.pdf"),
    ("a\x00b\x07c.txt", "abc.txt"),
    ('what?<is>:"this"|*.pdf', "what_is_this_.pdf"),
    ("  .hidden  ", "hidden"),
    ("CON.pdf", "_CON.pdf"),
    ("", "document"),
    ("....pdf", "document.pdf"),
    ("Decomposed Pra\u0308sentation.pdf", "Decomposed Präsentation.pdf"),
])
def test_file_names_are_sanitised(given, expected):
    assert filenames.sanitize(given) == expected


def test_long_file_names_are_cut_at_a_character_boundary_keeping_the_extension():
    name = filenames.sanitize("日本" * 200 + ".pdf")

    assert name.endswith(".pdf") and len(name.encode("utf-8")) <= filenames.MAX_BYTES
    assert name.startswith("日本日本")


# --------------------------------------------------------------------------- listing


def test_list_filters_sorts_pages_and_counts_facets(world, session, tmp_path):
    def text(name: str):
        return docfiles.make_text(tmp_path / name, f"{name}\n")

    a = add_doc(session, world, text("a.txt"), title="Zeta datasheet", doc_type="datasheet",
                product="Router X", tags=["wifi"], publish=True)
    b = add_doc(session, world, text("b.md"), title="Alpha brochure", doc_type="brochure",
                product="Router X", tags=["wifi", "5g"], source_language="de", publish=True)
    c = add_doc(session, world, text("c.csv"), title="Beta brochure", doc_type="brochure",
                product="Switch Y", publish=True)
    ana = who(session, world.ana)

    by_title = repository.list_documents(session, ana, repository.DocumentFilters(sort="title"))
    brochures = repository.list_documents(session, ana, repository.DocumentFilters(doc_type="brochure"))
    wifi = repository.list_documents(session, ana, repository.DocumentFilters(tag="wifi", query="BROCHURE"))
    second_page = repository.list_documents(session, ana, repository.DocumentFilters(sort="title", page=1,
                                                                                     page_size=2))

    assert [d.id for d in by_title.items] == [b.document_id, c.document_id, a.document_id]
    assert by_title.facets["doc_type"] == [("brochure", 2), ("datasheet", 1)]
    assert by_title.facets["tag"] == [("wifi", 2), ("5g", 1)]
    assert by_title.facets["language"] == [("en", 2), ("de", 1)]
    # A facet's counts ignore its own filter but apply the others.
    assert [d.id for d in brochures.items] == [c.document_id, b.document_id]
    assert brochures.facets["doc_type"] == [("brochure", 2), ("datasheet", 1)]
    assert brochures.facets["product"] == [("Router X", 1), ("Switch Y", 1)]
    assert [d.id for d in wifi.items] == [b.document_id]
    assert (second_page.total, [d.id for d in second_page.items]) == (3, [a.document_id])


def test_a_first_publication_is_new_and_a_later_one_is_updated(world, session, tmp_path):
    ref = add_doc(session, world, txt(tmp_path, "One", "v1.txt"), publish=True)
    fresh = repository.list_documents(session, who(session, world.ana)).items[0]
    old = session.exec(select(AuditEvent).where(AuditEvent.action == "document.published")).one()
    old.at = utcnow() - timedelta(days=60)  # v1 went out two months ago
    session.add(old)
    session.commit()
    add_ver(session, world, ref.document_id, txt(tmp_path, "Two", "v2.txt"), publish=True)

    updated = repository.list_documents(session, who(session, world.ana)).items[0]

    assert (fresh.is_new, fresh.is_updated) == (True, False)
    assert (updated.is_new, updated.is_updated, updated.version_number) == (False, True, 2)


# --------------------------------------------------------------------------- permission leaks, every role


@dataclass(frozen=True)
class LeakWorld:
    data_dir: Path
    users: dict[str, int]
    docs: dict[str, int]


@pytest.fixture(scope="module")
def leak_world(template, tmp_path_factory) -> LeakWorld:
    """One database and blob store with documents of every kind, built once and only read."""
    data_dir = tmp_path_factory.mktemp("leak-world")
    shutil.copyfile(template.path, data_dir / DB_FILE)
    files = tmp_path_factory.mktemp("leak-files")
    w: World = template.world
    docs: dict[str, int] = {}
    with pytest.MonkeyPatch.context() as mp:
        point_at(mp, data_dir)
        mp.setenv("KBPORTAL_STORAGE", "filesystem")
        reset_blob_store()
        with kbdb.session_scope() as s:
            def make(name: str, audience, publish: bool = True) -> int:  # PNGs: fast, and they have thumbnails
                ref = add_doc(s, w, docfiles.make_png(files / f"{name}.png", (64, 48)), title=name,
                              audience=audience, publish=publish)
                return ref.document_id

            docs["draft"] = make("draft", AudienceRule(all_regions=True), publish=False)
            docs["apac_gold"] = make("apac_gold", APAC_GOLD)
            docs["emea_any"] = make("emea_any", EMEA_ANY)
            docs["platinum_everywhere"] = make("platinum_everywhere", AudienceRule(all_regions=True,
                                                                                 min_tier="platinum"))
            docs["granted_to_registered"] = make("granted_to_registered",
                                                 AudienceRule(org_ids=frozenset({w.apac_registered})))
            docs["no_audience"] = make("no_audience", None)
            docs["archived"] = make("archived", APAC_GOLD)
            repository.archive_document(s, who(s, w.marketing), SYSTEM_ACTOR, docs["archived"])
            docs["expired"] = make("expired", APAC_GOLD)
            s.get(Document, docs["expired"]).expires_at = utcnow() - timedelta(days=1)
        kbdb.get_engine().dispose()
        forget_cached()
    forget_cached()
    reset_blob_store()
    users = {"admin": w.admin, "marketing": w.marketing, "partner_admin": w.paul, "partner_user": w.ana,
             "other_region": w.eve, "low_tier": w.reg, "disabled": w.gone}
    return LeakWorld(data_dir=data_dir, users=users, docs=docs)


@pytest.fixture
def leaks(leak_world, monkeypatch) -> Iterator[tuple[LeakWorld, Session]]:
    point_at(monkeypatch, leak_world.data_dir)
    monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    reset_blob_store()
    engine = kbdb.get_engine()
    with Session(engine) as s:
        yield leak_world, s
        s.rollback()  # read-only: nothing a test does here is kept
    engine.dispose()
    forget_cached()


def allowed_by_policy(s: Session, principal, doc_ids: dict[str, int], action: Action = Action.VIEW) -> set[int]:
    """What ``access.can`` says, object by object: the reference the services must match."""
    allowed = set()
    for doc_id in doc_ids.values():
        doc = s.get(Document, doc_id)
        guarded = GuardedObject(status=doc.status, audience=access.load_audience(s, doc.audience_id),
                                expires_at=doc.expires_at)
        if access.can(principal, action, guarded):
            allowed.add(doc_id)
    return allowed


ROLES = ["admin", "marketing", "partner_admin", "partner_user", "other_region", "low_tier", "disabled"]
EXPECTED = {  # a readable cross-check of the policy for the partner roles
    "partner_admin": {"apac_gold"}, "partner_user": {"apac_gold"}, "other_region": {"emea_any"},
    "low_tier": {"granted_to_registered"}, "disabled": set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_listing_shows_each_role_exactly_what_the_policy_allows(leaks, role):
    world, s = leaks
    principal = who(s, world.users[role])

    page = repository.list_documents(s, principal, repository.DocumentFilters(page_size=200))

    allowed = allowed_by_policy(s, principal, world.docs)
    assert {c.id for c in page.items} == allowed and page.total == len(allowed)
    assert sum(n for _, n in page.facets["doc_type"]) == len(allowed)
    assert sum(n for _, n in page.facets["language"]) == len(allowed)
    if role in EXPECTED:
        assert {name for name, i in world.docs.items() if i in allowed} == EXPECTED[role]
    else:
        assert allowed == set(world.docs.values())


@pytest.mark.parametrize("role", ROLES)
def test_get_document_is_not_found_exactly_where_the_policy_forbids(leaks, role):
    world, s = leaks
    principal = who(s, world.users[role])
    allowed = allowed_by_policy(s, principal, world.docs)

    for name, doc_id in world.docs.items():
        if doc_id in allowed:
            assert repository.get_document(s, principal, doc_id).id == doc_id, name
        else:
            with pytest.raises(NotFound):
                repository.get_document(s, principal, doc_id)


@pytest.mark.parametrize("role", ROLES)
def test_downloads_and_thumbnails_are_not_found_exactly_where_the_policy_forbids(leaks, role):
    world, s = leaks
    principal = who(s, world.users[role])
    allowed = allowed_by_policy(s, principal, world.docs, Action.DOWNLOAD)

    for name, doc_id in world.docs.items():
        if doc_id in allowed:
            assert repository.open_download(s, principal, doc_id).document_id == doc_id, name
            assert repository.open_thumbnail(s, principal, doc_id) is not None, name
        else:
            for number in (None, 1):
                with pytest.raises(NotFound):
                    repository.open_download(s, principal, doc_id, number)
                with pytest.raises(NotFound):
                    repository.open_thumbnail(s, principal, doc_id, number)


def test_a_missing_document_answers_exactly_like_a_forbidden_one(leaks):
    world, s = leaks
    ana = who(s, world.users["partner_user"])

    with pytest.raises(NotFound) as missing:
        repository.get_document(s, ana, 987654)
    with pytest.raises(NotFound) as forbidden:
        repository.get_document(s, ana, world.docs["emea_any"])

    assert (missing.value.code, missing.value.params) == (forbidden.value.code, forbidden.value.params)


def test_partners_never_see_the_audience_rule_of_a_document(leaks):
    world, s = leaks

    detail = repository.get_document(s, who(s, world.users["partner_user"]), world.docs["apac_gold"])

    assert detail.audience is None and not detail.can_edit


# --------------------------------------------------------------------------- PostgreSQL


def test_the_repository_queries_work_on_postgres(postgres_url, tmp_path, monkeypatch):
    """Listing (facets, filters, every sort), detail, download, gc and verify on a real PostgreSQL."""
    point_at(monkeypatch, tmp_path / "data")
    monkeypatch.setenv("KBPORTAL_DATABASE_URL", postgres_url)
    monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    reset_settings()
    reset_blob_store()
    kbdb.reset_engines()
    kbdb.migrate()
    with kbdb.session_scope() as s:
        w = _build(s)
    with Session(kbdb.get_engine(), expire_on_commit=False) as s:
        ref = add_doc(s, w, pdf(tmp_path, "Hello"), title="Router brochure", tags=["wifi"], product="Router X",
                      publish=True)
        add_ver(s, w, ref.document_id, docfiles.make_text(tmp_path / "v2.txt", "Version two\n"))
        ana = who(s, w.ana)
        pages = {sort: repository.list_documents(s, ana, repository.DocumentFilters(sort=sort, query="ROUTER",
                                                                                    tag="wifi"))
                 for sort in repository.SORTS}
        staff = repository.get_document(s, who(s, w.marketing), ref.document_id)
        target = repository.open_download(s, ana, ref.document_id)
        repository.record_download(s, ana, actor(s, w.ana), target)
        s.commit()

        assert all([c.id for c in page.items] == [ref.document_id] for page in pages.values())
        assert pages["updated"].facets["tag"] == [("wifi", 1)] and pages["updated"].items[0].is_new
        assert [v.number for v in staff.versions] == [1, 2] and staff.version_number == 2
        assert get_blob_store().get_bytes(target.key, target.storage_version_id) == (tmp_path / "brochure.pdf").read_bytes()
        assert repository.verify(s).ok and repository.gc(s, grace=timedelta(0)).removed == []
    kbdb.reset_engines()

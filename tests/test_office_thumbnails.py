"""Word and PowerPoint files get a first-page thumbnail from LibreOffice during the upload check.

Real parts: python-docx files, PPTX packages built in code (``docfiles.make_slides_pptx``),
the check job (run inline after the commit), the session's LibreOffice listener pool
(``cobrand_pool``, made the process-wide pool the check uses), pdftoppm, the filesystem
blob store. A picture linked to a file on the server must not reach a thumbnail. Faults are injected by hiding soffice
(``find_soffice``), by a LibreOffice that cannot start, by a conversion time limit the
document cannot meet, and by deleting the row while the thumbnail is made. The backfill
job gives versions checked without LibreOffice their thumbnail later.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from cobrand_files import make_long_docx, make_plain_docx_template
from factories import actor_of, make_org, make_user, principal_of
from kbportal import db as kbdb
from kbportal.models import DocumentVersion, Role, User, VersionState
from kbportal.services import extraction, jobs, office_links, office_thumbnail, repository, version_check
from kbportal.services.access import AudienceRule
from kbportal.services.cobrand import ConverterPool
from kbportal.services.cobrand import converter as lo
from kbportal.storage import get_blob_store, reset_blob_store

import docfiles

pytest_plugins = ["cobrand_files"]

ALL = AudienceRule(all_regions=True)
DARK, LIGHT = 80, 200  # mean grey level (0 black .. 255 white) of a dark / a blank area


@pytest.fixture
def data(db) -> Iterator[None]:
    """A fresh database and blob store (filesystem) for this test."""
    reset_blob_store()
    yield
    reset_blob_store()


@pytest.fixture
def marketing(data) -> int:
    with Session(kbdb.get_engine()) as session:
        make_org(session, "Alpha Asia")
        user_id = make_user(session, "mia@vendor.example", Role.MARKETING).id
        session.commit()
    return user_id


@pytest.fixture
def pool(cobrand_pool, monkeypatch):
    """The check converts with the test session's LibreOffice pool."""
    monkeypatch.setattr(lo, "_default_pool", cobrand_pool)
    return cobrand_pool


def upload(user_id: int, path: Path, *, doc_type: str = "other") -> DocumentVersion:
    """Upload as marketing, commit (the check runs inline), and return the checked version."""
    with Session(kbdb.get_engine(), expire_on_commit=False) as session:
        user = session.get(User, user_id)
        ref = repository.create_document(session, principal_of(session, user), actor_of(user),
                                         repository.Upload(path=path, filename=path.name), title="Brochure",
                                         doc_type=doc_type, audience=ALL, publish=True)
        session.commit()
        session.expire_all()
        repository.check_outcome(session, ref)
        return session.exec(select(DocumentVersion).where(DocumentVersion.document_id == ref.document_id)).one()


def thumbnail(version: DocumentVersion):
    from PIL import Image

    png = get_blob_store().get_bytes(version.thumbnail_key, version.thumbnail_version_id)
    return Image.open(io.BytesIO(png)).convert("L")


def mean(image, box: tuple[float, float, float, float]) -> float:
    """Mean grey level of ``box`` given as fractions of the image (left, top, right, bottom)."""
    from PIL import ImageStat

    w, h = image.size
    region = image.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    return ImageStat.Stat(region).mean[0]


def docx_with_black_block(path: Path, *, pages: int = 1) -> Path:
    """A Letter page: a black picture 6.5 x 4 in at the top margin, a caption under it; then
    ``pages - 1`` more pages of text (hard page breaks)."""
    import docx
    from docx.enum.text import WD_BREAK
    from docx.shared import Inches
    from PIL import Image

    document = docx.Document()
    block = io.BytesIO()
    Image.new("RGB", (650, 400), (0, 0, 0)).save(block, "PNG")
    block.seek(0)
    document.add_picture(block, width=Inches(6.5), height=Inches(4))
    document.add_paragraph("Black block above")
    for page in range(2, pages + 1):
        document.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
        document.add_paragraph(f"Page {page}")
    document.save(str(path))
    return path


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------- thumbnails


def test_a_word_upload_gets_a_thumbnail_of_its_first_page(marketing, pool, tmp_path):
    version = upload(marketing, docx_with_black_block(tmp_path / "flyer.docx"))
    image = thumbnail(version)

    assert version.state == VersionState.READY.value
    assert version.thumbnail_key == f"documents/{version.document_id}/thumbs/v1.png"
    assert max(image.size) == 480 and image.size[0] < image.size[1]  # a portrait page, like PDF thumbnails
    # Letter page, 1 in margins: the block covers x 1/8.5..7.5/8.5 and y 1/11..5/11 of the page.
    assert mean(image, (0.25, 0.15, 0.75, 0.40)) < DARK
    assert mean(image, (0.15, 0.60, 0.85, 0.95)) > LIGHT  # the rest of the page stays blank


def test_the_page_count_of_a_word_file_is_that_of_libreoffices_pdf(marketing, pool, tmp_path):
    # python-docx files say "1 page" in docProps/app.xml whatever they hold: the estimate would be 1.
    version = upload(marketing, docx_with_black_block(tmp_path / "three.docx", pages=3))

    assert version.page_count == 3 and version.thumbnail_key


def test_a_co_brand_template_gets_a_thumbnail_for_its_card(marketing, pool, tmp_path):
    template = make_plain_docx_template(tmp_path / "flyer.docx", ["Welcome, {{partner_name}}!"], logo=True)

    version = upload(marketing, template, doc_type="template")

    assert version.template_fields and version.thumbnail_key
    assert max(thumbnail(version).size) == 480


def test_the_checks_work_files_are_removed_afterwards(marketing, pool, tmp_path):
    upload(marketing, docx_with_black_block(tmp_path / "flyer.docx"))

    assert list(repository.work_base().iterdir()) == []


def test_a_version_deleted_while_its_thumbnail_was_made_leaves_no_thumbnail_behind(marketing, pool, tmp_path,
                                                                                  monkeypatch):
    real_render = office_thumbnail.render
    rendered = []

    def render_then_delete_the_row(path, kind, work, **kw):
        first = real_render(path, kind, work, **kw)
        rendered.append(first)
        with Session(kbdb.get_engine()) as session:  # an admin removes the upload meanwhile
            session.delete(session.exec(select(DocumentVersion)).one())
            session.commit()
        return first

    monkeypatch.setattr(office_thumbnail, "render", render_then_delete_the_row)
    with Session(kbdb.get_engine()) as session:
        user = session.get(User, marketing)
        ref = repository.create_document(session, principal_of(session, user), actor_of(user),
                                         repository.Upload(path=docx_with_black_block(tmp_path / "a.docx"),
                                                           filename="a.docx"), title="Gone", audience=ALL)
        session.commit()

    assert rendered[0] is not None  # a thumbnail was made (and stored) before the row was found gone
    assert list(get_blob_store().list_versions(f"documents/{ref.document_id}/thumbs/")) == []


def test_the_demos_word_documents_and_template_have_thumbnails_once_seeded(data, pool):
    from kbportal.services import demo

    with Session(kbdb.get_engine()) as session:
        demo.seed_demo(session)
        session.commit()  # the checks run now (inline)
        word = session.exec(select(DocumentVersion).where(
            DocumentVersion.mime_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document")).all()

    assert sorted(v.filename for v in word) == ["Price-list-2027-EMEA.docx", "X200-launch-flyer.docx"]
    assert all(v.state == VersionState.READY.value and v.thumbnail_key for v in word)


# --------------------------------------------------------------------------- PowerPoint


def test_a_powerpoint_upload_gets_a_landscape_thumbnail_of_its_first_slide(marketing, pool, tmp_path):
    deck = docfiles.make_slides_pptx(tmp_path / "launch.pptx", ["Launch", "Prices", "Dates"],
                                     dark_block=(0.05, 0.30, 0.45, 0.90))

    version = upload(marketing, deck)
    image = thumbnail(version)

    assert version.state == VersionState.READY.value
    assert version.thumbnail_key == f"documents/{version.document_id}/thumbs/v1.png"
    assert image.size[0] == 480 and image.size[1] < image.size[0]  # a 16:9 slide
    assert mean(image, (0.10, 0.40, 0.40, 0.85)) < DARK  # the black block on the left
    assert mean(image, (0.55, 0.30, 0.95, 0.95)) > LIGHT  # the right half stays blank


def test_the_page_count_of_a_powerpoint_file_is_its_slide_count(marketing, pool, tmp_path):
    version = upload(marketing, docfiles.make_slides_pptx(tmp_path / "deck.pptx", [f"Slide {i}" for i in range(1, 8)]))

    assert version.page_count == 7 and version.thumbnail_key


def test_the_backfill_gives_older_powerpoint_versions_their_thumbnail(marketing, pool, tmp_path, monkeypatch):
    with monkeypatch.context() as without_libreoffice:
        without_libreoffice.setattr(lo, "find_soffice", lambda: None)
        before = upload(marketing, docfiles.make_slides_pptx(tmp_path / "old.pptx", ["Old", "Deck"],
                                                             dark_block=(0.05, 0.30, 0.45, 0.90)))
    assert before.thumbnail_key == ""

    result = backfill()

    with Session(kbdb.get_engine()) as session:
        after = session.get(DocumentVersion, before.id)
    assert result == {"missing": 1, "added": 1}
    assert after.thumbnail_key and after.page_count == 2
    assert mean(thumbnail(after), (0.10, 0.40, 0.40, 0.85)) < DARK


def test_a_picture_linked_to_a_file_on_the_server_does_not_show_in_the_thumbnail(marketing, pool, tmp_path):
    # LibreOffice would load file:///... (a thumbnail of another document, say) into the slide.
    secret = docfiles.make_png(tmp_path / "secret.png", size=(400, 300), color=(0, 0, 0))
    deck = docfiles.make_slides_pptx(tmp_path / "deck.pptx", ["Linked"], linked_image=secret.as_uri())

    version = upload(marketing, deck)

    assert version.state == VersionState.READY.value and version.thumbnail_key
    # The linked picture's frame: 1 in from the top left, 2 x 1 in, on a 13.33 x 7.5 in slide.
    assert mean(thumbnail(version), (0.08, 0.14, 0.22, 0.26)) > LIGHT


def test_removing_external_links_keeps_hyperlinks_and_everything_else(tmp_path):
    import zipfile

    deck = docfiles.make_slides_pptx(tmp_path / "deck.pptx", ["Linked"], linked_image="http://127.0.0.1:9/x.png")
    with zipfile.ZipFile(deck, "a") as z:  # a hyperlink on the second slide's relationships
        z.writestr("ppt/slides/_rels/slide2.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/hyperlink" Target="https://example.com/" TargetMode="External"/>'
            '</Relationships>'))

    assert office_links.unlinked_copy(deck, tmp_path / "copy.pptx")

    with zipfile.ZipFile(deck) as before, zipfile.ZipFile(tmp_path / "copy.pptx") as after:
        assert after.namelist() == before.namelist()
        changed = [n for n in before.namelist() if before.read(n) != after.read(n)]
        assert changed == ["ppt/slides/_rels/slide1.xml.rels"]
        assert b"127.0.0.1:9" not in after.read(changed[0]) and b"slideLayout1.xml" in after.read(changed[0])
        assert b"https://example.com/" in after.read("ppt/slides/_rels/slide2.xml.rels")
    assert not office_links.unlinked_copy(tmp_path / "copy.pptx", tmp_path / "again.pptx")  # nothing left


# --------------------------------------------------------------------------- best effort


def test_without_libreoffice_a_word_upload_is_ready_without_a_thumbnail(marketing, pool, tmp_path, monkeypatch,
                                                                        caplog):
    monkeypatch.setattr(lo, "find_soffice", lambda: None)
    starts = pool.stats.starts + pool.stats.fallbacks

    version = upload(marketing, docfiles.make_docx(tmp_path / "memo.docx", ["Quarterly memo"]))

    assert version.state == VersionState.READY.value and version.thumbnail_key == ""
    assert "Quarterly memo" in version.text and version.page_count == 1  # the estimate
    assert "LibreOffice (soffice) is not installed" in caplog.text
    assert pool.stats.starts + pool.stats.fallbacks == starts  # nothing was tried
    assert list(get_blob_store().list_versions(f"documents/{version.document_id}/thumbs/")) == []


@pytest.fixture
def own_pool(tmp_path, monkeypatch) -> Iterator[ConverterPool]:
    """A pool of one listener of its own (the timeout kills it), as the process-wide pool."""
    own = ConverterPool(1, base_dir=tmp_path / "lo", job_timeout=60)
    monkeypatch.setattr(lo, "_default_pool", own)
    yield own
    own.close()


def test_a_conversion_over_the_time_limit_gives_no_thumbnail_and_leaves_no_libreoffice_running(
        marketing, own_pool, tmp_path, monkeypatch, caplog):
    upload(marketing, docfiles.make_docx(tmp_path / "warm.docx"))  # the listener is up
    listener = own_pool.all_pids()  # the listener, its soffice and their helpers
    assert any(_alive(pid) for pid in listener) and own_pool.listeners()[0].soffice_pid() in listener
    monkeypatch.setattr(extraction, "DEFAULT_LIMITS", extraction.DEFAULT_LIMITS.with_(convert_seconds=1))

    started = time.monotonic()
    version = upload(marketing, make_long_docx(tmp_path / "long.docx", paragraphs=2500))

    assert time.monotonic() - started < 30
    assert version.state == VersionState.READY.value and version.thumbnail_key == ""
    assert "cobrand.convert_timeout" in caplog.text
    assert not any(_alive(pid) for pid in listener)  # killed as a whole process group
    assert own_pool.stats.timeouts == 1


def test_when_libreoffice_fails_a_word_upload_is_ready_without_a_thumbnail(marketing, tmp_path, monkeypatch, caplog):
    broken = ConverterPool(1, base_dir=tmp_path / "lo", soffice="/bin/false", start_timeout=2)
    monkeypatch.setattr(lo, "_default_pool", broken)
    try:
        version = upload(marketing, docfiles.make_docx(tmp_path / "memo.docx", ["Quarterly memo"]))
    finally:
        broken.close()

    assert version.state == VersionState.READY.value and version.thumbnail_key == ""
    assert "Quarterly memo" in version.text
    assert "cobrand.convert_failed" in caplog.text


# --------------------------------------------------------------------------- backfill


def backfill() -> dict:
    """Queue the backfill job and commit (it runs inline); its result."""
    with Session(kbdb.get_engine()) as session:
        job_id = jobs.enqueue(session, version_check.THUMBNAIL_BACKFILL_JOB).id
        session.commit()
        outcome = jobs.status_unchecked(session, job_id)
    assert outcome.state == "done"
    return outcome.result


def test_the_backfill_gives_older_word_versions_their_thumbnail_and_page_count(marketing, pool, tmp_path,
                                                                               monkeypatch):
    with monkeypatch.context() as without_libreoffice:
        without_libreoffice.setattr(lo, "find_soffice", lambda: None)
        before = upload(marketing, docx_with_black_block(tmp_path / "old.docx", pages=2))
    assert before.thumbnail_key == "" and before.page_count == 1

    result = backfill()

    with Session(kbdb.get_engine()) as session:
        after = session.get(DocumentVersion, before.id)
    assert result == {"missing": 1, "added": 1}
    assert after.thumbnail_key == f"documents/{after.document_id}/thumbs/v1.png" and after.page_count == 2
    assert mean(thumbnail(after), (0.25, 0.15, 0.75, 0.40)) < DARK


def test_the_backfill_leaves_versions_with_a_thumbnail_alone(marketing, pool, tmp_path):
    version = upload(marketing, docfiles.make_docx(tmp_path / "memo.docx"))
    jobs_before = pool.stats.jobs

    assert backfill() == {"missing": 0, "added": 0}
    assert pool.stats.jobs == jobs_before
    assert [b.key for b in get_blob_store().list_versions(f"documents/{version.document_id}/thumbs/")] == [
        version.thumbnail_key]

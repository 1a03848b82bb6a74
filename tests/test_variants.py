"""Translated variants of documents, end to end: real tiny Argos packages (a word-by-word
model: "The house is very small." is "Die haus ist sehr klein."), a real SQLite
database, real storage (SeaweedFS where the bytes matter), jobs run inline.

A variant is visible exactly when its document is: forbidden answers NotFound.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import docx
import pytest
from sqlmodel import Session, select

from kbportal import db as kbdb
from kbportal.config import reset_settings
from kbportal.models import AuditEvent, DocumentVariant, Role
from kbportal.services import jobs, repository, searching, translation, variants
from kbportal.services.access import AudienceRule
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.services.search import SearchQuery
from kbportal.services.translation import PairMissing
from kbportal.storage import get_blob_store, reset_blob_store

import docfiles
from factories import Template, actor_of, build_template, make_org, make_user, principal_of

pytest_plugins = ["argos_models"]

APAC = AudienceRule(regions=frozenset({"APAC"}))
TITLE, DESCRIPTION = "The partner guide", "The new price list."
BODY = "The house is very small."


@dataclass(frozen=True)
class World:
    marketing: int
    ana: int  # partner_user, APAC gold, reads German
    fred: int  # partner_user, APAC gold, reads French (no en-fr package)
    eve: int  # partner_user, EMEA: outside the APAC audience, reads German


def _build(session: Session) -> World:
    apac = make_org(session, "Alpha Asia", region="APAC", tier="gold")
    emea = make_org(session, "Euro Silver", region="EMEA", tier="silver")
    return World(
        marketing=make_user(session, "mia@vendor.example", Role.MARKETING).id,
        ana=make_user(session, "ana@alpha.example", Role.PARTNER_USER, org=apac, ui_language="de").id,
        fred=make_user(session, "fred@alpha.example", Role.PARTNER_USER, org=apac, ui_language="fr").id,
        eve=make_user(session, "eve@euro.example", Role.PARTNER_USER, org=emea, ui_language="de").id,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "variants", _build)


def _install_packages(installed_packages: Path) -> None:
    shutil.copytree(installed_packages, translation.translation_dir() / "packages")


@pytest.fixture
def world(template, db_from_template, installed_packages, monkeypatch) -> World:
    """The users in this test's own database, documents on the filesystem store, every tiny pair installed."""
    monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    reset_settings()
    reset_blob_store()
    built = db_from_template(template)
    reset_blob_store()
    _install_packages(installed_packages)
    return built


@pytest.fixture
def s3_world(request, template, db_from_template, installed_packages) -> World:
    """Like ``world``, documents and variants in a real S3 server (SeaweedFS)."""
    request.getfixturevalue("use_s3_storage")
    built = db_from_template(template)
    reset_blob_store()
    _install_packages(installed_packages)
    return built


@pytest.fixture
def session(request) -> Iterator[Session]:
    for name in ("world", "s3_world"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
    with Session(kbdb.get_engine(), expire_on_commit=False) as s:
        yield s


# --------------------------------------------------------------------------- helpers


def who(session: Session, user_id: int):
    from kbportal.models import User

    user = session.get(User, user_id)
    return principal_of(session, user), actor_of(user)


def publish_document(world: World, path: Path, *, title: str = TITLE, description: str = DESCRIPTION,
                     audience: AudienceRule = APAC) -> int:
    """A published English document (its check runs inline when the upload commits)."""
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        ref = repository.create_document(s, principal, actor, repository.Upload(path, path.name), title=title,
                                         description=description, audience=audience, publish=True)
    return ref.document_id


def add_version(world: World, doc_id: int, path: Path) -> None:
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        repository.add_version(s, principal, actor, doc_id, repository.Upload(path, path.name), publish=True)


def request(world: World, user_id: int, doc_id: int, language: str = "de") -> variants.VariantRef:
    """Ask for a translation and let its job run (inline, after the commit)."""
    with kbdb.session_scope() as s:
        principal, actor = who(s, user_id)
        ref = variants.request_translation(s, principal, actor, doc_id, language)
    if ref.job_id is not None:
        assert jobs.wait(ref.job_id).state == "done"
    return ref


def review(world: World, variant_id: int, corrections: dict[str, str], *, title: str = "Der Leitfaden",
           description: str = "") -> variants.VariantRef:
    """Marketing approves with ``{source segment: corrected translation}``; the variant is
    made again (inline job) when a correction changed."""
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        ref = variants.review(s, principal, actor, variant_id, title, description,
                              {translation.segment_key(source): text for source, text in corrections.items()})
    if ref.job_id is not None:
        assert jobs.wait(ref.job_id).state == "done"
    return ref


def reader(session: Session, user_id: int, doc_id: int, language: str = "de") -> variants.ReaderView:
    return variants.for_reader(session, who(session, user_id)[0], doc_id, language)


def pdf_doc(world: World, tmp_path: Path, text: str = BODY, **kw) -> int:
    return publish_document(world, docfiles.make_pdf(tmp_path / "guide.pdf", [text]), **kw)


@pytest.fixture
def model_calls(monkeypatch) -> list[list[str]]:
    """Every batch the translation model is asked for (cache misses only)."""
    calls: list[list[str]] = []
    translator = translation.get_engine().translator
    original = translator.translate

    def counting(texts, source, target):
        calls.append(list(texts))
        return original(texts, source, target)

    monkeypatch.setattr(translator, "translate", counting)
    return calls


# --------------------------------------------------------------------------- machine translation


def test_metadata_is_translated_word_by_word(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    request(world, world.marketing, doc_id)

    view = reader(session, world.ana, doc_id)
    assert (view.title, view.description) == ("Die partner anleitung", "Die neu preis liste.")


def test_pdf_text_is_translated_into_readable_text(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    request(world, world.marketing, doc_id)

    variant = reader(session, world.ana, doc_id).variant
    assert variant.text == "Die haus ist sehr klein."
    assert (variant.kind, variant.state, variant.has_file) == ("machine", "ready", False)


def test_docx_variant_keeps_formatting_and_is_stored_in_s3(s3_world, session, tmp_path):
    source = tmp_path / "guide.docx"
    document = docx.Document()
    document.add_heading("The partner guide", level=1)
    paragraph = document.add_paragraph("This is ")
    paragraph.add_run("very").bold = True
    paragraph.add_run(" important.")
    document.save(str(source))
    doc_id = publish_document(s3_world, source)

    ref = request(s3_world, s3_world.marketing, doc_id)

    target = variants.open_variant_download(session, who(session, s3_world.ana)[0], ref.variant_id)
    assert target.key == f"documents/{doc_id}/variants/v1/de/guide (de).docx"
    (tmp_path / "out.docx").write_bytes(get_blob_store().get_bytes(target.key, target.storage_version_id))
    translated = docx.Document(str(tmp_path / "out.docx"))
    assert translated.paragraphs[0].text == "Die partner anleitung"
    assert translated.paragraphs[0].style.name == "Heading 1"
    assert [(r.text, r.bold) for r in translated.paragraphs[1].runs if r.text] == [
        ("Dies ist ", None), ("sehr", True), (" wichtig.", None)]


def test_a_second_translation_of_the_same_text_costs_no_model_call(world, session, tmp_path, model_calls):
    first = pdf_doc(world, tmp_path)
    request(world, world.marketing, first)
    assert model_calls, "the first translation runs the model"
    model_calls.clear()
    second = pdf_doc(world, tmp_path)

    request(world, world.marketing, second)

    assert model_calls == []
    assert reader(session, world.ana, second).variant.text == "Die haus ist sehr klein."


def test_requesting_an_up_to_date_variant_again_queues_nothing(world, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    first = request(world, world.marketing, doc_id)

    again = request(world, world.ana, doc_id)

    assert (again.variant_id, again.job_id, again.existing) == (first.variant_id, None, True)


def test_a_missing_pair_is_refused_naming_the_package(world, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    with pytest.raises(PairMissing) as refused:
        request(world, world.marketing, doc_id, "fr")

    assert refused.value.package == "translate-en_fr"


# --------------------------------------------------------------------------- stale and fallback


def test_publishing_a_new_version_marks_the_variant_stale_with_a_notice(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    request(world, world.marketing, doc_id)

    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The house is big."]))

    view = reader(session, world.ana, doc_id)
    assert (view.mode, view.stale, view.notice_key) == ("variant", True, "variant.stale_notice")
    assert view.original_url == f"/documents/{doc_id}?lang=en"
    assert view.variant.source_number == 1


def test_rolling_back_to_the_translated_version_makes_the_variant_current_again(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    request(world, world.marketing, doc_id)
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The house is big."]))

    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        repository.publish_version(s, principal, actor, doc_id, 1)

    assert reader(session, world.ana, doc_id).stale is False


def test_a_stale_variant_stays_readable_while_its_replacement_is_translated(world, session, tmp_path, monkeypatch):
    doc_id = pdf_doc(world, tmp_path)
    request(world, world.marketing, doc_id)
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The house is big."]))
    monkeypatch.setenv("KBPORTAL_JOBS", "queue")  # the job waits in the table until run below
    reset_settings()
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.ana)
        ref = variants.request_translation(s, principal, actor, doc_id, "de")

    meanwhile = reader(session, world.ana, doc_id)
    jobs.run(ref.job_id)
    after = reader(session, world.ana, doc_id)

    assert (meanwhile.mode, meanwhile.stale, meanwhile.pending_job_id) == ("variant", True, ref.job_id)
    assert meanwhile.variant.text == "Die haus ist sehr klein."
    assert (after.stale, after.variant.source_number, after.variant.text) == (False, 2, "Die haus ist groß.")


def test_without_a_variant_the_reader_sees_the_source_and_may_translate(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    view = reader(session, world.ana, doc_id)

    assert (view.mode, view.notice_key, view.can_translate) == ("fallback", "variant.no_translation", True)
    assert view.title == TITLE


def test_without_an_installed_pair_the_fallback_offers_no_translate_action(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    view = reader(session, world.fred, doc_id, "fr")

    assert (view.mode, view.can_translate) == ("fallback", False)


def test_a_partner_may_request_a_translation_into_their_own_language(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    request(world, world.ana, doc_id)

    assert reader(session, world.ana, doc_id).variant.title == "Die partner anleitung"


def test_a_partner_may_not_request_another_language_than_their_own(world, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    with pytest.raises(ValidationFailed) as refused:
        request(world, world.ana, doc_id, "ja")

    assert refused.value.code == "variant.own_language_only"


# --------------------------------------------------------------------------- review and human uploads


def test_review_turns_machine_output_into_a_reviewed_translation(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)

    review(world, ref.variant_id, {BODY: "Das Haus ist sehr klein."}, title="Der Partnerleitfaden",
           description="Die neue Preisliste.")

    view = reader(session, world.ana, doc_id)
    assert (view.variant.kind, view.title, view.variant.text) == ("reviewed", "Der Partnerleitfaden",
                                                                  "Das Haus ist sehr klein.")
    assert view.variant.reviewed_by_name == "Mia"


def test_a_human_upload_wins_over_machine_output(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        path = docfiles.make_pdf(tmp_path / "leitfaden.pdf", ["Das Haus ist klein."])
        variants.upload_human_translation(s, principal, actor, doc_id, "de", repository.Upload(path, path.name),
                                          title="Der Leitfaden")

    again = request(world, world.ana, doc_id)

    view = reader(session, world.ana, doc_id)
    assert again.job_id is None
    assert (view.variant.kind, view.title, view.variant.filename) == ("human", "Der Leitfaden", "leitfaden.pdf")
    assert "Das Haus ist klein." in view.variant.text


def test_a_machine_job_finishing_after_a_human_upload_is_discarded(world, session, tmp_path, monkeypatch):
    monkeypatch.setenv("KBPORTAL_JOBS", "queue")  # the job waits in the table until run below
    reset_settings()
    doc_id = pdf_doc(world, tmp_path)
    jobs.run_queued()
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        ref = variants.request_translation(s, principal, actor, doc_id, "de")
        path = docfiles.make_pdf(tmp_path / "leitfaden.pdf", ["Das Haus ist klein."])
        variants.upload_human_translation(s, principal, actor, doc_id, "de", repository.Upload(path, path.name))

    jobs.run(ref.job_id)

    assert jobs.wait(ref.job_id).result.get("discarded") is True
    assert session.exec(select(DocumentVariant)).one().kind == "human"


def test_request_review_and_upload_are_audited(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        variants.review(s, principal, actor, ref.variant_id, "Der Leitfaden", "")
        path = docfiles.make_pdf(tmp_path / "leitfaden.pdf", ["Das Haus."])
        variants.upload_human_translation(s, principal, actor, doc_id, "de", repository.Upload(path, path.name))

    actions = session.exec(select(AuditEvent.action).where(AuditEvent.action.startswith("variant."))).all()
    assert actions == ["variant.requested", "variant.reviewed", "variant.uploaded"]


def test_staff_list_every_variant_of_a_document(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    request(world, world.marketing, doc_id, "de")
    request(world, world.marketing, doc_id, "ja")

    listed = variants.list_variants(session, who(session, world.marketing)[0], doc_id)

    assert [(v.language, v.title) for v in listed] == [("de", "Die partner anleitung"),
                                                       ("ja", "その partner ガイド")]


def test_gc_keeps_the_files_of_variants(world, session, tmp_path):
    doc_id = publish_document(world, docfiles.make_docx(tmp_path / "guide.docx", ["The house is very small."]))
    ref = request(world, world.marketing, doc_id)

    report = repository.gc(session, grace=timedelta(0))

    target = variants.open_variant_download(session, who(session, world.ana)[0], ref.variant_id)
    assert report.removed == []
    assert get_blob_store().stat(target.key, target.storage_version_id).size == target.size


# --------------------------------------------------------------------------- search


def test_a_german_search_finds_the_german_variant(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    request(world, world.marketing, doc_id)

    result = searching.search(session, who(session, world.ana)[0], SearchQuery(text="anleitung", language="de"),
                              record=False)

    assert [(h.object_id, h.language, h.is_translation) for h in result.hits] == [(doc_id, "de", True)]
    assert result.hits[0].title == "Die partner anleitung"


def test_a_reviewed_title_is_what_search_finds(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        variants.review(s, principal, actor, ref.variant_id, "Handbuch", "")

    result = searching.search(session, who(session, world.ana)[0], SearchQuery(text="handbuch", language="de"),
                              record=False)

    assert [h.object_id for h in result.hits] == [doc_id]


# --------------------------------------------------------------------------- permission leaks


def test_a_partner_outside_the_audience_cannot_read_the_variant(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    request(world, world.marketing, doc_id)

    with pytest.raises(NotFound):
        reader(session, world.eve, doc_id)


def test_a_partner_outside_the_audience_cannot_request_a_translation(world, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    with pytest.raises(NotFound):
        request(world, world.eve, doc_id)


def test_a_partner_outside_the_audience_cannot_download_the_variant(world, session, tmp_path):
    source = docfiles.make_docx(tmp_path / "guide.docx", ["The house is very small."])
    doc_id = publish_document(world, source)
    ref = request(world, world.marketing, doc_id)

    with pytest.raises(NotFound):
        variants.open_variant_download(session, who(session, world.eve)[0], ref.variant_id)
    assert variants.open_variant_download(session, who(session, world.ana)[0], ref.variant_id).size > 0


def test_a_partner_outside_the_audience_does_not_find_the_variant(world, session, tmp_path):
    pdf_doc(world, tmp_path)

    result = searching.search(session, who(session, world.eve)[0], SearchQuery(text="anleitung", language="de"),
                              record=False)

    assert result.hits == ()


def test_a_partner_cannot_review_a_variant(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)
    principal, actor = who(session, world.ana)

    with pytest.raises(NotFound):
        variants.review(session, principal, actor, ref.variant_id, "Mein Titel", "")


def test_a_partner_cannot_upload_a_translation(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    principal, actor = who(session, world.ana)
    path = docfiles.make_pdf(tmp_path / "leitfaden.pdf", ["Das Haus."])

    with pytest.raises(NotFound):
        variants.upload_human_translation(session, principal, actor, doc_id, "de", repository.Upload(path, path.name))


def test_a_partner_cannot_list_variants(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)

    with pytest.raises(NotFound):
        variants.list_variants(session, who(session, world.ana)[0], doc_id)


# --------------------------------------------------------------------------- segment review


def formatted_docx(path: Path) -> Path:
    """A heading and a paragraph with one bold word."""
    document = docx.Document()
    document.add_heading("The partner guide", level=1)
    paragraph = document.add_paragraph("This is ")
    paragraph.add_run("very").bold = True
    paragraph.add_run(" important.")
    document.save(str(path))
    return path


def download(session: Session, user_id: int, variant_id: int, dest: Path):
    target = variants.open_variant_download(session, who(session, user_id)[0], variant_id)
    dest.write_bytes(get_blob_store().get_bytes(target.key, target.storage_version_id))
    return target, docx.Document(str(dest))


def segments(session: Session, variant_id: int, **kw) -> variants.SegmentPage:
    return variants.review_segments(session, who(session, session_marketing(session))[0], variant_id, **kw)


def session_marketing(session: Session) -> int:
    from kbportal.models import User

    return session.exec(select(User.id).where(User.email == "mia@vendor.example")).one()


def test_the_reviewer_sees_each_source_segment_beside_its_machine_translation(world, session, tmp_path):
    doc_id = publish_document(world, formatted_docx(tmp_path / "guide.docx"))
    ref = request(world, world.marketing, doc_id)

    page = segments(session, ref.variant_id)

    assert [(s.source, s.machine, s.edited) for s in page.items] == [
        ("The partner guide", "Die partner anleitung", None), ("This is very important.", "Dies ist sehr wichtig.", None)]
    assert (page.total, page.pages, page.changed, page.editable) == (2, 1, 0, True)


def test_a_reviewed_docx_is_written_again_with_the_corrections_keeping_its_formatting(s3_world, session, tmp_path):
    doc_id = publish_document(s3_world, formatted_docx(tmp_path / "guide.docx"))
    ref = request(s3_world, s3_world.marketing, doc_id)
    before, _ = download(session, s3_world.ana, ref.variant_id, tmp_path / "before.docx")

    review(s3_world, ref.variant_id, {"The partner guide": "Der Partner-Leitfaden"})

    after, translated = download(session, s3_world.ana, ref.variant_id, tmp_path / "after.docx")
    assert (after.key, after.storage_version_id != before.storage_version_id) == (before.key, True)
    assert translated.paragraphs[0].text == "Der Partner-Leitfaden"
    assert translated.paragraphs[0].style.name == "Heading 1"
    assert [(r.text, r.bold) for r in translated.paragraphs[1].runs if r.text] == [
        ("Dies ist ", None), ("sehr", True), (" wichtig.", None)]


def test_the_text_of_a_reviewed_docx_is_rebuilt_from_its_segments(world, session, tmp_path):
    doc_id = publish_document(world, formatted_docx(tmp_path / "guide.docx"))
    ref = request(world, world.marketing, doc_id)

    review(world, ref.variant_id, {"The partner guide": "Der Partner-Leitfaden"})

    view = reader(session, world.ana, doc_id)
    assert view.variant.text == "Der Partner-Leitfaden\n\nDies ist sehr wichtig."
    assert (view.variant.kind, view.variant.state, view.pending_job_id) == ("reviewed", "ready", None)


def test_a_rewritten_formatted_sentence_keeps_the_reviewers_words(world, session, tmp_path):
    doc_id = publish_document(world, formatted_docx(tmp_path / "guide.docx"))
    ref = request(world, world.marketing, doc_id)

    review(world, ref.variant_id, {"This is very important.": "Das ist äußerst wichtig."})

    _, translated = download(session, world.ana, ref.variant_id, tmp_path / "after.docx")
    assert translated.paragraphs[1].text == "Das ist äußerst wichtig."


def test_corrected_pdf_text_is_what_readers_and_search_see(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path, "The house is very small. The partner is new.")
    ref = request(world, world.marketing, doc_id)

    review(world, ref.variant_id, {"The house is very small.": "Das Gebäude ist winzig."})

    assert reader(session, world.ana, doc_id).variant.text == "Das Gebäude ist winzig. Die partner ist neu."
    result = searching.search(session, who(session, world.ana)[0], SearchQuery(text="gebäude", language="de"),
                              record=False)
    assert [h.object_id for h in result.hits] == [doc_id]


def test_only_changed_lists_the_corrected_segments(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path, "The house is very small. The partner is new. The dog is big.")
    ref = request(world, world.marketing, doc_id)
    review(world, ref.variant_id, {"The partner is new.": "Der Partner ist neu."})

    changed = segments(session, ref.variant_id, only_changed=True)

    assert [(s.source, s.edited) for s in changed.items] == [("The partner is new.", "Der Partner ist neu.")]
    assert (changed.total, changed.changed) == (1, 1)


def test_segments_are_paginated(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path, "The house is very small. The partner is new. The dog is big.")
    ref = request(world, world.marketing, doc_id)

    second = segments(session, ref.variant_id, page=2, per_page=2)

    assert [s.source for s in second.items] == ["The dog is big."]
    assert (second.page, second.pages, second.total) == (2, 2, 3)


def test_a_correction_back_to_the_machine_translation_is_dropped(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)
    review(world, ref.variant_id, {BODY: "Das Haus ist winzig."})

    review(world, ref.variant_id, {BODY: "Die haus ist sehr klein."})

    assert segments(session, ref.variant_id).changed == 0
    assert reader(session, world.ana, doc_id).variant.text == "Die haus ist sehr klein."


def test_a_correction_of_an_unknown_segment_is_refused(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)

    with pytest.raises(ValidationFailed) as refused:
        review(world, ref.variant_id, {"Not in the document.": "Nicht im Dokument."})

    assert refused.value.code == "variant.unknown_segment"


def test_a_human_translation_has_no_segments_to_correct(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        path = docfiles.make_pdf(tmp_path / "leitfaden.pdf", ["Das Haus ist klein."])
        ref = variants.upload_human_translation(s, principal, actor, doc_id, "de", repository.Upload(path, path.name))

    assert segments(session, ref.variant_id).editable is False
    with pytest.raises(ValidationFailed) as refused:
        review(world, ref.variant_id, {BODY: "Das Haus ist winzig."})
    assert refused.value.code == "variant.human_no_segments"


def test_a_new_source_version_reuses_the_corrections_of_unchanged_segments(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path, "The house is very small. The partner is new.")
    ref = request(world, world.marketing, doc_id)
    review(world, ref.variant_id, {"The house is very small.": "Das Gebäude ist winzig."})
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The house is very small. The dog is big."]))

    request(world, world.marketing, doc_id)

    variant = reader(session, world.ana, doc_id).variant
    assert (variant.text, variant.kind, variant.source_number) == ("Das Gebäude ist winzig. Die hund ist groß.",
                                                                   "machine", 2)


def test_a_new_source_version_keeps_the_reviewed_title_and_description(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)
    review(world, ref.variant_id, {}, title="Der Partnerleitfaden", description="Die neue Preisliste.")
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The dog is big."]))

    request(world, world.marketing, doc_id)

    view = reader(session, world.ana, doc_id)
    assert (view.variant.kind, view.variant.source_number, view.title, view.description, view.variant.text) == (
        "machine", 2, "Der Partnerleitfaden", "Die neue Preisliste.", "Die hund ist groß.")


def test_a_changed_original_title_gets_machine_output_again_and_the_unchanged_description_is_kept(
        world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)
    review(world, ref.variant_id, {}, title="Der Partnerleitfaden", description="Die neue Preisliste.")
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        repository.update_metadata(s, principal, actor, doc_id, title="The dog guide")
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The dog is big."]))

    request(world, world.marketing, doc_id)

    view = reader(session, world.ana, doc_id)
    assert (view.title, view.description) == ("Die hund anleitung", "Die neue Preisliste.")


def test_the_title_given_with_a_human_translation_is_kept_when_the_machine_translates_a_new_version(
        world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        path = docfiles.make_pdf(tmp_path / "leitfaden.pdf", ["Das Haus ist klein."])
        variants.upload_human_translation(s, principal, actor, doc_id, "de", repository.Upload(path, path.name),
                                          title="Der Leitfaden für Partner")
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The dog is big."]))

    request(world, world.marketing, doc_id)

    view = reader(session, world.ana, doc_id)
    assert (view.variant.kind, view.title, view.description) == ("machine", "Der Leitfaden für Partner",
                                                                 "Die neu preis liste.")


def test_the_library_card_carries_the_title_of_a_ready_translation_into_the_readers_language(
        world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    other = pdf_doc(world, tmp_path, title="The dog guide")
    request(world, world.marketing, doc_id)

    def cards(language: str) -> dict[int, repository.DocumentCard]:
        page = repository.list_documents(session, who(session, world.ana)[0],
                                         repository.DocumentFilters(reader_language=language))
        return {card.id: card for card in page.items}

    german = cards("de")
    assert (german[doc_id].title, german[doc_id].local_title, german[doc_id].local_kind) == (
        TITLE, "Die partner anleitung", "machine")
    assert german[other].local_title == ""  # not translated: the card keeps the original title
    assert cards("fr")[doc_id].local_title == "" and cards("")[doc_id].local_title == ""


def test_the_library_filter_finds_a_document_by_its_translated_title(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    pdf_doc(world, tmp_path, title="The dog guide")
    request(world, world.marketing, doc_id)

    def found(query: str, language: str) -> list[int]:
        return [card.id for card in repository.list_documents(session, who(session, world.ana)[0], repository.DocumentFilters(
            query=query, reader_language=language)).items]

    assert found("anleitung", "de") == [doc_id]  # "Die partner anleitung"
    assert found("anleitung", "fr") == []
    assert found("partner guide", "de") == [doc_id]  # the original title still matches


def test_a_partner_cannot_list_segments(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)

    with pytest.raises(NotFound):
        variants.review_segments(session, who(session, world.ana)[0], ref.variant_id)


# --------------------------------------------------------------------------- stale refresh and failures


def test_a_stale_machine_variant_offers_its_reader_an_update(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    request(world, world.marketing, doc_id)
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The house is big."]))

    assert reader(session, world.ana, doc_id).can_update is True


def test_a_stale_reviewed_variant_offers_partners_no_update(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)
    review(world, ref.variant_id, {})
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The house is big."]))

    view = reader(session, world.ana, doc_id)
    assert (view.stale, view.can_update) == (True, False)


def test_a_translation_whose_source_file_is_missing_fails_and_may_be_retried(world, session, tmp_path):
    doc_id = publish_document(world, docfiles.make_docx(tmp_path / "guide.docx", [BODY]))
    with kbdb.session_scope() as s:
        from kbportal.models import DocumentVersion

        version = s.exec(select(DocumentVersion).where(DocumentVersion.document_id == doc_id)).one()
        get_blob_store().delete_version(version.storage_key, version.storage_version_id)
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.ana)
        ref = variants.request_translation(s, principal, actor, doc_id, "de")
    assert jobs.wait(ref.job_id).state == "failed"

    view = reader(session, world.ana, doc_id)
    assert (view.mode, view.failed, view.can_translate) == ("fallback", True, True)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_staff_read_why_a_translation_failed_with_its_details_filled_in(world, session, tmp_path, lang):
    doc_id = publish_document(world, docfiles.make_docx(tmp_path / "guide.docx", [BODY]))
    with kbdb.session_scope() as s:
        from kbportal.models import DocumentVersion

        version = s.exec(select(DocumentVersion).where(DocumentVersion.document_id == doc_id)).one()
        key = version.storage_key
        get_blob_store().delete_version(version.storage_key, version.storage_version_id)
    with kbdb.session_scope() as s:
        principal, actor = who(s, world.marketing)
        ref = variants.request_translation(s, principal, actor, doc_id, "de")
    assert jobs.wait(ref.job_id).state == "failed"

    (failed,) = variants.list_variants(session, who(session, world.marketing)[0], doc_id)
    message = failed.failure_message(lang)
    assert "{" not in message and key in message


# --------------------------------------------------------------------------- following a job


def test_a_reader_of_the_document_follows_the_translation_job(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)

    status = variants.job_status(session, who(session, world.ana)[0], ref.job_id)

    assert (status.id, status.state) == (ref.job_id, "done")


def test_a_user_who_cannot_see_the_document_cannot_read_its_translation_job(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)

    with pytest.raises(NotFound):
        variants.job_status(session, who(session, world.eve)[0], ref.job_id)


def test_other_jobs_cannot_be_read_as_translation_jobs(world, session, tmp_path):
    pdf_doc(world, tmp_path)
    from kbportal.models import Job

    check_job = session.exec(select(Job.id).where(Job.kind != variants.TRANSLATE_JOB)).first()

    with pytest.raises(NotFound):
        variants.job_status(session, who(session, world.marketing)[0], check_job)


def test_a_partner_cannot_replace_a_stale_reviewed_variant_with_machine_output(world, session, tmp_path):
    doc_id = pdf_doc(world, tmp_path)
    ref = request(world, world.marketing, doc_id)
    review(world, ref.variant_id, {BODY: "Das Haus ist winzig."})
    add_version(world, doc_id, docfiles.make_pdf(tmp_path / "guide2.pdf", ["The house is big."]))

    with pytest.raises(ValidationFailed) as refused:
        request(world, world.ana, doc_id)

    assert refused.value.code == "variant.update_by_staff"
    assert reader(session, world.ana, doc_id).variant.text == "Das Haus ist winzig."


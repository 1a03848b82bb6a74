"""Co-branding as a product: template uploads, who may use which template, generation as
a job, the cache, failures, history, and the download route.

Real everything: SQLite, the upload check (child processes), the co-branding engine,
LibreOffice through the session's listener pool (``cobrand_pool``, made the process-wide
pool here), SeaweedFS for the end-to-end test. Faults are injected by pointing the
service at a broken or killed LibreOffice.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select
from starlette.testclient import TestClient

import docfiles
from cobrand_files import (
    LOGO_RED,
    PARTNER,
    PLACEHOLDER_BLUE,
    colour_box,
    make_logo,
    make_long_docx,
    make_pdf_template,
    make_plain_docx_template,
    pdf_text,
    render_page,
)
from factories import PASSWORD, Template, actor_of, build_template, make_org, make_user, principal_of
from kbportal import db as kbdb
from kbportal.api.routes import build_api
from kbportal.config import reset_settings
from kbportal.models import AuditEvent, Document, DocumentVersion, GeneratedPdf, Job, Role, User
from kbportal.services import auth, branding, cobranding, repository
from kbportal.services.access import AudienceRule
from kbportal.services.cobrand import ConverterPool
from kbportal.services.cobrand import converter as lo
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.storage import get_blob_store, reset_blob_store

pytest_plugins = ["cobrand_files"]

APAC_GOLD = AudienceRule(regions=frozenset({"APAC"}), min_tier="gold")
EMEA_ONLY = AudienceRule(regions=frozenset({"EMEA"}))
BRANDING = {
    "partner_name": PARTNER["partner_name"], "contact_name": PARTNER["partner_contact"],
    "email": PARTNER["partner_email"], "phone": PARTNER["partner_phone"], "website": PARTNER["partner_website"],
    "address": PARTNER["partner_address"], "footer": PARTNER["partner_footer"], "brand_colour": "#DC141E",
}
DOCX_LINES = [
    "Welcome, {{partner_name}}!",
    "Contact {{partner_contact}} at {{partner_email}} or {{partner_phone}}.",
    "Visit {{partner_website}}",
    "Address: {{partner_address}}",
    "Launch event on {{event_date}}",
    "{{partner_footer}}",
]


@dataclass(frozen=True)
class World:
    acme: int  # org APAC / gold: the branded partner
    euro: int  # org EMEA / silver
    marketing: int
    admin: int
    paula: int  # partner_admin of Acme
    ana: int  # partner_user of Acme
    eve: int  # partner_user of Euro


def _build(session: Session) -> World:
    acme = make_org(session, "Acme Widgets", "APAC", "gold")
    euro = make_org(session, "Euro Silver", "EMEA", "silver")
    return World(
        acme=acme.id, euro=euro.id,
        marketing=make_user(session, "mia@vendor.example", Role.MARKETING).id,
        admin=make_user(session, "root@vendor.example", Role.ADMIN).id,
        paula=make_user(session, "paula@acme.example", Role.PARTNER_ADMIN, org=acme).id,
        ana=make_user(session, "ana@acme.example", Role.PARTNER_USER, org=acme).id,
        eve=make_user(session, "eve@euro.example", Role.PARTNER_USER, org=euro).id,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "cobranding", _build)


@pytest.fixture
def world(template, db_from_template, monkeypatch) -> World:
    monkeypatch.setenv("KBPORTAL_STORAGE", "filesystem")
    reset_settings()
    reset_blob_store()
    built = db_from_template(template)
    reset_blob_store()
    return built


@pytest.fixture
def session(world) -> Session:
    with Session(kbdb.get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def pool(cobrand_pool, monkeypatch):
    """The session's LibreOffice pool is the process-wide one the job uses."""
    monkeypatch.setattr(lo, "_default_pool", cobrand_pool)
    return cobrand_pool


# --------------------------------------------------------------------------- helpers


def user(session: Session, user_id: int) -> User:
    return session.get(User, user_id)


def upload_template(session: Session, w: World, path: Path, *, audience=APAC_GOLD, publish: bool = True,
                    title: str = "Partner brochure", doc_type: str = "template") -> int:
    """Marketing uploads a template; the check runs when the upload commits (its refusal is raised)."""
    mia = user(session, w.marketing)
    ref = repository.create_document(session, principal_of(session, mia), actor_of(mia),
                                     repository.Upload(path=path, filename=path.name), title=title,
                                     doc_type=doc_type, audience=audience, publish=publish)
    session.commit()
    session.expire_all()
    repository.check_outcome(session, ref)
    return ref.document_id


def docx_template(tmp_path: Path, name: str = "brochure.docx", lines=DOCX_LINES) -> Path:
    return make_plain_docx_template(tmp_path / name, lines, logo=True)


def brand(session: Session, w: World, **changes) -> branding.BrandingInfo:
    paula = user(session, w.paula)
    fields = {**BRANDING, "logo_data": make_logo()} if not changes else changes
    info = branding.update_profile(session, principal_of(session, paula), actor_of(paula), w.acme, **fields)
    session.commit()
    return info


def ask(session: Session, user_id: int, doc_id: int, overrides: dict | None = None,
        **kwargs) -> cobranding.GenerationRef:
    """A request, committed: a job runs right then (KBPORTAL_JOBS=inline)."""
    who = user(session, user_id)
    ref = cobranding.request(session, principal_of(session, who), actor_of(who), doc_id, overrides, **kwargs)
    session.commit()
    session.expire_all()
    return ref


def outcome(session: Session, user_id: int, ref: cobranding.GenerationRef) -> cobranding.GenerationStatus:
    return cobranding.status(session, principal_of(session, user_id), ref.job_id)


def generated_id(session: Session, user_id: int, ref: cobranding.GenerationRef) -> int:
    if ref.generated_id is not None:
        return ref.generated_id
    done = outcome(session, user_id, ref)
    assert done.state == "done", (done.state, done.error and str(done.error))
    return done.generated.id


def fetch(session: Session, user_id: int, gid: int, dest: Path) -> Path:
    target = cobranding.open_generated(session, principal_of(session, user_id), gid)
    dest.write_bytes(get_blob_store().get_bytes(target.key, target.storage_version_id))
    return dest


def count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def generation_jobs(session: Session) -> int:
    return count(session, Job, Job.kind == cobranding.GENERATE_JOB)


def generated_events(session: Session) -> list[dict]:
    rows = session.exec(select(AuditEvent).where(AuditEvent.action == "cobrand.generated").order_by(col(AuditEvent.id)))
    return [{"actor": e.actor_email, "target": e.target_id, **json.loads(e.detail)} for e in rows]


def stored_fields(session: Session, doc_id: int) -> dict | None:
    return session.exec(select(DocumentVersion.template_fields).where(DocumentVersion.document_id == doc_id)).one()


# --------------------------------------------------------------------------- template uploads


def test_a_docx_template_upload_records_its_fields_and_logo_frame(world, session, tmp_path):
    doc_id = upload_template(session, world, docx_template(tmp_path))

    fields = stored_fields(session, doc_id)
    assert fields["kind"] == "docx" and fields["has_logo_frame"] is True
    assert fields["fields"] == ["partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
                                "partner_address", "event_date", "partner_footer"]


def test_a_pdf_template_upload_records_its_form_fields(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "prices.pdf"))

    card = cobranding.get_template(session, principal_of(session, world.ana), doc_id)
    assert (card.kind, card.has_logo_frame, card.custom_fields) == ("pdf", True, ("event_date",))
    assert card.standard_fields == ("partner_name", "partner_contact", "partner_email", "partner_phone",
                                    "partner_website", "partner_address")


def test_a_template_with_nothing_to_fill_in_is_refused_with_the_reason_and_not_kept(world, session, tmp_path):
    plain = make_plain_docx_template(tmp_path / "plain.docx", ["Just text, no placeholders."])

    with pytest.raises(ValidationFailed) as refused:
        upload_template(session, world, plain)

    assert (refused.value.code, refused.value.field) == ("cobrand.template_no_fields", "file")
    assert str(refused.value).startswith("This template has nothing to fill in. Add placeholders such as "
                                         "{{partner_name}}")
    assert count(session, Document) == 0 and count(session, DocumentVersion) == 0


def test_a_pdf_template_without_form_fields_is_refused(world, session, tmp_path):
    flat = docfiles.make_pdf(tmp_path / "flat.pdf", ["A PDF without form fields"])

    with pytest.raises(ValidationFailed) as refused:
        upload_template(session, world, flat)

    assert refused.value.code == "cobrand.template_no_fields"


def test_an_unreadable_template_is_refused_with_the_reason(world, session, tmp_path):
    broken = docfiles.make_corrupt_pdf(tmp_path / "broken.pdf")

    with pytest.raises(ValidationFailed) as refused:
        upload_template(session, world, broken)

    assert refused.value.field == "file"
    assert refused.value.code in ("doc.damaged_pdf", "cobrand.template_unreadable")
    assert "damaged" in str(refused.value)


@pytest.mark.parametrize("make, kind", [
    (lambda p: docfiles.make_text(p / "fields.txt", "Hello {{partner_name}}\n"), "txt"),
    (lambda p: docfiles.make_pptx(p / "deck.pptx", ["Hello {{partner_name}}"]), "pptx"),
], ids=["text", "powerpoint"])
def test_a_template_that_is_neither_docx_nor_pdf_is_refused(world, session, tmp_path, make, kind):
    with pytest.raises(ValidationFailed) as refused:
        upload_template(session, world, make(tmp_path))

    assert (refused.value.code, refused.value.params) == ("cobrand.template_kind", {"kind": kind})
    assert str(refused.value) == (f'Templates must be Word (.docx) or PDF files, not "{kind}". Convert the file and '
                                  "upload it again.")
    assert count(session, Document) == 0


def test_other_document_types_are_not_checked_as_templates(world, session, tmp_path):
    doc_id = upload_template(session, world, make_plain_docx_template(tmp_path / "memo.docx", ["No fields"]),
                             doc_type="brochure")

    assert stored_fields(session, doc_id) is None


def test_a_new_template_version_gets_its_own_fields(world, session, tmp_path):
    doc_id = upload_template(session, world, docx_template(tmp_path))
    mia = user(session, world.marketing)
    ref = repository.add_version(session, principal_of(session, mia), actor_of(mia), doc_id,
                                 repository.Upload(path=docx_template(tmp_path, "v2.docx", ["Hi {{slogan}}"]),
                                                   filename="brochure.docx"), publish=True)
    session.commit()
    session.expire_all()
    repository.check_outcome(session, ref)

    card = cobranding.get_template(session, principal_of(session, world.ana), doc_id)
    assert (card.version_number, card.fields, card.custom_fields) == (2, ("slogan",), ("slogan",))


# --------------------------------------------------------------------------- who may use which template


def test_usable_templates_are_the_published_templates_the_audience_admits(world, session, tmp_path):
    apac = upload_template(session, world, docx_template(tmp_path), title="APAC brochure")
    emea = upload_template(session, world, make_pdf_template(tmp_path / "emea.pdf"), audience=EMEA_ONLY,
                           title="EMEA price list")
    upload_template(session, world, make_pdf_template(tmp_path / "draft.pdf"), publish=False, title="Draft")
    upload_template(session, world, docfiles.make_pdf(tmp_path / "b.pdf"), doc_type="brochure", title="Brochure")

    def usable(user_id: int) -> list[int]:
        return [t.document_id for t in cobranding.usable_templates(session, principal_of(session, user_id))]

    assert usable(world.ana) == [apac]
    assert usable(world.eve) == [emea]
    assert usable(world.marketing) == [apac, emea]  # staff: every published template, never drafts or brochures


def test_a_partner_cannot_generate_from_a_template_outside_its_audience(world, session, tmp_path):
    emea = upload_template(session, world, make_pdf_template(tmp_path / "emea.pdf"), audience=EMEA_ONLY)
    draft = upload_template(session, world, make_pdf_template(tmp_path / "draft.pdf"), publish=False)

    for doc_id in (emea, draft, emea + 1000):
        with pytest.raises(NotFound):
            ask(session, world.ana, doc_id)
        session.rollback()
    with pytest.raises(NotFound):
        cobranding.get_template(session, principal_of(session, world.ana), emea)
    assert generation_jobs(session) == 0


def test_a_brochure_is_not_a_template(world, session, tmp_path):
    brochure = upload_template(session, world, docfiles.make_pdf(tmp_path / "b.pdf"), doc_type="brochure")

    with pytest.raises(NotFound):
        ask(session, world.ana, brochure)


def test_staff_need_an_organisation_whose_branding_to_use(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))

    with pytest.raises(ValidationFailed) as refused:
        ask(session, world.marketing, doc_id)
    assert refused.value.code == "cobrand.no_organisation"
    session.rollback()

    ref = ask(session, world.marketing, doc_id, org_id=world.acme)  # marketing tries a partner's branding
    assert outcome(session, world.marketing, ref).state == "done"


def test_a_partner_cannot_use_another_organisations_branding(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"), audience=AudienceRule(
        all_regions=True))

    with pytest.raises(NotFound):
        ask(session, world.eve, doc_id, org_id=world.acme)


def test_staff_may_try_a_draft_version_partners_may_not(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"), publish=False)

    ref = ask(session, world.marketing, doc_id, org_id=world.acme, version=1)
    assert outcome(session, world.marketing, ref).state == "done"
    with pytest.raises(NotFound):
        ask(session, world.ana, doc_id, version=1)


# --------------------------------------------------------------------------- generation


def test_a_docx_template_becomes_the_partners_pdf_with_its_logo_end_to_end_on_s3(world, session, tmp_path, pool,
                                                                                 use_s3_storage):
    doc_id = upload_template(session, world, docx_template(tmp_path))
    brand(session, world)

    ref = ask(session, world.ana, doc_id, {"event_date": PARTNER["event_date"]})

    assert ref.job_id is not None and not ref.cached
    done = outcome(session, world.ana, ref)
    assert (done.state, done.progress, done.error) == ("done", 100, None)
    item = done.generated
    assert (item.org_id, item.user_id, item.template_version, item.branding_version) == (world.acme, world.ana, 1, 1)
    assert item.overrides == {"event_date": PARTNER["event_date"]}
    assert item.filename == f"Partner brochure - {PARTNER['partner_name']}.pdf"
    row = session.get(GeneratedPdf, item.id)
    assert row.storage_key == f"generated/{world.acme}/{ref.cache_key}.pdf"
    assert [b.key for b in get_blob_store().list_versions("generated/")] == [row.storage_key]

    pdf = fetch(session, world.ana, item.id, tmp_path / "out.pdf")
    text = pdf_text(pdf)
    assert "{{" not in text and "}}" not in text
    for key in ("partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
                "partner_footer", "event_date"):
        assert PARTNER[key] in text, key
    assert "Hauptstrasse 1" in text and "10115 Berlin" in text
    from pypdf import PdfReader

    assert PdfReader(pdf).metadata.title == f"Partner brochure \u2013 {PARTNER['partner_name']}"

    page = render_page(pdf, 1, dpi=50)  # the red logo sits in the 2 x 1 inch frame at the top of page 1
    red, box = colour_box(page, LOGO_RED)
    assert red > 0.6 * 50 * 50, red
    assert box[1] < 150 and abs((box[2] - box[0]) - (box[3] - box[1])) <= 3, box
    assert colour_box(page, PLACEHOLDER_BLUE)[0] == 0


def test_every_generation_is_audited(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))
    brand(session, world)

    ref = ask(session, world.ana, doc_id)

    [event] = generated_events(session)
    gid = generated_id(session, world.ana, ref)
    assert event["actor"] == "ana@acme.example" and event["target"] == str(doc_id)
    assert (event["generated_id"], event["org_id"], event["cached"], event["branding_version"]) == (
        gid, world.acme, False, 1)


def test_a_repeat_request_is_served_from_the_cache_without_a_job(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))
    brand(session, world)
    first = ask(session, world.ana, doc_id, {"event_date": "May"})
    jobs_before = generation_jobs(session)

    again = ask(session, world.paula, doc_id, {"EVENT_DATE": " May "})

    assert again.cached and again.job_id is None and again.cache_key == first.cache_key
    assert again.generated_id == generated_id(session, world.ana, first)
    assert generation_jobs(session) == jobs_before and count(session, GeneratedPdf) == 1
    assert [e["cached"] for e in generated_events(session)] == [False, True]
    assert generated_events(session)[1]["actor"] == "paula@acme.example"


def test_gc_keeps_generated_pdfs_their_rows_reference(world, session, tmp_path):
    from datetime import timedelta

    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))
    brand(session, world)
    ask(session, world.ana, doc_id)
    before = [b.key for b in get_blob_store().list_versions("generated/")]

    report = repository.gc(session, grace=timedelta(0))

    assert before and not [r for r in report.removed if r.key.startswith(("generated/", "branding/"))]
    assert [b.key for b in get_blob_store().list_versions("generated/")] == before


def test_a_branding_change_or_other_values_make_a_new_pdf(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))
    brand(session, world)
    first = ask(session, world.ana, doc_id)

    by_values = ask(session, world.ana, doc_id, {"partner_phone": "+49 30 7654321"})
    brand(session, world, footer="Acme \u2013 new footer")
    by_branding = ask(session, world.ana, doc_id)

    keys = {first.cache_key, by_values.cache_key, by_branding.cache_key}
    assert len(keys) == 3 and not by_values.cached and not by_branding.cached
    assert count(session, GeneratedPdf) == 3
    assert "+49 30 7654321" in pdf_text(fetch(session, world.ana, generated_id(session, world.ana, by_values),
                                               tmp_path / "v.pdf"))


def test_a_pdf_template_is_filled_with_branding_and_typed_values(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))
    brand(session, world)

    ref = ask(session, world.ana, doc_id, {"event_date": "12 March 2027", "partner_contact": "John Roe"})

    text = pdf_text(fetch(session, world.ana, generated_id(session, world.ana, ref), tmp_path / "out.pdf"))
    assert PARTNER["partner_name"] in text and "12 March 2027" in text and "John Roe" in text
    assert PARTNER["partner_contact"] not in text  # overridden for this PDF only
    assert branding.get_profile(session, principal_of(session, world.ana), world.acme).contact_name == \
        PARTNER["partner_contact"]


def test_a_field_the_template_does_not_have_is_refused(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))

    with pytest.raises(ValidationFailed) as refused:
        ask(session, world.ana, doc_id, {"evnt_date": "May"})

    assert (refused.value.code, refused.value.field) == ("cobrand.unknown_field", "evnt_date")
    assert refused.value.params["known"].startswith("partner_name, partner_contact")
    assert generation_jobs(session) == 0


def test_a_value_too_long_is_refused_before_any_job(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))

    with pytest.raises(ValidationFailed) as refused:
        ask(session, world.ana, doc_id, {"event_date": "x" * 2001})

    assert (refused.value.code, refused.value.field) == ("cobrand.value_too_long", "event_date")
    assert generation_jobs(session) == 0


def test_non_latin_text_on_a_pdf_template_fails_the_job_with_the_engines_sentence(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))

    ref = ask(session, world.ana, doc_id, {"partner_name": "株式会社サンプル"})

    failed = outcome(session, world.ana, ref)
    assert (failed.state, failed.retryable) == ("failed", False)
    assert failed.error.code == "cobrand.pdf_script_unsupported" and failed.error.params["name"] == "partner_name"
    assert str(failed.error).startswith('"partner_name" contains characters this PDF template cannot show')
    assert count(session, GeneratedPdf) == 0 and list(get_blob_store().list_versions("generated/")) == []


def test_a_broken_libreoffice_fails_the_job_clearly_and_a_retry_succeeds(world, session, tmp_path, monkeypatch,
                                                                          cobrand_pool):
    doc_id = upload_template(session, world, docx_template(tmp_path))
    broken = ConverterPool(1, soffice="/bin/false", uno_python="", base_dir=tmp_path / "broken", job_timeout=30)
    monkeypatch.setattr(lo, "_default_pool", broken)
    try:
        ref = ask(session, world.ana, doc_id)
    finally:
        broken.close()

    failed = outcome(session, world.ana, ref)
    assert (failed.state, failed.retryable, failed.error.code) == ("failed", True, "cobrand.convert_failed")
    assert str(failed.error).startswith("The co-branded PDF could not be created. Try again;")
    assert count(session, GeneratedPdf) == 0

    monkeypatch.setattr(lo, "_default_pool", cobrand_pool)  # LibreOffice is back
    cobranding.retry(session, principal_of(session, world.ana), ref.job_id)
    session.commit()
    session.expire_all()
    assert outcome(session, world.ana, ref).state == "done"


def test_libreoffice_killed_mid_job_fails_the_job_with_a_clear_message(world, session, tmp_path, monkeypatch):
    long_template = make_long_docx(tmp_path / "long.docx", paragraphs=2500)
    doc_id = upload_template(session, world, long_template)
    fragile = ConverterPool(1, base_dir=tmp_path / "fragile", job_timeout=90)
    fragile.start()
    monkeypatch.setattr(lo, "_default_pool", fragile)
    listener = fragile.listeners()[0]

    def kill_soffice_once_busy() -> None:
        deadline = time.monotonic() + 60
        while not listener.busy and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)
        pid = listener.soffice_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_soffice_once_busy)
    killer.start()
    try:
        ref = ask(session, world.ana, doc_id)
    finally:
        killer.join(70)
        fragile.close()

    failed = outcome(session, world.ana, ref)
    assert (failed.state, failed.retryable, failed.error.code) == ("failed", True, "cobrand.convert_failed")
    assert "could not be created" in str(failed.error)
    assert fragile.all_pids() == []


def test_a_job_status_belongs_to_the_user_who_asked(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))
    ref = ask(session, world.ana, doc_id)

    with pytest.raises(NotFound):
        cobranding.status(session, principal_of(session, world.paula), ref.job_id)


# --------------------------------------------------------------------------- history and downloads


def test_history_lists_my_organisations_pdfs_and_staff_see_all(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"), audience=AudienceRule(
        all_regions=True))
    mine = generated_id(session, world.ana, ask(session, world.ana, doc_id))
    theirs = generated_id(session, world.eve, ask(session, world.eve, doc_id))

    def history(user_id: int) -> list[int]:
        return [g.id for g in cobranding.history(session, principal_of(session, user_id))]

    assert history(world.ana) == history(world.paula) == [mine]
    assert history(world.eve) == [theirs]
    assert history(world.admin) == [theirs, mine]
    [item] = cobranding.history(session, principal_of(session, world.paula))
    assert (item.user_name, item.org_name, item.template_title) == ("Ana", "Acme Widgets", "Partner brochure")


def test_another_organisations_pdf_is_not_found(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))
    gid = generated_id(session, world.ana, ask(session, world.ana, doc_id))

    with pytest.raises(NotFound):
        cobranding.open_generated(session, principal_of(session, world.eve), gid)
    assert cobranding.open_generated(session, principal_of(session, world.marketing), gid).generated_id == gid


def client_for(email: str | None) -> TestClient:
    client = TestClient(build_api())
    if email:
        client.cookies.set("kbp_session", auth.authenticate(email, PASSWORD).token)
    return client


def test_the_download_route_serves_my_pdf_and_answers_404_for_another_organisation(world, session, tmp_path):
    doc_id = upload_template(session, world, make_pdf_template(tmp_path / "p.pdf"))
    brand(session, world)
    gid = generated_id(session, world.ana, ask(session, world.ana, doc_id))
    expected = fetch(session, world.ana, gid, tmp_path / "expected.pdf").read_bytes()
    url = f"/api/cobrand/{gid}/download"

    mine = client_for("paula@acme.example").get(url)
    assert mine.status_code == 200 and mine.content == expected
    assert mine.headers["content-type"] == "application/pdf"
    assert "attachment;" in mine.headers["content-disposition"] and "Acme%20Widgets%20GmbH.pdf" in \
        mine.headers["content-disposition"]
    resumed = client_for("paula@acme.example").get(url, headers={"Range": "bytes=100-",
                                                                 "If-Range": mine.headers["etag"]})
    assert resumed.status_code == 206 and resumed.content == expected[100:]

    other = client_for("eve@euro.example").get(url)
    missing = client_for("eve@euro.example").get(f"/api/cobrand/{gid + 999}/download")
    assert other.status_code == 404 and (other.status_code, other.json()) == (missing.status_code, missing.json())
    assert client_for(None).get(url).status_code == 404

    downloads = session.exec(select(AuditEvent).where(AuditEvent.action == "cobrand.downloaded")).all()
    assert [e.actor_email for e in downloads] == ["paula@acme.example"]  # the resumed range is not counted again


# --------------------------------------------------------------------------- PostgreSQL


def test_branding_generation_cache_and_history_work_on_postgres(postgres_url, tmp_path, monkeypatch):
    """Template check, branding, a generation job, the cache hit, history and download on a real PostgreSQL."""
    from factories import point_at

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
        doc_id = upload_template(s, w, make_pdf_template(tmp_path / "p.pdf"))
        brand(s, w)
        first = ask(s, w.ana, doc_id, {"event_date": "May"})
        again = ask(s, w.paula, doc_id, {"event_date": "May"})
        gid = generated_id(s, w.ana, first)

        assert stored_fields(s, doc_id)["kind"] == "pdf"
        assert [t.document_id for t in cobranding.usable_templates(s, principal_of(s, w.ana))] == [doc_id]
        assert again.cached and again.generated_id == gid
        assert [g.overrides for g in cobranding.history(s, principal_of(s, w.paula))] == [{"event_date": "May"}]
        assert "May" in pdf_text(fetch(s, w.ana, gid, tmp_path / "out.pdf"))
        with pytest.raises(NotFound):
            cobranding.open_generated(s, principal_of(s, w.eve), gid)
    kbdb.reset_engines()

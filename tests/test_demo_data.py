"""The demo data shows co-branding at its best: every demo partner organisation has a
complete branding profile with a logo, and there are two co-brand templates (a Word flyer
and an AcroForm PDF datasheet) that every region may use.

Real parts: the migrated SQLite database, the filesystem blob store, the branding service
(the engine's validation, the logo checked in its child process), pypdf, Pillow, and for
the full seed the upload check with the session's LibreOffice pool (``cobrand_pool``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, select

from factories import principal_of
from kbportal import db as kbdb
from kbportal.models import AuditEvent, Document, DocumentVersion, OrgBranding, User, VersionState
from kbportal.services import branding, cobranding, demo, demo_branding, demo_documents
from kbportal.services.audit import Actor
from kbportal.services.cobrand import converter as lo
from kbportal.storage import get_blob_store, reset_blob_store

pytest_plugins = ["cobrand_files"]

STANDARD = ("partner_name", "partner_contact", "partner_email", "partner_phone", "partner_website",
            "partner_address", "partner_footer")


@pytest.fixture
def data(db) -> Iterator[None]:
    """A fresh database and blob store (filesystem) for this test."""
    reset_blob_store()
    yield
    reset_blob_store()


@pytest.fixture
def org_ids(data) -> dict[str, int]:
    """The demo organisations and users, each organisation with its seeded profile (no documents)."""
    with kbdb.session_scope() as session:
        result = demo.seed_demo(session, with_documents=False)
        assert result.profiles_created == len(demo.DEMO_ORGS)
    with Session(kbdb.get_engine()) as session:
        return {spec.name: demo._org_by_name(session, spec.name).id for spec in demo.DEMO_ORGS}


def _profile(org_id: int) -> branding.BrandingInfo:
    with Session(kbdb.get_engine()) as session:
        return branding.current(session, org_id).info


def _branding_events() -> list[dict]:
    with Session(kbdb.get_engine()) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "branding.updated")
                            .order_by(col(AuditEvent.id))).all()
        return [{"actor": row.actor_email, "org": row.target_id, **json.loads(row.detail)} for row in rows]


# --------------------------------------------------------------------------- profiles


def test_every_demo_organisation_has_a_complete_profile_with_a_logo_that_decodes(org_ids):
    from PIL import Image

    for name, org_id in org_ids.items():
        info = _profile(org_id)
        assert all(info.values().values()), name  # company, contact, email, phone, address, website, footer
        assert info.brand_colour.startswith("#") and info.has_logo, name
        with Session(kbdb.get_engine()) as session:
            row = session.exec(select(OrgBranding).where(OrgBranding.org_id == org_id)).one()
        with Image.open(io.BytesIO(get_blob_store().get_bytes(row.logo_key, row.logo_version_id))) as logo:
            logo.load()
            assert (logo.format, logo.size) == ("PNG", (400, 400)), name


def test_each_profile_matches_its_organisations_country(org_ids):
    nusantara = _profile(org_ids["PT Nusantara Solusi Digital"])
    rheinland = _profile(org_ids["Rheinland Distribution GmbH"])
    sakura = _profile(org_ids["Sakura Systems K.K."])

    assert nusantara.phone.startswith("+62") and "Jakarta" in nusantara.address
    assert nusantara.email.endswith(".example.com") and nusantara.website.endswith(".example.com")
    assert rheinland.phone.startswith("+49") and "Köln" in rheinland.address and "Deutschland" in rheinland.address
    assert sakura.phone.startswith("+81") and "東京都" in sakura.address
    assert sakura.partner_name == "さくらシステムズ株式会社"  # the non-Latin path


def test_the_logo_is_the_brand_colour_with_white_initials():
    from PIL import Image

    with Image.open(io.BytesIO(demo_branding.make_logo("RD", "#1D4ED8"))) as logo:
        rgba = logo.convert("RGBA")
    assert rgba.getpixel((0, 0))[3] == 0  # transparent rounded corner
    assert rgba.getpixel((200, 40))[:3] == (0x1D, 0x4E, 0xD8)  # the square, above the letters
    assert (255, 255, 255, 255) in {rgba.getpixel((x, 200)) for x in range(100, 300)}  # the white initials


def test_without_any_installed_font_the_logo_still_has_its_initials(monkeypatch):
    from PIL import Image

    demo_branding.font_path.cache_clear()
    monkeypatch.setattr(demo_branding, "_fontconfig", lambda args: [])
    monkeypatch.setattr(demo_branding, "_LATIN_FONTS", ())
    monkeypatch.setattr(demo_branding, "_JAPANESE_FONTS", ())
    try:
        data = demo_branding.make_logo("桜", "#C2185B", language="ja", latin_mark="SS")
    finally:
        demo_branding.font_path.cache_clear()
    with Image.open(io.BytesIO(data)) as logo:
        rgba = logo.convert("RGBA")
    assert rgba.size == (400, 400)
    assert (255, 255, 255, 255) in {rgba.getpixel((x, y)) for x in range(120, 280) for y in range(170, 230)}


def test_seeded_profiles_are_audited_like_a_partner_admins_save_with_the_logo_by_its_hash(org_ids):
    events = _branding_events()

    assert sorted(int(e["org"]) for e in events) == sorted(org_ids.values())
    for event in events:
        assert event["actor"] == "cli" and event["version"] == 1
        logo_before, logo_after = event["changes"]["logo"]
        assert logo_before is None and len(logo_after["sha256"]) == 64 and logo_after["mime_type"] == "image/png"
        assert set(event["changes"]) >= {"contact_name", "email", "phone", "address", "website", "footer",
                                         "brand_colour"}


def test_seeding_again_changes_no_profile(org_ids):
    before = {org_id: _profile(org_id) for org_id in org_ids.values()}

    with kbdb.session_scope() as session:
        result = demo.seed_demo(session, with_documents=False)

    assert result.profiles_created == 0
    assert {org_id: _profile(org_id) for org_id in org_ids.values()} == before
    assert len(_branding_events()) == len(org_ids)


def test_a_profile_a_partner_admin_edited_is_left_alone_by_the_next_seed(org_ids):
    org_id = org_ids["PT Nusantara Solusi Digital"]
    with kbdb.session_scope() as session:
        budi = session.exec(select(User).where(User.email == "budi@nusantara.example.com")).one()
        branding.update_profile(session, principal_of(session, budi), Actor(user_id=budi.id, email=budi.email),
                                org_id, partner_name="Nusantara Digital", remove_logo=True)

    with kbdb.session_scope() as session:
        demo.seed_demo(session, with_documents=False)

    info = _profile(org_id)
    assert (info.partner_name, info.has_logo, info.version) == ("Nusantara Digital", False, 2)


# --------------------------------------------------------------------------- the PDF template


def test_the_pdf_template_asks_for_the_partner_fields_a_logo_and_one_custom_field(tmp_path):
    path = demo_documents._pdf_template(tmp_path / "datasheet.pdf")

    found = cobranding.detect_template(path, "application/pdf")

    assert found["kind"] == "pdf" and found["has_logo_frame"] is True
    assert set(found["fields"]) == set(STANDARD) | {"special_offer"}
    assert not found["malformed"]


def test_the_pdf_template_filled_with_a_seeded_profile_shows_every_value_and_no_form(org_ids, tmp_path):
    from pypdf import PdfReader

    from kbportal.services.cobrand.engine import generate

    template = demo_documents._pdf_template(tmp_path / "datasheet.pdf")
    with Session(kbdb.get_engine()) as session:
        snapshot = branding.current(session, org_ids["Rheinland Distribution GmbH"])
    logo = get_blob_store().get_bytes(snapshot.logo.key, snapshot.logo.storage_version_id)
    values = snapshot.info.values() | {"special_offer": "10 % Rabatt bis 31. März 2027"}

    info = generate(template, "pdf", values, logo, tmp_path / "out.pdf", title="Datasheet", author="test")

    reader = PdfReader(tmp_path / "out.pdf")
    text = " ".join((page.extract_text() or "") for page in reader.pages)
    assert info.pages == 1 and info.empty_fields == ()
    for expected in ("Rheinland Distribution GmbH", "Klaus Becker", "vertrieb@rheinland.example.com", "50678 Köln",
                     "Ihr zertifizierter Partner", "10 % Rabatt"):
        assert expected in text
    assert "/AcroForm" not in reader.trailer["/Root"]


# --------------------------------------------------------------------------- the full seed


@pytest.fixture
def pool(cobrand_pool, monkeypatch):
    """The upload check converts the Word files with the test session's LibreOffice pool."""
    monkeypatch.setattr(lo, "_default_pool", cobrand_pool)
    return cobrand_pool


def test_the_full_demo_seed_publishes_both_templates_to_every_region_and_every_file_passes_its_check(data, pool):
    with Session(kbdb.get_engine()) as session:
        result = demo.seed_demo(session)
        session.commit()  # the checks run now (inline)
    with Session(kbdb.get_engine()) as session:
        states = set(session.exec(select(DocumentVersion.state)))
        template = session.exec(select(Document).where(Document.title == demo_documents.PDF_TEMPLATE_TITLE)).one()
        sofia = session.exec(select(User).where(User.email == "sofia@andes.example.com")).one()  # LATAM, registered
        usable = {card.title: card for card in cobranding.usable_templates(session, principal_of(session, sofia))}

    assert result.documents_created == len(demo_documents.DEMO_DOCUMENTS) + 3  # + price list and two templates
    assert states == {VersionState.READY.value}
    assert (template.doc_type, template.status) == ("template", "published")
    assert set(usable) >= {demo_documents.TEMPLATE_TITLE, demo_documents.PDF_TEMPLATE_TITLE}
    assert "special_offer" in usable[demo_documents.PDF_TEMPLATE_TITLE].custom_fields

"""Branding profiles: who may change them, how values are cleaned, versions, audit, the logo.

Users come from a template database built once for the module; each test gets its own
copy. The logo tests store into a real S3 server (SeaweedFS, ``use_s3_storage``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from cobrand_files import make_logo
from factories import SYSTEM, Template, actor_of, build_template, make_org, make_user, principal_of
from kbportal import db as kbdb
from kbportal.config import reset_settings
from kbportal.models import AuditEvent, Role, User
from kbportal.services import branding
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.storage import get_blob_store, reset_blob_store


@dataclass(frozen=True)
class World:
    alpha: int  # org "Alpha Asia"
    beta: int  # org "Beta Europe"
    admin: int
    marketing: int
    paul: int  # partner_admin of Alpha
    ana: int  # partner_user of Alpha
    bob: int  # partner_admin of Beta


def _build(session: Session) -> World:
    alpha = make_org(session, "Alpha Asia", "APAC", "gold")
    beta = make_org(session, "Beta Europe", "EMEA", "silver")
    return World(
        alpha=alpha.id, beta=beta.id,
        admin=make_user(session, "root@vendor.example", Role.ADMIN).id,
        marketing=make_user(session, "mia@vendor.example", Role.MARKETING).id,
        paul=make_user(session, "paul@alpha.example", Role.PARTNER_ADMIN, org=alpha).id,
        ana=make_user(session, "ana@alpha.example", Role.PARTNER_USER, org=alpha).id,
        bob=make_user(session, "bob@beta.example", Role.PARTNER_ADMIN, org=beta).id,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "branding", _build)


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


def update(session: Session, user_id: int, org_id: int, **fields) -> branding.BrandingInfo:
    user = session.get(User, user_id)
    info = branding.update_profile(session, principal_of(session, user), actor_of(user), org_id, **fields)
    session.commit()
    return info


def profile(session: Session, user_id: int, org_id: int) -> branding.BrandingInfo:
    return branding.get_profile(session, principal_of(session, user_id), org_id)


def branding_events(session: Session) -> list[dict]:
    rows = session.exec(select(AuditEvent).where(AuditEvent.action == "branding.updated")
                        .order_by(col(AuditEvent.id)))
    return [{"actor": e.actor_email, "target": e.target_id, **json.loads(e.detail)} for e in rows]


def logo_file(tmp_path: Path, name: str = "logo.png", **kwargs) -> Path:
    path = tmp_path / name
    path.write_bytes(make_logo(**kwargs))
    return path


# --------------------------------------------------------------------------- reading


def test_an_organisation_without_a_profile_shows_its_name_at_version_zero(world, session):
    info = profile(session, world.ana, world.alpha)

    assert (info.partner_name, info.version, info.has_logo) == ("Alpha Asia", 0, False)
    assert info.values()["partner_name"] == "Alpha Asia" and info.values()["partner_email"] == ""


def test_members_and_staff_may_read_a_profile_and_its_edit_right_is_reported(world, session):
    assert profile(session, world.ana, world.alpha).can_edit is False
    assert profile(session, world.paul, world.alpha).can_edit is True
    assert profile(session, world.marketing, world.alpha).can_edit is False
    assert profile(session, world.admin, world.alpha).can_edit is True


def test_another_organisations_profile_is_not_found(world, session):
    with pytest.raises(NotFound):
        profile(session, world.bob, world.alpha)
    with pytest.raises(NotFound):
        profile(session, world.ana, world.beta)


# --------------------------------------------------------------------------- changing


def test_the_partner_admin_sets_the_profile_and_values_are_cleaned(world, session):
    info = update(session, world.paul, world.alpha, partner_name="  Alpha\x07 Asia\u202e Pte  ",
                  email="Sales@Alpha.Example", phone="+65 6123 4567", website="alpha.example", brand_colour="#1a73e8",
                  address="1 Raffles Place\r\nSingapore 048616\n", footer="Alpha Asia \u2013 certified partner",
                  contact_name="Paul Tan")

    assert info.partner_name == "Alpha Asia Pte"
    assert info.email == "sales@alpha.example"
    assert info.website == "https://alpha.example"
    assert info.brand_colour == "#1A73E8"
    assert info.address == "1 Raffles Place\nSingapore 048616"
    assert info.version == 1
    assert profile(session, world.ana, world.alpha) == info.__class__(**{**info.__dict__, "can_edit": False})


def test_every_change_bumps_the_version_and_an_unchanged_update_does_not(world, session):
    assert update(session, world.paul, world.alpha, email="a@alpha.example").version == 1
    assert update(session, world.paul, world.alpha, phone="+65 6000 0000").version == 2
    assert update(session, world.paul, world.alpha, email="a@alpha.example").version == 2
    assert update(session, world.paul, world.alpha).version == 2
    assert len(branding_events(session)) == 2


def test_an_update_is_audited_with_the_changed_fields_only(world, session):
    update(session, world.paul, world.alpha, email="a@alpha.example", phone="+65 6000 0000")
    update(session, world.paul, world.alpha, email="b@alpha.example", phone="+65 6000 0000")

    first, second = branding_events(session)
    assert first["actor"] == "paul@alpha.example" and first["target"] == str(world.alpha)
    assert set(first["changes"]) == {"email", "phone"} and first["version"] == 1
    assert second["changes"] == {"email": ["a@alpha.example", "b@alpha.example"]} and second["version"] == 2


def test_an_empty_value_clears_a_field_but_the_company_name_is_required(world, session):
    update(session, world.paul, world.alpha, email="a@alpha.example")
    assert update(session, world.paul, world.alpha, email="").email == ""

    with pytest.raises(ValidationFailed) as refused:
        update(session, world.paul, world.alpha, partner_name="  ")
    assert (refused.value.code, refused.value.field) == ("cobrand.branding_required", "partner_name")
    assert str(refused.value) == "Enter your company name."


@pytest.mark.parametrize("field, value, code", [
    ("email", "not-an-email", "cobrand.branding_email_invalid"),
    ("brand_colour", "blue", "cobrand.branding_colour_invalid"),
    ("website", "javascript:alert(1)", "cobrand.branding_website_invalid"),
    ("phone", "call me", "cobrand.branding_phone_invalid"),
    ("partner_name", "x" * 121, "cobrand.branding_too_long"),
    ("footer", "y" * 201, "cobrand.branding_too_long"),
    ("address", "\n".join(f"line {i}" for i in range(7)), "cobrand.branding_address_lines"),
])
def test_invalid_values_are_refused_on_the_field_they_belong_to(world, session, field, value, code):
    with pytest.raises(ValidationFailed) as refused:
        update(session, world.paul, world.alpha, **{field: value})

    assert (refused.value.code, refused.value.field) == (code, field)
    session.rollback()
    assert profile(session, world.paul, world.alpha).version == 0 and branding_events(session) == []


@pytest.mark.parametrize("who", ["bob", "ana", "marketing"])
def test_only_the_organisations_partner_admin_and_admins_may_change_it(world, session, who):
    with pytest.raises(NotFound):
        update(session, getattr(world, who), world.alpha, partner_name="Hijacked")

    session.rollback()
    assert profile(session, world.paul, world.alpha).partner_name == "Alpha Asia"
    assert branding_events(session) == []


def test_an_admin_may_change_any_organisations_profile(world, session):
    info = update(session, world.admin, world.beta, footer="Beta Europe \u2013 since 1999")

    assert (info.footer, info.version) == ("Beta Europe \u2013 since 1999", 1)
    assert branding_events(session)[0]["actor"] == "root@vendor.example"


def test_a_missing_organisation_is_not_found(world, session):
    with pytest.raises(NotFound):
        branding.update_profile(session, SYSTEM, actor_of(session.get(User, world.admin)), 9999, partner_name="X")


# --------------------------------------------------------------------------- the logo


def test_a_logo_is_stored_clean_in_s3_under_a_readable_key(world, session, tmp_path, use_s3_storage):
    from PIL import Image
    import io

    info = update(session, world.paul, world.alpha, logo_path=logo_file(tmp_path, size=(400, 200)))

    assert info.has_logo and (info.logo_mime_type, info.logo_width, info.logo_height) == ("image/png", 400, 200)
    target = branding.open_logo(session, principal_of(session, world.ana), world.alpha)
    assert target.key == f"branding/{world.alpha}/logo-1.png"
    stored = get_blob_store().get_bytes(target.key, target.storage_version_id)
    assert Image.open(io.BytesIO(stored)).size == (400, 200)
    assert info.version == 1


def test_a_logo_change_is_audited_by_its_hash_never_its_bytes(world, session, tmp_path):
    update(session, world.paul, world.alpha, logo_path=logo_file(tmp_path))

    event = branding_events(session)[0]
    before, after = event["changes"]["logo"]
    assert before is None
    assert set(after) == {"sha256", "mime_type", "width", "height", "size"} and len(after["sha256"]) == 64
    raw = session.exec(select(AuditEvent.detail).where(AuditEvent.action == "branding.updated")).one()
    assert "PNG" not in raw and len(raw) < 1000


def test_the_same_logo_again_changes_nothing_and_a_new_one_gets_a_new_key(world, session, tmp_path):
    first = update(session, world.paul, world.alpha, logo_path=logo_file(tmp_path))
    again = update(session, world.paul, world.alpha, logo_path=logo_file(tmp_path))
    jpeg = update(session, world.paul, world.alpha, logo_path=logo_file(tmp_path, "logo.jpg", fmt="JPEG"))

    assert (first.version, again.version, jpeg.version) == (1, 1, 2)
    target = branding.open_logo(session, principal_of(session, world.paul), world.alpha)
    assert target.key == f"branding/{world.alpha}/logo-2.jpg" and target.mime_type == "image/jpeg"


def test_a_logo_from_bytes_and_its_removal(world, session):
    assert update(session, world.paul, world.alpha, logo_data=make_logo()).has_logo
    removed = update(session, world.paul, world.alpha, remove_logo=True)

    assert not removed.has_logo and removed.version == 2
    assert branding.open_logo(session, principal_of(session, world.paul), world.alpha) is None
    assert branding_events(session)[1]["changes"]["logo"][1] is None


@pytest.mark.parametrize("make, code", [
    (lambda p: p.write_bytes(b"GIF89a" + b"\x00" * 100), "cobrand.logo_type"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * (6 * 1024 * 1024)), "cobrand.logo_too_large"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n not really a png"), "cobrand.logo_unreadable"),
    (lambda p: p.write_bytes(make_logo(size=(6000, 5000))), "cobrand.logo_too_many_pixels"),
    (lambda p: p.write_bytes(make_logo(size=(8, 8))), "cobrand.logo_too_small"),
], ids=["gif", "too-large", "damaged", "too-many-pixels", "too-small"])
def test_a_logo_outside_the_limits_is_refused_with_a_reason(world, session, tmp_path, make, code):
    path = tmp_path / "logo.png"
    make(path)

    with pytest.raises(ValidationFailed) as refused:
        update(session, world.paul, world.alpha, logo_path=path, email="a@alpha.example")

    assert (refused.value.code, refused.value.field) == (code, "logo")
    assert str(refused.value) and "{" not in str(refused.value)
    session.rollback()
    assert profile(session, world.paul, world.alpha).version == 0
    assert list(get_blob_store().list_versions("branding/")) == []


def test_gc_keeps_the_current_logo_and_removes_replaced_ones(world, session, tmp_path):
    from datetime import timedelta

    from kbportal.services import repository
    from kbportal.storage import get_blob_store

    update(session, world.paul, world.alpha, logo_path=logo_file(tmp_path))
    update(session, world.paul, world.alpha, logo_path=logo_file(tmp_path, "logo.jpg", fmt="JPEG"))

    report = repository.gc(session, grace=timedelta(0))

    assert [r.key for r in report.removed] == [f"branding/{world.alpha}/logo-1.png"]
    assert [b.key for b in get_blob_store().list_versions("branding/")] == [f"branding/{world.alpha}/logo-2.jpg"]
    assert branding.open_logo(session, principal_of(session, world.paul), world.alpha) is not None

"""Organisations and users: input rules, clear messages, audited changes."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session, select

from kbportal import config
from kbportal.models import AuditEvent, Organisation, Role, User
from kbportal.services import orgs, users
from kbportal.services.errors import KbError, ValidationFailed
from factories import PASSWORD, SYSTEM, SYSTEM_ACTOR, actor_of, make_org, make_user, principal_of


def assert_sentence(error: KbError) -> None:
    """The English message is a finished sentence, not a catalogue key or a template."""
    text = error.message("en")
    assert text != error.code and not re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", text), text
    assert "{" not in text and "}" not in text, text
    assert (text[0].isupper() or text[0] in "\"'“«") and text.rstrip()[-1] in ".!?", text


def refused(call) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        call()
    return info.value


def last_event(session: Session, action: str) -> AuditEvent:
    return session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()


# --------------------------------------------------------------------------- organisations


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_org_name_is_required(session, blank):
    error = refused(lambda: make_org(session, blank))
    assert error.field == "name"
    assert_sentence(error)


def test_org_names_are_unique_ignoring_case(session):
    make_org(session, "Acme Ltd")
    error = refused(lambda: make_org(session, "ACME ltd"))
    assert (error.code, error.field) == ("org.name_taken", "name")
    assert_sentence(error)


def test_an_org_cannot_be_renamed_to_another_orgs_name_in_other_case(session):
    make_org(session, "Acme Ltd")
    other = make_org(session, "Other Ltd")
    error = refused(lambda: orgs.update_org(session, SYSTEM, SYSTEM_ACTOR, other.id, name="acme LTD"))
    assert error.code == "org.name_taken"


def test_an_org_may_change_the_case_of_its_own_name(session):
    org = make_org(session, "Acme Ltd")
    assert orgs.update_org(session, SYSTEM, SYSTEM_ACTOR, org.id, name="ACME Ltd").name == "ACME Ltd"


def test_unknown_region_is_refused_with_the_list_of_known_regions(session):
    error = refused(lambda: make_org(session, "Mars Co", region="MARS"))
    assert (error.code, error.field) == ("org.unknown_region", "region")
    assert error.message("en") == 'Unknown region "MARS". Choose one of: APAC, EMEA, LATAM, NA.'


def test_unknown_tier_is_refused_with_the_known_tiers_lowest_first(session):
    error = refused(lambda: make_org(session, "Diamond Co", tier="diamond"))
    assert (error.code, error.field) == ("org.unknown_tier", "tier")
    assert error.message("en") == 'Unknown tier "diamond". Choose one of: registered, silver, gold, platinum.'


def test_region_and_tier_codes_are_accepted_in_any_case(session):
    org = make_org(session, "Casual Co", region=" emea ", tier="GOLD")
    assert (org.region_code, org.tier_code) == ("EMEA", "gold")


def test_org_update_is_audited_with_before_and_after_values(session):
    org = make_org(session, "Acme Ltd", region="APAC", tier="silver")
    orgs.update_org(session, SYSTEM, SYSTEM_ACTOR, org.id, name="Acme Asia", tier="gold", active=False)
    detail = json.loads(last_event(session, "org.updated").detail)
    assert detail == {"name": ["Acme Ltd", "Acme Asia"], "tier": ["silver", "gold"], "active": [True, False]}


def test_org_update_that_changes_nothing_is_not_audited(session):
    org = make_org(session, "Acme Ltd", region="APAC", tier="silver")
    orgs.update_org(session, SYSTEM, SYSTEM_ACTOR, org.id, name="Acme Ltd", region="APAC", tier="silver")
    assert last_event(session, "org.updated") is None


def test_org_list_counts_the_users_of_each_org(session):
    busy, quiet = make_org(session, "Busy Co"), make_org(session, "Quiet Co")
    make_user(session, "one@busy.example", org=busy)
    make_user(session, "two@busy.example", org=busy)
    counts = {row.name: row.users for row in orgs.list_orgs(session, SYSTEM)}
    assert counts == {"Busy Co": 2, "Quiet Co": 0}


# --------------------------------------------------------------------------- users: input rules


@pytest.fixture
def org(session) -> Organisation:
    return make_org(session, "Partner Co")


def new_user(session: Session, **overrides) -> User:
    fields = dict(email="pat@partner.example", name="Pat", role="partner_user", password=PASSWORD)
    fields.update(overrides)
    return users.create_user(session, SYSTEM, SYSTEM_ACTOR, **fields)


USER_INPUT_ERRORS = {
    "invalid email": (dict(email="pat-at-partner"), "user.invalid_email", "email"),
    "partner without org": (dict(org_id=None), "user.partner_needs_org", "org_id"),
    "partner in a missing org": (dict(org_id=999_999), "user.unknown_org", "org_id"),
    "staff with an org": (dict(role="marketing"), "user.staff_has_no_org", "org_id"),
    "short password": (dict(password="short"), "user.password_too_short", "password"),
    "overlong password": (dict(password="x" * 257), "user.password_too_long", "password"),
    "unknown language": (dict(ui_language="tlh"), "user.unknown_language", "ui_language"),
    "unknown time zone": (dict(time_zone="Mars/Olympus_Mons"), "user.unknown_time_zone", "time_zone"),
    "unknown role": (dict(role="overlord"), "user.unknown_role", "role"),
    "blank name": (dict(name="  "), "validation.required", "name"),
}


@pytest.mark.parametrize("overrides, code, field", USER_INPUT_ERRORS.values(), ids=USER_INPUT_ERRORS.keys())
def test_bad_user_input_is_refused_on_its_field_with_a_sentence(session, org, overrides, code, field):
    error = refused(lambda: new_user(session, **{"org_id": org.id, **overrides}))
    assert (error.code, error.field) == (code, field)
    assert_sentence(error)
    assert session.exec(select(User)).all() == []


def test_duplicate_email_is_refused_ignoring_case(session, org):
    new_user(session, org_id=org.id)
    error = refused(lambda: new_user(session, org_id=org.id, email="PAT@Partner.Example"))
    assert (error.code, error.field) == ("user.email_taken", "email")
    assert_sentence(error)


def test_short_password_message_names_the_configured_minimum(session, org):
    error = refused(lambda: new_user(session, org_id=org.id, password="short"))
    assert f"at least {config.get_settings().password_min_length} characters" in error.message("en")


def test_unknown_language_message_lists_the_supported_languages(session, org):
    error = refused(lambda: new_user(session, org_id=org.id, ui_language="tlh"))
    assert "en, id, de, fr, es, pt, ja, zh" in error.message("en")


def test_email_is_stored_lower_case(session, org):
    assert new_user(session, org_id=org.id, email="Pat.Smith@Partner.Example").email == "pat.smith@partner.example"


def test_new_user_gets_the_default_language_and_time_zone(session, org):
    user = new_user(session, org_id=org.id)
    assert (user.ui_language, user.time_zone) == ("en", "UTC")


def test_staff_user_needs_no_org(session):
    assert new_user(session, role="marketing", email="mia@vendor.example").org_id is None


# --------------------------------------------------------------------------- users: updates


def test_user_update_is_audited_with_before_and_after_values(session, org):
    user = new_user(session, org_id=org.id)
    users.update_user(session, SYSTEM, SYSTEM_ACTOR, user.id, name="Patricia", role="partner_admin",
                      ui_language="de", time_zone="Europe/Berlin")
    detail = json.loads(last_event(session, "user.updated").detail)
    assert detail == {"name": ["Pat", "Patricia"], "role": ["partner_user", "partner_admin"],
                      "ui_language": ["en", "de"], "time_zone": ["UTC", "Europe/Berlin"]}


def test_user_update_stores_language_and_time_zone_as_validated(session, org):
    user = new_user(session, org_id=org.id)
    users.update_user(session, SYSTEM, SYSTEM_ACTOR, user.id, ui_language=" de ", time_zone=" Asia/Jakarta ")
    assert (user.ui_language, user.time_zone) == ("de", "Asia/Jakarta")


def test_user_update_refuses_an_unknown_time_zone(session, org):
    user = new_user(session, org_id=org.id)
    error = refused(lambda: users.update_user(session, SYSTEM, SYSTEM_ACTOR, user.id, time_zone="Nowhere/Land"))
    assert error.code == "user.unknown_time_zone"


def test_user_update_that_changes_nothing_is_not_audited(session, org):
    user = new_user(session, org_id=org.id)
    users.update_user(session, SYSTEM, SYSTEM_ACTOR, user.id, name="Pat", ui_language="en")
    assert last_event(session, "user.updated") is None


def test_moving_a_partner_to_staff_requires_leaving_the_org(session, org):
    user = new_user(session, org_id=org.id)
    error = refused(lambda: users.update_user(session, SYSTEM, SYSTEM_ACTOR, user.id, role="marketing"))
    assert error.code == "user.staff_has_no_org"
    moved = users.update_user(session, SYSTEM, SYSTEM_ACTOR, user.id, role="marketing", org_id=None, change_org=True)
    assert (moved.role, moved.org_id) == ("marketing", None)


@pytest.fixture
def admin(session) -> User:
    return make_user(session, "root@vendor.example", Role.ADMIN)


def test_admin_cannot_disable_their_own_account(session, admin):
    me = principal_of(session, admin)
    error = refused(lambda: users.set_active(session, me, actor_of(admin), admin.id, False))
    assert (error.code, error.field) == ("user.cannot_disable_self", "active")
    assert_sentence(error)
    assert admin.active


def test_admin_cannot_change_their_own_role(session, admin):
    me = principal_of(session, admin)
    error = refused(lambda: users.update_user(session, me, actor_of(admin), admin.id, role="marketing"))
    assert error.code == "user.cannot_change_own_role"
    assert admin.role == "admin"


def test_admin_can_disable_another_admin(session, admin):
    other = make_user(session, "deputy@vendor.example", Role.ADMIN)
    users.set_active(session, principal_of(session, admin), actor_of(admin), other.id, False)
    assert not other.active

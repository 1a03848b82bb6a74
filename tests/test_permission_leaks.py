"""No role reaches accounts or organisations outside its remit.

Forbidden answers exactly like missing (``NotFound``), and a refused attempt
changes nothing, even when the caller commits its session afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlmodel import Session

from kbportal import db as kbdb
from kbportal.models import Role, User
from kbportal.services import orgs, users
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import NotFound, ValidationFailed

from factories import PASSWORD, Template, actor_of, build_template, make_org, make_user, principal_of

NEW_PASSWORD = "a brand new passphrase"


@dataclass(frozen=True)
class World:
    org_a: int
    org_b: int
    admin: int
    marketing: int
    admin_a: int  # partner_admin of org A
    user_a: int  # partner_user of org A
    admin_b: int
    user_b: int


def _build(session: Session) -> World:
    a = make_org(session, "Alpha Partners", region="APAC", tier="gold")
    b = make_org(session, "Beta Partners", region="EMEA", tier="silver")
    return World(
        org_a=a.id, org_b=b.id,
        admin=make_user(session, "root@vendor.example", Role.ADMIN).id,
        marketing=make_user(session, "mia@vendor.example", Role.MARKETING).id,
        admin_a=make_user(session, "ada@alpha.example", Role.PARTNER_ADMIN, org=a).id,
        user_a=make_user(session, "al@alpha.example", Role.PARTNER_USER, org=a).id,
        admin_b=make_user(session, "bea@beta.example", Role.PARTNER_ADMIN, org=b).id,
        user_b=make_user(session, "ben@beta.example", Role.PARTNER_USER, org=b).id,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "leaks", _build)


@pytest.fixture
def world(template, db_from_template) -> World:
    return db_from_template(template)


def as_user(session: Session, user_id: int) -> tuple[Principal, Actor]:
    user = session.get(User, user_id)
    return principal_of(session, user), actor_of(user)


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every application table, to prove an attempt changed nothing."""
    tables = ["organisation", "user", "login_session", "audit_event", "audience", "audience_org"]
    with kbdb.get_engine().connect() as conn:
        return {t: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}" ORDER BY 1'))] for t in tables}


def attempt(acting_user: int, operation: Callable[[Session, Principal, Actor], object]) -> Exception:
    """Run ``operation`` as ``acting_user``; commit whatever happened, return the error."""
    with kbdb.session_scope() as session:
        principal, actor = as_user(session, acting_user)
        try:
            operation(session, principal, actor)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            return exc  # session_scope commits: a refusal must not have touched anything
    pytest.fail("the operation was allowed")


def listed_emails(acting_user: int, **kwargs) -> set[str]:
    with kbdb.session_scope() as session:
        principal, _ = as_user(session, acting_user)
        return {row.email for row in users.list_users(session, principal, **kwargs)}


# --------------------------------------------------------------------------- partner admin vs another org

OTHER_ORG_ATTEMPTS = {
    "get_user": lambda s, p, a, target: users.get_user(s, p, target),
    "update_user": lambda s, p, a, target: users.update_user(s, p, a, target, name="Renamed"),
    "set_active": lambda s, p, a, target: users.set_active(s, p, a, target, False),
    "set_password": lambda s, p, a, target: users.set_password(s, p, a, target, NEW_PASSWORD),
}


@pytest.mark.parametrize("operation", OTHER_ORG_ATTEMPTS.values(), ids=OTHER_ORG_ATTEMPTS.keys())
@pytest.mark.parametrize("target", ["user_b", "admin_b"])
def test_partner_admin_cannot_touch_users_of_another_org_and_it_answers_not_found(world, operation, target):
    before = snapshot()
    target_id = getattr(world, target)
    error = attempt(world.admin_a, lambda s, p, a: operation(s, p, a, target_id))
    assert isinstance(error, NotFound)
    assert snapshot() == before


def test_forbidden_user_answers_exactly_like_a_missing_one(world):
    forbidden = attempt(world.admin_a, lambda s, p, a: users.get_user(s, p, world.user_b))
    missing = attempt(world.admin_a, lambda s, p, a: users.get_user(s, p, 999_999))
    assert (type(forbidden), forbidden.code, forbidden.message("en")) == (type(missing), missing.code, missing.message("en"))


@pytest.mark.parametrize("operation", OTHER_ORG_ATTEMPTS.values(), ids=OTHER_ORG_ATTEMPTS.keys())
def test_partner_admin_cannot_touch_staff_accounts(world, operation):
    before = snapshot()
    error = attempt(world.admin_a, lambda s, p, a: operation(s, p, a, world.admin))
    assert isinstance(error, NotFound)
    assert snapshot() == before


def test_partner_admin_lists_only_users_of_its_own_org(world):
    assert listed_emails(world.admin_a) == {"ada@alpha.example", "al@alpha.example"}


def test_partner_admin_asking_for_another_orgs_users_gets_an_empty_list(world):
    assert listed_emails(world.admin_a, org_id=world.org_b) == set()


def test_partner_admin_cannot_create_a_user_in_another_org(world):
    before = snapshot()
    error = attempt(world.admin_a, lambda s, p, a: users.create_user(
        s, p, a, email="mole@beta.example", name="Mole", role="partner_user", password=PASSWORD, org_id=world.org_b))
    assert isinstance(error, NotFound)
    assert snapshot() == before


def test_partner_admin_cannot_move_its_user_into_another_org(world):
    before = snapshot()
    error = attempt(world.admin_a, lambda s, p, a: users.update_user(
        s, p, a, world.user_a, org_id=world.org_b, change_org=True))
    assert isinstance(error, NotFound)
    assert snapshot() == before


@pytest.mark.parametrize("role", ["admin", "marketing"])
def test_partner_admin_cannot_create_staff_accounts(world, role):
    before = snapshot()
    error = attempt(world.admin_a, lambda s, p, a: users.create_user(
        s, p, a, email="boss@alpha.example", name="Boss", role=role, password=PASSWORD))
    assert isinstance(error, ValidationFailed) and error.code == "user.role_not_allowed"
    assert snapshot() == before


@pytest.mark.parametrize("role", ["admin", "marketing"])
def test_partner_admin_cannot_promote_its_user_to_staff(world, role):
    before = snapshot()
    error = attempt(world.admin_a, lambda s, p, a: users.update_user(s, p, a, world.user_a, role=role))
    assert isinstance(error, ValidationFailed) and error.code == "user.role_not_allowed"
    assert snapshot() == before


def test_partner_admin_creates_users_in_its_own_org_by_default(world):
    with kbdb.session_scope() as session:
        principal, actor = as_user(session, world.admin_a)
        created = users.create_user(session, principal, actor, email="new@alpha.example", name="New",
                                    role="partner_user", password=PASSWORD)
        assert created.org_id == world.org_a


# --------------------------------------------------------------------------- partner users


def test_partner_user_lists_no_users_at_all(world):
    assert listed_emails(world.user_a) == set()


def test_partner_user_cannot_see_a_colleague(world):
    assert isinstance(attempt(world.user_a, lambda s, p, a: users.get_user(s, p, world.admin_a)), NotFound)


def test_partner_user_cannot_create_users_even_in_its_own_org(world):
    before = snapshot()
    error = attempt(world.user_a, lambda s, p, a: users.create_user(
        s, p, a, email="friend@alpha.example", name="Friend", role="partner_user", password=PASSWORD,
        org_id=world.org_a))
    assert isinstance(error, NotFound)
    assert snapshot() == before


def test_partner_user_cannot_disable_a_colleague(world):
    before = snapshot()
    assert isinstance(attempt(world.user_a, lambda s, p, a: users.set_active(s, p, a, world.admin_a, False)), NotFound)
    assert snapshot() == before


def test_partner_user_cannot_set_a_colleagues_password(world):
    before = snapshot()
    error = attempt(world.user_a, lambda s, p, a: users.set_password(s, p, a, world.admin_a, NEW_PASSWORD))
    assert isinstance(error, NotFound)
    assert snapshot() == before


# --------------------------------------------------------------------------- marketing

MARKETING_ATTEMPTS = {
    "create_user": lambda s, p, a, w: users.create_user(s, p, a, email="x@vendor.example", name="X",
                                                         role="marketing", password=PASSWORD),
    "create_partner_user": lambda s, p, a, w: users.create_user(s, p, a, email="y@alpha.example", name="Y",
                                                                 role="partner_user", password=PASSWORD,
                                                                 org_id=w.org_a),
    "update_user": lambda s, p, a, w: users.update_user(s, p, a, w.user_a, name="Renamed"),
    "set_active": lambda s, p, a, w: users.set_active(s, p, a, w.user_a, False),
    "set_password": lambda s, p, a, w: users.set_password(s, p, a, w.admin, NEW_PASSWORD),
    "create_org": lambda s, p, a, w: orgs.create_org(s, p, a, name="Gamma", region="NA", tier="gold"),
    "update_org": lambda s, p, a, w: orgs.update_org(s, p, a, w.org_a, tier="platinum"),
}


@pytest.mark.parametrize("operation", MARKETING_ATTEMPTS.values(), ids=MARKETING_ATTEMPTS.keys())
def test_marketing_cannot_manage_users_or_orgs(world, operation):
    before = snapshot()
    assert isinstance(attempt(world.marketing, lambda s, p, a: operation(s, p, a, world)), NotFound)
    assert snapshot() == before


def test_marketing_lists_no_users(world):
    assert listed_emails(world.marketing) == set()


# --------------------------------------------------------------------------- organisations


def test_partner_admin_sees_only_its_own_org_in_the_org_list(world):
    with kbdb.session_scope() as session:
        principal, _ = as_user(session, world.admin_a)
        assert [row.id for row in orgs.list_orgs(session, principal)] == [world.org_a]


def test_partner_admin_cannot_open_another_org(world):
    assert isinstance(attempt(world.admin_a, lambda s, p, a: orgs.get_org(s, p, world.org_b)), NotFound)


def test_partner_admin_cannot_create_an_org(world):
    before = snapshot()
    error = attempt(world.admin_a, lambda s, p, a: orgs.create_org(s, p, a, name="Shadow Co", region="APAC",
                                                                  tier="platinum"))
    assert isinstance(error, NotFound)
    assert snapshot() == before


def test_partner_admin_cannot_raise_its_own_orgs_tier(world):
    before = snapshot()
    error = attempt(world.admin_a, lambda s, p, a: orgs.update_org(s, p, a, world.org_a, tier="platinum"))
    assert isinstance(error, NotFound)
    assert snapshot() == before


def test_partner_user_sees_no_org_in_the_org_list(world):
    with kbdb.session_scope() as session:
        principal, _ = as_user(session, world.user_a)
        assert orgs.list_orgs(session, principal) == []


# --------------------------------------------------------------------------- deactivation


def test_partner_admin_of_a_deactivated_org_can_no_longer_manage_its_users(world):
    with kbdb.session_scope() as session:
        principal, actor = as_user(session, world.admin)
        orgs.update_org(session, principal, actor, world.org_a, active=False)
    assert listed_emails(world.admin_a) == set()
    assert isinstance(attempt(world.admin_a, lambda s, p, a: users.set_active(s, p, a, world.user_a, False)), NotFound)

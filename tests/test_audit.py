"""The audit trail: who did what to which object, and who may read it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlmodel import Session, func, select

from kbportal import db as kbdb
from kbportal.models import AuditEvent, Role, User
from kbportal.services import audit, orgs, users
from kbportal.services.errors import NotFound
from factories import PASSWORD, Template, actor_of, build_template, make_org, make_user, principal_of

IP = "192.0.2.44"
NEW_PASSWORD = "an entirely new passphrase"


@dataclass(frozen=True)
class World:
    org: int
    admin: int
    marketing: int
    partner_admin: int
    partner_user: int


def _build(session: Session) -> World:
    org = make_org(session, "Partner Co", region="NA", tier="gold")
    return World(
        org=org.id,
        admin=make_user(session, "root@vendor.example", Role.ADMIN).id,
        marketing=make_user(session, "mia@vendor.example", Role.MARKETING).id,
        partner_admin=make_user(session, "ada@partner.example", Role.PARTNER_ADMIN, org=org).id,
        partner_user=make_user(session, "al@partner.example", Role.PARTNER_USER, org=org).id,
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory, "audit", _build)


@pytest.fixture
def world(template, db_from_template) -> World:
    return db_from_template(template)


@pytest.fixture
def session(world) -> Session:
    with kbdb.session_scope() as s:
        # Events the world was built with are not this test's business.
        s.info["audit_baseline"] = s.exec(select(func.max(AuditEvent.id))).one() or 0
        yield s


@pytest.fixture
def admin(session, world):
    """(principal, actor) of the admin, acting from ``IP``."""
    user = session.get(User, world.admin)
    return principal_of(session, user), actor_of(user, IP)


def only_event(session: Session, action: str) -> AuditEvent:
    session.flush()
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == action,
                                                    AuditEvent.id > session.info["audit_baseline"])).all()
    return event


def assert_event(event: AuditEvent, *, actor_id: int, target_type: str, target_id: int, detail: dict) -> None:
    assert (event.actor_id, event.actor_email, event.ip) == (actor_id, "root@vendor.example", IP)
    assert (event.target_type, event.target_id) == (target_type, str(target_id))
    assert json.loads(event.detail) == detail


# --------------------------------------------------------------------------- what is recorded


def test_creating_an_org_is_audited(session, world, admin):
    org = orgs.create_org(session, *admin, name="New Co", region="EMEA", tier="silver")
    assert_event(only_event(session, "org.created"), actor_id=world.admin, target_type="organisation",
                 target_id=org.id, detail={"name": "New Co", "region": "EMEA", "tier": "silver", "active": True})


def test_updating_an_org_is_audited(session, world, admin):
    orgs.update_org(session, *admin, world.org, tier="platinum")
    assert_event(only_event(session, "org.updated"), actor_id=world.admin, target_type="organisation",
                 target_id=world.org, detail={"tier": ["gold", "platinum"]})


def test_creating_a_user_is_audited_without_the_password(session, world, admin):
    user = users.create_user(session, *admin, email="new@partner.example", name="New", role="partner_user",
                             password=PASSWORD, org_id=world.org)
    event = only_event(session, "user.created")
    assert_event(event, actor_id=world.admin, target_type="user", target_id=user.id,
                 detail={"email": "new@partner.example", "role": "partner_user", "org_id": world.org})
    assert PASSWORD not in event.detail and "argon2" not in event.detail


def test_updating_a_user_is_audited(session, world, admin):
    users.update_user(session, *admin, world.partner_user, name="Alan")
    assert_event(only_event(session, "user.updated"), actor_id=world.admin, target_type="user",
                 target_id=world.partner_user, detail={"name": ["Al", "Alan"]})


def test_disabling_a_user_is_audited_with_the_sessions_it_ended(session, world, admin):
    users.set_active(session, *admin, world.partner_user, False)
    assert_event(only_event(session, "user.disabled"), actor_id=world.admin, target_type="user",
                 target_id=world.partner_user, detail={"sessions_ended": 0})


def test_enabling_a_user_is_audited(session, world, admin):
    users.set_active(session, *admin, world.partner_user, False)
    users.set_active(session, *admin, world.partner_user, True)
    assert_event(only_event(session, "user.enabled"), actor_id=world.admin, target_type="user",
                 target_id=world.partner_user, detail={"sessions_ended": 0})


def test_a_password_change_is_audited_without_the_password(session, world, admin):
    users.set_password(session, *admin, world.partner_user, NEW_PASSWORD)
    event = only_event(session, "user.password_changed")
    assert_event(event, actor_id=world.admin, target_type="user", target_id=world.partner_user, detail={})
    assert NEW_PASSWORD not in event.detail


def test_a_refused_change_leaves_no_audit_event(session, world):
    partner_admin = session.get(User, world.partner_admin)
    with pytest.raises(NotFound):
        orgs.update_org(session, principal_of(session, partner_admin), actor_of(partner_admin), world.org,
                        tier="platinum")
    session.flush()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "org.updated")).all() == []


# --------------------------------------------------------------------------- who reads it


def test_admin_reads_the_latest_events_first(session, world, admin):
    orgs.update_org(session, *admin, world.org, tier="silver")
    users.update_user(session, *admin, world.partner_user, name="Alan")
    session.flush()
    actions = [e.action for e in audit.recent(session, admin[0], limit=2)]
    assert actions == ["user.updated", "org.updated"]


def test_admin_filters_events_by_action(session, world, admin):
    orgs.update_org(session, *admin, world.org, tier="silver")
    session.flush()
    assert {e.action for e in audit.recent(session, admin[0], action="org.updated")} == {"org.updated"}


@pytest.mark.parametrize("who", ["marketing", "partner_admin", "partner_user"])
def test_only_admins_read_the_audit_log_others_get_not_found(session, world, who):
    principal = principal_of(session, getattr(world, who))
    with pytest.raises(NotFound):
        audit.recent(session, principal)


def test_a_disabled_admin_cannot_read_the_audit_log(session, world, admin):
    deputy = make_user(session, "deputy@vendor.example", Role.ADMIN)
    users.set_active(session, *admin, deputy.id, False)
    with pytest.raises(NotFound):
        audit.recent(session, principal_of(session, deputy))

"""The admin page's package management: admins only, every change audited."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from factories import actor_of, make_org, make_user, principal_of
from kbportal import db as kbdb
from kbportal.models import AuditEvent, Role, User
from kbportal.services import language_packages, translation
from kbportal.services.errors import NotFound

pytest_plugins = ["argos_models"]


@pytest.fixture
def people(db) -> dict[str, int]:
    with Session(db) as session:
        org = make_org(session, "Alpha Asia", "APAC", "gold")
        ids = {"admin": make_user(session, "ada@vendor.example", Role.ADMIN).id,
               "marketing": make_user(session, "mia@vendor.example", Role.MARKETING).id,
               "partner_admin": make_user(session, "pat@alpha.example", Role.PARTNER_ADMIN, org=org).id}
        session.commit()
    return ids


def install_as(people, who: str, path):
    with kbdb.session_scope() as session:
        user = session.get(User, people[who])
        return language_packages.install(session, principal_of(session, user), actor_of(user), path)


def test_an_admin_installs_a_package_and_sees_its_pairs_and_it_is_audited(people, argos_packages):
    info = install_as(people, "admin", argos_packages["en-de"])

    with kbdb.session_scope() as session:
        installed, pairs = language_packages.listing(principal_of(session, people["admin"]))
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "translation.package_installed")).all()
    assert [(p.source, p.target) for p in installed] == [("en", "de")]
    assert ("en", "de") in {(p.source, p.target) for p in pairs}
    assert event.target_id == info.name and json.loads(event.detail)["target"] == "de"


def test_an_admin_removes_a_package_and_it_is_audited(people, argos_packages):
    install_as(people, "admin", argos_packages["en-de"])
    with kbdb.session_scope() as session:
        user = session.get(User, people["admin"])
        language_packages.remove(session, principal_of(session, user), actor_of(user), "en", "de")

    assert translation.packages() == []
    with kbdb.session_scope() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "translation.package_removed")).one()


@pytest.mark.parametrize("who", ["marketing", "partner_admin"])
def test_only_admins_may_list_install_or_remove_packages(people, argos_packages, who):
    with pytest.raises(NotFound):
        install_as(people, who, argos_packages["en-de"])
    with kbdb.session_scope() as session:
        user = session.get(User, people[who])
        with pytest.raises(NotFound):
            language_packages.listing(principal_of(session, user))
        with pytest.raises(NotFound):
            language_packages.remove(session, principal_of(session, user), actor_of(user), "en", "de")
    assert translation.packages() == []

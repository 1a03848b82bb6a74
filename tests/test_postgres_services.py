"""The foundation services on PostgreSQL: the same code path as SQLite, real server."""

from __future__ import annotations

import pytest

from kbportal import db as kbdb
from kbportal.config import reset_settings
from kbportal.models import Role
from kbportal.services import access, auth, orgs, users
from kbportal.services.access import Action, AudienceRule
from kbportal.services.audit import Actor
from kbportal.services.errors import AuthFailed

SYSTEM = access.Principal(user_id=None, role=Role.ADMIN)


@pytest.fixture
def pg(postgres_url, monkeypatch):
    monkeypatch.setenv("KBPORTAL_DATABASE_URL", postgres_url)
    reset_settings()
    kbdb.reset_engines()
    kbdb.migrate()
    yield postgres_url
    kbdb.reset_engines()
    reset_settings()


def test_accounts_sign_in_and_lock_work_on_postgres(pg):
    with kbdb.session_scope() as session:
        org = orgs.create_org(session, SYSTEM, Actor(), "Acme Pte Ltd", "APAC", "gold")
        users.create_user(session, SYSTEM, Actor(), email="ana@acme.example", name="Ana", role="partner_user",
                          password="correct-horse-1", org_id=org.id)
    assert auth.authenticate("ana@acme.example", "correct-horse-1").user.email == "ana@acme.example"
    codes = []
    for _ in range(5):
        with pytest.raises(AuthFailed) as failure:
            auth.authenticate("ana@acme.example", "wrong")
        codes.append(failure.value.code)
    assert codes[-1] == "auth.locked"


def test_access_sql_filter_selects_the_same_rows_on_postgres(pg):
    from sqlmodel import select

    from kbportal.models import Audience

    with kbdb.session_scope() as session:
        acme = orgs.create_org(session, SYSTEM, Actor(), "Acme Pte Ltd", "APAC", "gold")
        other = orgs.create_org(session, SYSTEM, Actor(), "Other GmbH", "EMEA", "silver")
        apac_silver = access.save_audience(session, AudienceRule(regions=frozenset({"APAC"}), min_tier="silver"))
        emea_only = access.save_audience(session, AudienceRule(regions=frozenset({"EMEA"})))
        granted = access.save_audience(session, AudienceRule(org_ids=frozenset({acme.id})))
        platinum = access.save_audience(session, AudienceRule(all_regions=True, min_tier="platinum"))
        user = users.create_user(session, SYSTEM, Actor(), email="ana@acme.example", name="Ana",
                                 role="partner_user", password="correct-horse-1", org_id=acme.id)
        principal = access.principal_for(session, user)
        visible = set(session.exec(select(Audience.id).where(Audience.id.in_(access.audience_ids_subquery(principal)))))
        assert other.id != acme.id
    assert visible == {apac_silver, granted}
    assert emea_only not in visible and platinum not in visible
    assert access.can(principal, Action.VIEW, access.GuardedObject("published", AudienceRule(org_ids=frozenset({acme.id}))))

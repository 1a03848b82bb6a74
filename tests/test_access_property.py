"""The three compiled forms of the access policy agree.

For random principals, audiences, statuses and expiry dates, and for every action:

    access.can(p, a, obj)
    == the row is selected by ``select(...).where(access.sql_filter(p, a, Model))``
       on a real SQLite database (audiences stored with ``access.save_audience``)
    == access.index_filter(p, a).matches(access.index_fields(obj))
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from kbportal import db as kbdb
from kbportal.models import Role, Status
from kbportal.services import access
from kbportal.services.access import Action, AudienceRule, GuardedObject, Principal
from factories import REGIONS, TIERS, eligible, forget_cached, make_org, partner, point_at

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
N_ORGS = 4


# A table for audience-bound objects that exists only in this test. It lives on its
# own MetaData, never on SQLModel.metadata (which the migrations test compares).
class _TestBase(DeclarativeBase):
    pass


class GuardedRow(_TestBase):
    __tablename__ = "test_guarded_object"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    audience_id: Mapped[int | None] = mapped_column(nullable=True)


@dataclass(frozen=True)
class PolicyDb:
    engine: Engine
    org_ids: tuple[int, ...]


@pytest.fixture(scope="module")
def policy_db(tmp_path_factory) -> Iterator[PolicyDb]:
    """One migrated database for the whole hypothesis run, with a few organisations."""
    with pytest.MonkeyPatch.context() as mp:
        point_at(mp, tmp_path_factory.mktemp("policy-db"))
        kbdb.migrate()
        engine = kbdb.get_engine()
        _TestBase.metadata.create_all(engine)
        with kbdb.session_scope() as s:
            org_ids = tuple(make_org(s, f"Org {i}", REGIONS[i % len(REGIONS)], TIERS[i % len(TIERS)]).id
                            for i in range(N_ORGS))
        yield PolicyDb(engine=engine, org_ids=org_ids)
        forget_cached()
    forget_cached()


# --------------------------------------------------------------------------- strategies
# Organisations are drawn as indexes into PolicyDb.org_ids (the rows exist only
# once the fixture has run).


@dataclass(frozen=True)
class PrincipalSpec:
    role: Role
    region: str | None
    tier: str | None
    org: int | None
    active: bool

    def build(self, org_ids: tuple[int, ...]) -> Principal:
        return Principal(user_id=42, role=self.role, org_id=None if self.org is None else org_ids[self.org],
                         region=self.region, tier=self.tier, eligible_tiers=eligible(self.tier), active=self.active)


@dataclass(frozen=True)
class AudienceSpec:
    all_regions: bool
    regions: frozenset[str]
    min_tier: str | None
    orgs: frozenset[int]

    def build(self, org_ids: tuple[int, ...]) -> AudienceRule:
        return AudienceRule(all_regions=self.all_regions, regions=self.regions, min_tier=self.min_tier,
                            org_ids=frozenset(org_ids[i] for i in self.orgs))


@dataclass(frozen=True)
class ObjectSpec:
    status: str
    expires_at: datetime | None
    audience: AudienceSpec | None


def _mostly(strategy, rarely):
    """``strategy`` three times in four, ``rarely`` otherwise."""
    return st.integers(0, 3).flatmap(lambda n: rarely if n == 0 else strategy)


# Partners are drawn more often than staff: their decisions are the interesting ones.
principals = st.builds(
    PrincipalSpec,
    role=st.sampled_from([Role.PARTNER_USER, Role.PARTNER_USER, Role.PARTNER_ADMIN, Role.PARTNER_ADMIN,
                          Role.MARKETING, Role.ADMIN]),
    region=_mostly(st.sampled_from(REGIONS), st.none()),
    tier=_mostly(st.sampled_from(TIERS), st.none()),
    org=_mostly(st.integers(0, N_ORGS - 1), st.none()),
    active=_mostly(st.just(True), st.just(False)),
)

audiences = st.builds(
    AudienceSpec,
    all_regions=_mostly(st.just(False), st.just(True)),
    regions=st.frozensets(st.sampled_from(REGIONS)),
    min_tier=st.none() | st.sampled_from(TIERS),
    orgs=st.frozensets(st.integers(0, N_ORGS - 1), max_size=3),
)

# None, exactly now, around now (microseconds), far off (days); in any UTC offset.
expiries = st.none() | st.builds(
    lambda delta, offset_hours: (NOW + delta).astimezone(timezone(timedelta(hours=offset_hours))),
    st.just(timedelta(0))
    | st.integers(-2_000_000, 2_000_000).map(lambda us: timedelta(microseconds=us))
    | st.integers(-3650, 3650).map(lambda d: timedelta(days=d)),
    st.integers(-11, 14),
)

objects = st.builds(
    ObjectSpec,
    status=_mostly(st.just(Status.PUBLISHED.value), st.sampled_from([s.value for s in Status])),
    expires_at=expiries,
    audience=_mostly(audiences, st.none()),
)


def _aud(all_regions=False, regions=(), min_tier=None, orgs=()) -> AudienceSpec:
    return AudienceSpec(all_regions, frozenset(regions), min_tier, frozenset(orgs))


# --------------------------------------------------------------------------- the property


@settings(max_examples=200, deadline=None)
@given(specs=st.lists(principals, min_size=2, max_size=5), batch=st.lists(objects, min_size=6, max_size=20))
@example(  # a gold APAC partner: sees the silver+ APAC object, not the EMEA or draft ones
    specs=[PrincipalSpec(Role.PARTNER_USER, "APAC", "gold", 0, True)],
    batch=[ObjectSpec("published", None, _aud(regions={"APAC"}, min_tier="silver")),
           ObjectSpec("published", None, _aud(regions={"EMEA"})),
           ObjectSpec("draft", None, _aud(all_regions=True)),
           ObjectSpec("published", NOW, _aud(all_regions=True)),
           ObjectSpec("published", NOW + timedelta(microseconds=1), _aud(orgs={0}, min_tier="platinum"))],
)
@example(  # marketing sees everything, including objects without audience
    specs=[PrincipalSpec(Role.MARKETING, None, None, None, True)],
    batch=[ObjectSpec("draft", NOW - timedelta(days=1), None), ObjectSpec("archived", None, _aud())],
)
def test_can_sql_filter_and_index_filter_agree_for_every_action(policy_db: PolicyDb, specs: list[PrincipalSpec],
                                                                 batch: list[ObjectSpec]):
    with Session(policy_db.engine) as session:
        try:
            guarded: dict[int, GuardedObject] = {}
            for item in batch:
                rule = item.audience.build(policy_db.org_ids) if item.audience else None
                audience_id = access.save_audience(session, rule) if rule else None
                row = GuardedRow(status=item.status, expires_at=item.expires_at, audience_id=audience_id)
                session.add(row)
                session.flush()
                guarded[row.id] = GuardedObject(status=item.status, audience=rule, expires_at=item.expires_at)

            for principal, action in itertools.product([spec.build(policy_db.org_ids) for spec in specs], Action):
                by_can = {i for i, o in guarded.items() if access.can(principal, action, o, now=NOW)}
                by_sql = set(session.execute(
                    sa.select(GuardedRow.id).where(access.sql_filter(principal, action, GuardedRow, now=NOW))
                ).scalars())
                index = access.index_filter(principal, action, now=NOW)
                by_index = {i for i, o in guarded.items() if index.matches(access.index_fields(o))}
                if principal.active and principal.role.is_partner and action == Action.VIEW:
                    event(f"partner sees {'some' if by_can else 'none'} of the batch")
                assert by_can == by_sql == by_index, (
                    f"{action}: can={sorted(by_can)} sql={sorted(by_sql)} index={sorted(by_index)}\n"
                    f"principal={principal}\nobjects={guarded}"
                )
        finally:
            session.rollback()  # the next example starts from an empty table


def test_stored_audiences_load_back_as_the_same_rule(policy_db: PolicyDb):
    rule = AudienceRule(regions=frozenset({"APAC", "NA"}), min_tier="silver", org_ids=frozenset(policy_db.org_ids[:2]))
    with Session(policy_db.engine) as session:
        try:
            assert access.load_audience(session, access.save_audience(session, rule)) == rule
        finally:
            session.rollback()


# --------------------------------------------------------------------------- the Whoosh trap
# In Whoosh an empty filter set means "no filter at all", so a principal who may
# see nothing must get an explicit match_nothing filter, never an empty one.

EVERYTHING = access.index_fields(GuardedObject(
    status="published",
    audience=AudienceRule(all_regions=True, regions=frozenset(REGIONS), org_ids=frozenset({1, 2, 3})),
))


@pytest.mark.parametrize("role", list(Role))
def test_inactive_principal_gets_a_match_nothing_index_filter(role):
    flt = access.index_filter(Principal(user_id=1, role=role, org_id=1, region="APAC", active=False), now=NOW)
    assert flt.match_nothing and not flt.unrestricted
    assert not flt.matches(EVERYTHING)


def test_anonymous_gets_a_match_nothing_index_filter():
    assert access.index_filter(access.ANONYMOUS, now=NOW).match_nothing


@pytest.mark.parametrize("action", [Action.EDIT, Action.MODERATE])
def test_partner_asking_for_a_forbidden_action_gets_a_match_nothing_index_filter(action):
    assert access.index_filter(partner(), action, now=NOW).match_nothing


def test_partner_whose_tokens_come_out_empty_gets_match_nothing_not_an_empty_filter(monkeypatch):
    # Fault injection: token derivation yields nothing; the filter must not open up.
    monkeypatch.setattr(access, "principal_tokens", lambda principal: frozenset())
    flt = access.index_filter(partner(), Action.VIEW, now=NOW)
    assert flt.match_nothing
    assert not flt.matches(EVERYTHING)


@given(spec=st.builds(PrincipalSpec, role=st.sampled_from([Role.PARTNER_USER, Role.PARTNER_ADMIN]),
                      region=st.none() | st.sampled_from(REGIONS), tier=st.none() | st.sampled_from(TIERS),
                      org=st.none() | st.integers(0, N_ORGS - 1), active=st.just(True)))
def test_active_partner_index_filter_is_restricted_and_never_empty(spec: PrincipalSpec):
    flt = access.index_filter(spec.build((1, 2, 3, 4)), Action.VIEW, now=NOW)
    assert not flt.unrestricted and not flt.match_nothing
    assert flt.any_tokens and flt.statuses == {"published"}

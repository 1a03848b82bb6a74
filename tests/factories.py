"""Builders for test data. Everything goes through the real services.

``SYSTEM`` is the principal scripts and fixtures act as (an admin without a user
row); ``SYSTEM_ACTOR`` is who the audit trail shows for fixture changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from kbportal import config
from kbportal import db as kbdb

from kbportal.models import Organisation, Role, User
from kbportal.services import access, indexing, jobs, orgs, users
from kbportal.services.access import AudienceRule, GuardedObject, Principal
from kbportal.services.audit import Actor

SYSTEM = Principal(user_id=None, role=Role.ADMIN)
SYSTEM_ACTOR = Actor(user_id=None, email="system@kbportal.test", ip="cli")
PASSWORD = "correct horse battery staple"

# The seeded defaults (migration 0001), lowest tier first.
REGIONS = ("APAC", "EMEA", "NA", "LATAM")
TIERS = ("registered", "silver", "gold", "platinum")


def eligible(tier: str | None) -> frozenset[str]:
    """Tiers at or below ``tier`` in the seeded order."""
    if tier is None:
        return frozenset()
    return frozenset(TIERS[: TIERS.index(tier) + 1])


def make_org(session: Session, name: str, region: str = "APAC", tier: str = "gold", active: bool = True) -> Organisation:
    return orgs.create_org(session, SYSTEM, SYSTEM_ACTOR, name=name, region=region, tier=tier, active=active)


def make_user(session: Session, email: str, role: Role | str = Role.PARTNER_USER, org: Organisation | int | None = None,
              password: str = PASSWORD, **kwargs) -> User:
    org_id = org.id if isinstance(org, Organisation) else org
    return users.create_user(session, SYSTEM, SYSTEM_ACTOR, email=email, name=email.split("@")[0].title(),
                             role=str(Role(role).value), password=password, org_id=org_id, **kwargs)


def principal_of(session: Session, user: User | int) -> Principal:
    row = session.get(User, user) if isinstance(user, int) else user
    return access.principal_for(session, row)


def actor_of(user: User, ip: str = "198.51.100.7") -> Actor:
    return Actor.of(user, ip)


def partner(region: str | None = "APAC", tier: str | None = "gold", org_id: int | None = 1,
            role: Role = Role.PARTNER_USER, active: bool = True) -> Principal:
    """A partner principal built directly (no DB), tiers ranked as seeded."""
    return Principal(user_id=100, role=role, org_id=org_id, region=region, tier=tier,
                     eligible_tiers=eligible(tier), active=active)


def staff(role: Role = Role.MARKETING, active: bool = True) -> Principal:
    return Principal(user_id=1, role=role, active=active)


def obj(status: str = "published", *, regions: tuple[str, ...] = (), all_regions: bool = False,
        min_tier: str | None = None, org_ids: tuple[int, ...] = (), expires_at: datetime | None = None,
        no_audience: bool = False) -> GuardedObject:
    audience = None if no_audience else AudienceRule(
        all_regions=all_regions, regions=frozenset(regions), min_tier=min_tier, org_ids=frozenset(org_ids))
    return GuardedObject(status=status, audience=audience, expires_at=expires_at)


# --------------------------------------------------------------------------- databases

DB_FILE = "kbportal.db"


def forget_cached() -> None:
    """Drop cached settings and engines (the environment changed)."""
    config.reset_settings()
    kbdb.reset_engines()
    jobs.reset_queue()
    indexing.forget_indexes()


def point_at(mp: pytest.MonkeyPatch, data_dir: Path) -> None:
    """Make the app use the SQLite database in ``data_dir``."""
    mp.setenv("KBPORTAL_DATA_DIR", str(data_dir))
    mp.delenv("KBPORTAL_DATABASE_URL", raising=False)
    forget_cached()


@dataclass(frozen=True)
class Template:
    path: Path
    world: Any


def build_template(tmp_path_factory: pytest.TempPathFactory, name: str, builder: Callable[[Session], Any]) -> Template:
    """Migrate a new database, run ``builder`` in one committed session, keep the file."""
    data_dir = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as mp:
        point_at(mp, data_dir)
        kbdb.migrate()
        with kbdb.session_scope() as s:
            world = builder(s)
        kbdb.get_engine().dispose()  # checkpoints the WAL into the main file
        forget_cached()
    forget_cached()
    return Template(path=data_dir / DB_FILE, world=world)



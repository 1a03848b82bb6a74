"""Regions and tiers (configurable data: listed, added by admins) and the time zones users pick from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import available_timezones

from sqlmodel import Session, col, func, select

from kbportal.models import Organisation, Region, Tier
from kbportal.services import access, audit
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.services.validation import clean_text


def regions(session: Session) -> list[Region]:
    return list(session.exec(select(Region).order_by(Region.code)))


def tiers(session: Session) -> list[Tier]:
    """Tiers from lowest to highest rank."""
    return list(session.exec(select(Tier).order_by(col(Tier.rank))))


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    return sorted(tz for tz in available_timezones() if "/" in tz or tz == "UTC")


def add_region(session: Session, principal: Principal, actor: Actor, code: str, name: str) -> Region:
    """A new sales region (admins only); codes are upper case, e.g. ``MEA``."""
    if not access.can_manage_orgs(principal):
        raise NotFound()
    code = clean_text(code, "code", min_len=2, max_len=16).upper()
    name = clean_text(name, "name", min_len=2, max_len=80)
    if session.get(Region, code) is not None:
        raise ValidationFailed("reference.code_taken", field="code", code=code)
    region = Region(code=code, name=name)
    session.add(region)
    audit.record(session, actor, "region.created", "region", code, name=name)
    return region


def add_tier(session: Session, principal: Principal, actor: Actor, code: str, name: str, rank: int) -> Tier:
    """A new partner tier (admins only); ``rank`` places it among the others (higher sees more)."""
    if not access.can_manage_orgs(principal):
        raise NotFound()
    code = clean_text(code, "code", min_len=2, max_len=16).lower()
    name = clean_text(name, "name", min_len=2, max_len=80)
    if session.get(Tier, code) is not None:
        raise ValidationFailed("reference.code_taken", field="code", code=code)
    if session.exec(select(Tier).where(Tier.rank == rank)).first() is not None:
        raise ValidationFailed("reference.rank_taken", field="rank", rank=rank)
    tier = Tier(code=code, name=name, rank=rank)
    session.add(tier)
    audit.record(session, actor, "tier.created", "tier", code, name=name, rank=rank)
    return tier


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    organisations: int  # how many organisations are in it


@dataclass(frozen=True)
class TierRow:
    code: str
    name: str
    rank: int
    organisations: int


def region_rows(session: Session, principal: Principal) -> list[RegionRow]:
    """Regions with how many organisations use each (admins only)."""
    if not access.can_manage_orgs(principal):
        raise NotFound()
    used = dict(session.exec(select(Organisation.region_code, func.count()).group_by(Organisation.region_code)).all())
    return [RegionRow(r.code, r.name, int(used.get(r.code, 0))) for r in regions(session)]


def tier_rows(session: Session, principal: Principal) -> list[TierRow]:
    """Tiers from lowest to highest rank with how many organisations hold each (admins only)."""
    if not access.can_manage_orgs(principal):
        raise NotFound()
    used = dict(session.exec(select(Organisation.tier_code, func.count()).group_by(Organisation.tier_code)).all())
    return [TierRow(t.code, t.name, t.rank, int(used.get(t.code, 0))) for t in tiers(session)]


def _rename(session: Session, principal: Principal, actor: Actor, row: Region | Tier | None, kind: str,
            name: str) -> Region | Tier:
    """Change the display name only: codes (and tier ranks) stay, audience rules refer to them."""
    if not access.can_manage_orgs(principal) or row is None:
        raise NotFound()
    name = clean_text(name, "name", min_len=2, max_len=80)
    if name != row.name:
        audit.record(session, actor, f"{kind}.renamed", kind, row.code, before=row.name, after=name)
        row.name = name
        session.add(row)
    return row


def rename_region(session: Session, principal: Principal, actor: Actor, code: str, name: str) -> Region:
    return _rename(session, principal, actor, session.get(Region, (code or "").strip().upper()), "region", name)


def rename_tier(session: Session, principal: Principal, actor: Actor, code: str, name: str) -> Tier:
    return _rename(session, principal, actor, session.get(Tier, (code or "").strip().lower()), "tier", name)


def tier_label(code: str, name: str, lang: str) -> str:
    """How a tier is shown: a built-in tier under its seeded name is translated by the
    catalogue; a tier added or renamed by an admin shows the admin's name."""
    from kbportal.i18n import REFERENCE, catalogue

    key = f"tier.{code}"
    english = catalogue(REFERENCE).get(key)
    if english and name == english:
        return catalogue(lang).get(key) or english
    return name or code

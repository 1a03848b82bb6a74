"""Regions and tiers (configurable data: listed, added by admins) and the time zones users pick from."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from sqlmodel import Session, col, select

from kbportal.models import Region, Tier
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

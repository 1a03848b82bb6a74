"""Regions and tiers (configurable data) and the supported UI languages and time zones."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from sqlmodel import Session, col, select

from kbportal.models import Region, Tier


def regions(session: Session) -> list[Region]:
    return list(session.exec(select(Region).order_by(Region.code)))


def tiers(session: Session) -> list[Tier]:
    """Tiers from lowest to highest rank."""
    return list(session.exec(select(Tier).order_by(col(Tier.rank))))


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    return sorted(tz for tz in available_timezones() if "/" in tz or tz == "UTC")

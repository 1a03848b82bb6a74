"""Partner organisations: create, edit, list. Admins manage all; partner admins see their own."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from kbportal.models import Organisation, Region, Tier, User
from kbportal.services import access, audit, auth
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.services.validation import clean_text
from kbportal.timeutil import utcnow


@dataclass(frozen=True)
class OrgRow:
    """An organisation as listings show it."""

    id: int
    name: str
    region: str
    tier: str
    active: bool
    users: int


def _check_region_tier(session: Session, region: str, tier: str) -> tuple[str, str]:
    region = (region or "").strip().upper()
    tier = (tier or "").strip().lower()
    if session.get(Region, region) is None:
        known = ", ".join(r.code for r in session.exec(select(Region).order_by(Region.code)))
        raise ValidationFailed("org.unknown_region", field="region", region=region, known=known)
    if session.get(Tier, tier) is None:
        known = ", ".join(t.code for t in session.exec(select(Tier).order_by(col(Tier.rank))))
        raise ValidationFailed("org.unknown_tier", field="tier", tier=tier, known=known)
    return region, tier


def _check_name_free(session: Session, name: str, except_id: int | None = None) -> None:
    clash = session.exec(select(Organisation).where(func.lower(Organisation.name) == name.lower())).first()
    if clash is not None and clash.id != except_id:
        raise ValidationFailed("org.name_taken", field="name", name=name)


def create_org(session: Session, principal: Principal, actor: Actor, name: str, region: str, tier: str,
               active: bool = True) -> Organisation:
    if not access.can_manage_orgs(principal):
        raise NotFound()
    name = clean_text(name, "name", min_len=2, max_len=120)
    region, tier = _check_region_tier(session, region, tier)
    _check_name_free(session, name)
    org = Organisation(name=name, region_code=region, tier_code=tier, active=active)
    session.add(org)
    session.flush()
    audit.record(session, actor, "org.created", "organisation", org.id, name=name, region=region, tier=tier, active=active)
    return org


def update_org(session: Session, principal: Principal, actor: Actor, org_id: int, *, name: str | None = None,
               region: str | None = None, tier: str | None = None, active: bool | None = None) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or not access.can_manage_orgs(principal):
        raise NotFound()
    changes: dict[str, object] = {}
    if name is not None:
        name = clean_text(name, "name", min_len=2, max_len=120)
        _check_name_free(session, name, except_id=org.id)
        if name != org.name:
            changes["name"] = [org.name, name]
            org.name = name
    if region is not None or tier is not None:
        new_region, new_tier = _check_region_tier(session, region or org.region_code, tier or org.tier_code)
        if new_region != org.region_code:
            changes["region"] = [org.region_code, new_region]
            org.region_code = new_region
        if new_tier != org.tier_code:
            changes["tier"] = [org.tier_code, new_tier]
            org.tier_code = new_tier
    if active is not None and active != org.active:
        changes["active"] = [org.active, active]
        org.active = active
        if not active:  # its users' sessions end now, and stay ended if the org comes back
            for user_id in session.exec(select(User.id).where(User.org_id == org.id)):
                auth.end_sessions_of(session, user_id)
    if changes:
        org.updated_at = utcnow()
        session.add(org)
        audit.record(session, actor, "org.updated", "organisation", org.id, **changes)
    return org


def get_org(session: Session, principal: Principal, org_id: int) -> Organisation:
    org = session.exec(select(Organisation).where(Organisation.id == org_id, access.orgs_sql_filter(principal))).first()
    if org is None:
        raise NotFound()
    return org


def find_org_by_name(session: Session, principal: Principal, name: str) -> Organisation:
    org = session.exec(
        select(Organisation).where(func.lower(Organisation.name) == (name or "").strip().lower(),
                                   access.orgs_sql_filter(principal))
    ).first()
    if org is None:
        raise NotFound("org.not_found", name=name)
    return org


def list_orgs(session: Session, principal: Principal, query: str = "") -> list[OrgRow]:
    user_counts = (
        select(User.org_id, func.count().label("n")).group_by(User.org_id).subquery()
    )
    stmt = (
        select(Organisation, func.coalesce(user_counts.c.n, 0))
        .outerjoin(user_counts, user_counts.c.org_id == Organisation.id)
        .where(access.orgs_sql_filter(principal))
        .order_by(func.lower(Organisation.name))
    )
    if query:
        stmt = stmt.where(func.lower(Organisation.name).contains(query.strip().lower()))
    return [
        OrgRow(id=o.id, name=o.name, region=o.region_code, tier=o.tier_code, active=o.active, users=n)
        for o, n in session.exec(stmt)
    ]


def organisation_of(session: Session, user: User) -> Organisation | None:
    """The user's own organisation (None for vendor staff); no access check: it is their own."""
    return session.get(Organisation, user.org_id) if user.org_id else None

"""The one access policy.

Who may view, download, edit or moderate what is decided here and nowhere else.
The rules are data (``ROLE_RULES``, ``PAGE_ROLES``); the decision on audience-bound
objects exists in three compiled forms that a property test proves equal:

* ``can(principal, action, obj)``            - one object (download, view, post)
* ``sql_filter(principal, action, Model)``   - an SQL WHERE clause for listings
* ``index_filter(principal, action)``        - a filter for the search index,
  matched against ``index_fields(obj)`` (the search issue applies it inside the query)

Forbidden objects answer as not found: callers raise ``NotFound``, never "forbidden".

Audience semantics: a partner sees a published, unexpired object when its
organisation is on the object's explicit allow-list, or when its region is one of
the object's regions (or the audience spans all regions) and its tier ranks at or
above the object's minimum tier. Staff (admin, marketing) see everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from kbportal.models import (
    Audience,
    AudienceOrg,
    AudienceRegion,
    GeneratedPdf,
    Organisation,
    Role,
    Status,
    Tier,
    User,
)
from kbportal.timeutil import utcnow


class Action(StrEnum):
    VIEW = "view"
    DOWNLOAD = "download"
    EDIT = "edit"
    MODERATE = "moderate"


@dataclass(frozen=True)
class RoleRule:
    """What a role may do with audience-bound objects."""

    actions: frozenset[Action]
    statuses: frozenset[Status]
    audience_bound: bool  # True: the object's audience must admit the user


_ALL_ACTIONS = frozenset(Action)
_ALL_STATUSES = frozenset(Status)
_PARTNER_RULE = RoleRule(
    actions=frozenset({Action.VIEW, Action.DOWNLOAD}),
    statuses=frozenset({Status.PUBLISHED}),
    audience_bound=True,
)

ROLE_RULES: dict[Role, RoleRule] = {
    Role.ADMIN: RoleRule(_ALL_ACTIONS, _ALL_STATUSES, audience_bound=False),
    Role.MARKETING: RoleRule(_ALL_ACTIONS, _ALL_STATUSES, audience_bound=False),
    Role.PARTNER_ADMIN: _PARTNER_RULE,
    Role.PARTNER_USER: _PARTNER_RULE,
}

# Pages (and the event handlers behind them) each role may open.
PAGE_ROLES: dict[str, frozenset[Role]] = {
    "home": frozenset(Role),
    "library": frozenset(Role),
    "search": frozenset(Role),
    "cobrand": frozenset(Role),
    "kb": frozenset(Role),
    "forums": frozenset(Role),
    "studio": frozenset({Role.ADMIN, Role.MARKETING}),
    "analytics": frozenset({Role.ADMIN, Role.MARKETING}),
    "admin_orgs": frozenset({Role.ADMIN}),
    "admin_users": frozenset({Role.ADMIN, Role.PARTNER_ADMIN}),
    "admin_audit": frozenset({Role.ADMIN}),
    "admin_system": frozenset({Role.ADMIN}),
    "admin_translation": frozenset({Role.ADMIN}),
}

# Roles a manager may hand out.
ASSIGNABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset(Role),
    Role.PARTNER_ADMIN: frozenset({Role.PARTNER_ADMIN, Role.PARTNER_USER}),
}


@dataclass(frozen=True)
class Principal:
    """Everything the policy needs to know about the acting user, resolved once."""

    user_id: int | None
    role: Role
    org_id: int | None = None
    region: str | None = None
    tier: str | None = None
    # Tier codes ranked at or below the user's tier: an audience whose minimum
    # tier is one of these admits the user.
    eligible_tiers: frozenset[str] = frozenset()
    active: bool = True

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.MARKETING)


ANONYMOUS = Principal(user_id=None, role=Role.PARTNER_USER, active=False)


@dataclass(frozen=True)
class AudienceRule:
    """An audience as plain data (loaded from the ``audience*`` tables)."""

    all_regions: bool = False
    regions: frozenset[str] = frozenset()
    min_tier: str | None = None
    org_ids: frozenset[int] = frozenset()


class Guarded(Protocol):
    """Any object the policy can decide on."""

    status: str
    expires_at: datetime | None
    audience: AudienceRule | None


@dataclass(frozen=True)
class GuardedObject:
    """A plain Guarded value (services build one from their rows)."""

    status: str
    audience: AudienceRule | None
    expires_at: datetime | None = None


# --------------------------------------------------------------------------- principal


def principal_for(session: Session, user: User | None) -> Principal:
    """Resolve a user row into a Principal (organisation, region, eligible tiers)."""
    if user is None or user.id is None:
        return ANONYMOUS
    org = session.get(Organisation, user.org_id) if user.org_id else None
    eligible: frozenset[str] = frozenset()
    if org is not None:
        own = session.get(Tier, org.tier_code)
        if own is not None:
            eligible = frozenset(session.exec(select(Tier.code).where(Tier.rank <= own.rank)))
    return make_principal(user_id=user.id, role=user.role, user_active=bool(user.active),
                          org_id=org.id if org else None, org_active=org.active if org else None,
                          region=org.region_code if org else None, tier=org.tier_code if org else None,
                          eligible_tiers=eligible)


def make_principal(*, user_id: int, role: str | Role, user_active: bool, org_id: int | None,
                   org_active: bool | None, region: str | None, tier: str | None,
                   eligible_tiers: frozenset[str]) -> Principal:
    """The Principal of a user and their organisation (``org_id`` None: no or a missing
    organisation); a partner without an organisation may do nothing."""
    role = Role(role)
    active = bool(user_active) and (org_id is None or bool(org_active))
    if role.is_partner and org_id is None:
        active = False
    return Principal(user_id=user_id, role=role, org_id=org_id, region=region if org_id else None,
                     tier=tier if org_id else None, eligible_tiers=eligible_tiers if org_id else frozenset(),
                     active=active)


def may_ever(principal: Principal, action: Action) -> bool:
    """Whether the principal's role allows ``action`` on any object at all (a shortcut
    that saves a query where the answer is no for every object)."""
    return principal.active and action in ROLE_RULES[principal.role].actions


# --------------------------------------------------------------------------- form 1: one object


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


def audience_admits(principal: Principal, audience: AudienceRule | None) -> bool:
    if audience is None:
        return False
    if principal.org_id is not None and principal.org_id in audience.org_ids:
        return True
    region_ok = audience.all_regions or (principal.region is not None and principal.region in audience.regions)
    tier_ok = audience.min_tier is None or audience.min_tier in principal.eligible_tiers
    return region_ok and tier_ok


def can(principal: Principal, action: Action, obj: Guarded, now: datetime | None = None) -> bool:
    """Decide one action on one object."""
    if not principal.active:
        return False
    rule = ROLE_RULES[principal.role]
    if action not in rule.actions:
        return False
    if not rule.audience_bound:
        return True
    now = now or utcnow()
    return (
        obj.status in rule.statuses
        and not _expired(obj.expires_at, now)
        and audience_admits(principal, obj.audience)
    )


# --------------------------------------------------------------------------- form 2: SQL


def audience_ids_subquery(principal: Principal):
    """SELECT audience.id for every audience that admits the principal."""
    by_org = select(AudienceOrg.audience_id).where(AudienceOrg.org_id == principal.org_id)
    by_region = select(AudienceRegion.audience_id).where(AudienceRegion.region_code == principal.region)
    tier_ok = (
        or_(Audience.min_tier.is_(None), Audience.min_tier.in_(sorted(principal.eligible_tiers)))
        if principal.eligible_tiers
        else Audience.min_tier.is_(None)
    )
    region_ok = or_(Audience.all_regions == true(), Audience.id.in_(by_region)) if principal.region else (
        Audience.all_regions == true()
    )
    admits = and_(region_ok, tier_ok)
    if principal.org_id is not None:
        admits = or_(Audience.id.in_(by_org), admits)
    return select(Audience.id).where(admits)


def sql_filter(principal: Principal, action: Action, model: Any,
               now: datetime | ColumnElement | None = None) -> ColumnElement[bool]:
    """WHERE clause selecting the rows of ``model`` the principal may ``action``.

    ``model`` needs ``status``, ``expires_at`` and ``audience_id`` columns. ``now`` may be
    a bind parameter, for a statement built once and run many times.
    """
    if not principal.active:
        return false()
    rule = ROLE_RULES[principal.role]
    if action not in rule.actions:
        return false()
    if not rule.audience_bound:
        return true()
    if now is None:
        now = utcnow()
    return and_(
        model.status.in_([s.value for s in rule.statuses]),
        or_(model.expires_at.is_(None), model.expires_at > now),
        model.audience_id.in_(audience_ids_subquery(principal)),
    )


# --------------------------------------------------------------------------- form 3: search index

ANY = "*"


def audience_tokens(audience: AudienceRule | None) -> frozenset[str]:
    """Access tokens an indexed object carries (stored in a keyword field).

    ``org:<id>`` for explicit grants; ``rt:<region|*>:<min tier|*>`` for the
    region/tier rule. An object without audience carries none: no partner matches.
    """
    if audience is None:
        return frozenset()
    tokens = {f"org:{org_id}" for org_id in audience.org_ids}
    regions = [ANY] if audience.all_regions else sorted(audience.regions)
    tier = audience.min_tier or ANY
    tokens.update(f"rt:{region}:{tier}" for region in regions)
    return frozenset(tokens)


@dataclass(frozen=True)
class IndexFields:
    """What the search index stores per object for access filtering."""

    status: str
    expires_at: datetime | None
    access_tokens: frozenset[str]


def index_fields(obj: Guarded) -> IndexFields:
    return IndexFields(status=obj.status, expires_at=obj.expires_at, access_tokens=audience_tokens(obj.audience))


@dataclass(frozen=True)
class IndexFilter:
    """Access filter for the search index, applied inside the query.

    ``unrestricted``: no filter. ``match_nothing``: no hit at all (guards the
    Whoosh trap where an empty filter set means "no filter"). Otherwise a document
    matches when its status is in ``statuses``, it is not expired at ``now`` and it
    carries at least one of ``any_tokens``.
    """

    unrestricted: bool = False
    match_nothing: bool = False
    statuses: frozenset[str] = frozenset()
    any_tokens: frozenset[str] = frozenset()
    now: datetime | None = None

    def matches(self, fields: IndexFields) -> bool:
        if self.match_nothing:
            return False
        if self.unrestricted:
            return True
        return (
            fields.status in self.statuses
            and not (fields.expires_at is not None and self.now is not None and fields.expires_at <= self.now)
            and bool(self.any_tokens & fields.access_tokens)
        )

    @property
    def access_class(self) -> tuple:
        """Cache key: principals with equal filters share cached docnum sets."""
        return (self.unrestricted, self.match_nothing, tuple(sorted(self.statuses)), tuple(sorted(self.any_tokens)))


def principal_tokens(principal: Principal) -> frozenset[str]:
    tokens: set[str] = set()
    if principal.org_id is not None:
        tokens.add(f"org:{principal.org_id}")
    regions = [ANY] + ([principal.region] if principal.region else [])
    tiers = [ANY, *sorted(principal.eligible_tiers)]
    tokens.update(f"rt:{region}:{tier}" for region in regions for tier in tiers)
    return frozenset(tokens)


def index_filter(principal: Principal, action: Action = Action.VIEW, now: datetime | None = None) -> IndexFilter:
    if not principal.active:
        return IndexFilter(match_nothing=True)
    rule = ROLE_RULES[principal.role]
    if action not in rule.actions:
        return IndexFilter(match_nothing=True)
    if not rule.audience_bound:
        return IndexFilter(unrestricted=True)
    tokens = principal_tokens(principal)
    if not tokens:
        return IndexFilter(match_nothing=True)
    return IndexFilter(
        statuses=frozenset(s.value for s in rule.statuses),
        any_tokens=tokens,
        now=now or utcnow(),
    )


# --------------------------------------------------------------------------- audiences as rows


def load_audience(session: Session, audience_id: int | None) -> AudienceRule | None:
    if audience_id is None:
        return None
    row = session.get(Audience, audience_id)
    if row is None:
        return None
    regions = session.exec(select(AudienceRegion.region_code).where(AudienceRegion.audience_id == audience_id))
    orgs = session.exec(select(AudienceOrg.org_id).where(AudienceOrg.audience_id == audience_id))
    return AudienceRule(
        all_regions=row.all_regions,
        regions=frozenset(regions),
        min_tier=row.min_tier,
        org_ids=frozenset(orgs),
    )


def save_audience(session: Session, rule: AudienceRule, audience_id: int | None = None) -> int:
    """Store ``rule`` (new row, or replace the rows of ``audience_id``); returns the id."""
    row = session.get(Audience, audience_id) if audience_id else None
    fresh = row is None
    if row is None:
        row = Audience()
    row.all_regions = rule.all_regions
    row.min_tier = rule.min_tier
    session.add(row)
    session.flush()
    if not fresh:  # replace the old rows (a new audience has none: no queries on the upload path)
        for old in session.exec(select(AudienceRegion).where(AudienceRegion.audience_id == row.id)):
            session.delete(old)
        for old in session.exec(select(AudienceOrg).where(AudienceOrg.audience_id == row.id)):
            session.delete(old)
        session.flush()
    if not rule.all_regions:
        for code in sorted(rule.regions):
            session.add(AudienceRegion(audience_id=row.id, region_code=code))
    for org_id in sorted(rule.org_ids):
        session.add(AudienceOrg(audience_id=row.id, org_id=org_id))
    session.flush()
    assert row.id is not None
    return row.id


# --------------------------------------------------------------------------- accounts and pages


def can_open_page(principal: Principal, page: str) -> bool:
    return principal.active and principal.role in PAGE_ROLES.get(page, frozenset())


def can_create_documents(principal: Principal) -> bool:
    """Upload new documents: roles that may edit every document whatever its audience (staff)."""
    if not principal.active:
        return False
    rule = ROLE_RULES[principal.role]
    return Action.EDIT in rule.actions and not rule.audience_bound


def can_manage_orgs(principal: Principal) -> bool:
    return principal.active and principal.role == Role.ADMIN


def orgs_sql_filter(principal: Principal) -> ColumnElement[bool]:
    """Organisations a principal may list: admins all, partner admins their own."""
    if not principal.active:
        return false()
    if principal.role in (Role.ADMIN, Role.MARKETING):
        return true()
    if principal.role == Role.PARTNER_ADMIN and principal.org_id is not None:
        return Organisation.id == principal.org_id
    return false()


def can_manage_users_of(principal: Principal, org_id: int | None) -> bool:
    """May the principal create, edit or disable users belonging to ``org_id``?"""
    if not principal.active:
        return False
    if principal.role == Role.ADMIN:
        return True
    return principal.role == Role.PARTNER_ADMIN and org_id is not None and org_id == principal.org_id


def default_org_for_new_users(principal: Principal) -> int | None:
    """Partner admins add users to their own organisation; admins choose (None = vendor staff)."""
    return principal.org_id if principal.role == Role.PARTNER_ADMIN else None


def users_sql_filter(principal: Principal) -> ColumnElement[bool]:
    if not principal.active:
        return false()
    if principal.role == Role.ADMIN:
        return true()
    if principal.role == Role.PARTNER_ADMIN and principal.org_id is not None:
        return User.org_id == principal.org_id
    return false()


def can_assign_role(principal: Principal, role: Role) -> bool:
    return principal.active and role in ASSIGNABLE_ROLES.get(principal.role, frozenset())


def can_view_audit(principal: Principal) -> bool:
    return principal.active and principal.role == Role.ADMIN


# --------------------------------------------------------------------------- co-branding


def can_view_branding(principal: Principal, org_id: int | None) -> bool:
    """See an organisation's branding profile (it prefills the co-brand form): its own
    members, and staff."""
    if not principal.active or org_id is None:
        return False
    return principal.is_staff or principal.org_id == org_id


def can_edit_branding(principal: Principal, org_id: int | None) -> bool:
    """Change an organisation's branding profile: its partner admins, and admins."""
    if not principal.active or org_id is None:
        return False
    if principal.role == Role.ADMIN:
        return True
    return principal.role == Role.PARTNER_ADMIN and principal.org_id == org_id


def can_generate_for(principal: Principal, org_id: int | None) -> bool:
    """Make co-branded PDFs with ``org_id``'s branding: its members for their own
    organisation; staff for any (to try a template with a partner's branding)."""
    if not principal.active or org_id is None:
        return False
    return principal.is_staff or principal.org_id == org_id


def generated_sql_filter(principal: Principal) -> ColumnElement[bool]:
    """Generated PDFs a principal may list and download: its organisation's; staff all."""
    if not principal.active:
        return false()
    if principal.is_staff:
        return true()
    if principal.org_id is not None:
        return GeneratedPdf.org_id == principal.org_id
    return false()



# --------------------------------------------------------------------------- explanations


@dataclass(frozen=True)
class Reason:
    """One step of a decision, as a catalogue key with parameters (for the UI)."""

    code: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: str, **params: object) -> "Reason":
        return cls(code, tuple((k, str(v)) for k, v in params.items()))


@dataclass(frozen=True)
class Explanation:
    allowed: bool
    reasons: tuple[Reason, ...]


def explain(principal: Principal, action: Action, obj: Guarded, now: datetime | None = None) -> Explanation:
    """Why ``can()`` says yes or no, step by step; ``allowed`` always equals ``can()``.

    Admins confuse audience rules everywhere: the effective-access panel shows these.
    """
    if not principal.active:
        return Explanation(False, (Reason.of("access.reason.inactive"),))
    rule = ROLE_RULES[principal.role]
    if action not in rule.actions:
        return Explanation(False, (Reason.of("access.reason.action_not_allowed", action=action.value),))
    if not rule.audience_bound:
        return Explanation(True, (Reason.of("access.reason.staff"),))
    now = now or utcnow()
    reasons: list[Reason] = []
    ok = True
    if obj.status not in rule.statuses:
        reasons.append(Reason.of("access.reason.status", status=obj.status))
        ok = False
    if _expired(obj.expires_at, now):
        reasons.append(Reason.of("access.reason.expired"))
        ok = False
    audience = obj.audience
    if audience is None:
        reasons.append(Reason.of("access.reason.no_audience"))
        return Explanation(False, tuple(reasons))
    if principal.org_id is not None and principal.org_id in audience.org_ids:
        reasons.append(Reason.of("access.reason.org_granted"))
        return Explanation(ok, tuple(reasons))
    regions = "all" if audience.all_regions else ", ".join(sorted(audience.regions)) or "-"
    if audience.all_regions or (principal.region is not None and principal.region in audience.regions):
        reasons.append(Reason.of("access.reason.region_ok", region=principal.region or "-", regions=regions))
    else:
        reasons.append(Reason.of("access.reason.region_missing", region=principal.region or "-", regions=regions))
        ok = False
    if audience.min_tier is None:
        reasons.append(Reason.of("access.reason.any_tier"))
    elif audience.min_tier in principal.eligible_tiers:
        reasons.append(Reason.of("access.reason.tier_ok", tier=principal.tier or "-", min_tier=audience.min_tier))
    else:
        reasons.append(Reason.of("access.reason.tier_too_low", tier=principal.tier or "-", min_tier=audience.min_tier))
        ok = False
    return Explanation(ok, tuple(reasons))

"""Who can see a document, and why: the "effective access" panel for marketing.

Audience rules confuse admins in every product of this kind; this service makes them
visible: every organisation with a yes/no and the reasons, plus the same for any
chosen user. All decisions come from ``access.explain`` (which equals ``access.can``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, func, select

from kbportal.models import Document, Organisation, Role, Tier, User
from kbportal.services import access
from kbportal.services.access import Action, GuardedObject, Principal, Reason
from kbportal.services.errors import NotFound


@dataclass(frozen=True)
class OrgAccess:
    org_id: int
    name: str
    region: str
    tier: str
    users: int
    allowed: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class UserAccess:
    email: str
    name: str
    org_name: str
    allowed: bool
    reasons: tuple[Reason, ...]


def guarded_document(session: Session, doc: Document) -> GuardedObject:
    return GuardedObject(status=doc.status, audience=access.load_audience(session, doc.audience_id),
                         expires_at=doc.expires_at)


def _editable_document(session: Session, principal: Principal, doc_id: int) -> tuple[Document, GuardedObject]:
    doc = session.get(Document, doc_id)
    if doc is None:
        raise NotFound()
    obj = guarded_document(session, doc)
    if not access.can(principal, Action.EDIT, obj):
        raise NotFound()
    return doc, obj


def _org_principal(org: Organisation, eligible: frozenset[str]) -> Principal:
    """How the policy sees any partner user of ``org``."""
    return Principal(user_id=0, role=Role.PARTNER_USER, org_id=org.id, region=org.region_code, tier=org.tier_code,
                     eligible_tiers=eligible, active=org.active)


def document_access(session: Session, principal: Principal, doc_id: int) -> list[OrgAccess]:
    """Every organisation, whether its partners may view the document, and why (staff only)."""
    _, obj = _editable_document(session, principal, doc_id)
    ranks = {t.code: t.rank for t in session.exec(select(Tier))}
    user_counts = dict(session.exec(
        select(User.org_id, func.count()).where(User.active == True).group_by(User.org_id)  # noqa: E712
    ).all())
    result = []
    for org in session.exec(select(Organisation).order_by(func.lower(Organisation.name))):
        own = ranks.get(org.tier_code, -1)
        eligible = frozenset(code for code, rank in ranks.items() if rank <= own)
        explanation = access.explain(_org_principal(org, eligible), Action.VIEW, obj)
        result.append(OrgAccess(org_id=org.id, name=org.name, region=org.region_code, tier=org.tier_code,
                                users=user_counts.get(org.id, 0), allowed=explanation.allowed,
                                reasons=explanation.reasons))
    return result


def user_access(session: Session, principal: Principal, doc_id: int, email: str) -> UserAccess:
    """Whether one user may view the document, and why (staff only)."""
    _, obj = _editable_document(session, principal, doc_id)
    user = session.exec(select(User).where(User.email == (email or "").strip().lower())).first()
    if user is None:
        raise NotFound("user.not_found", email=(email or "").strip())
    org = session.get(Organisation, user.org_id) if user.org_id else None
    explanation = access.explain(access.principal_for(session, user), Action.VIEW, obj)
    return UserAccess(email=user.email, name=user.name, org_name=org.name if org else "",
                      allowed=explanation.allowed, reasons=explanation.reasons)

"""Audit events for security-relevant actions (login, user and organisation changes,
later downloads and content edits). Written in the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import insert
from sqlmodel import Session, col, select

from kbportal.models import AuditEvent, User
from kbportal.services.access import Principal, can_view_audit
from kbportal.services.errors import NotFound
from kbportal.timeutil import utcnow


@dataclass(frozen=True)
class Actor:
    """Who acts and from where (IP or "cli")."""

    user_id: int | None = None
    email: str = ""
    ip: str = ""

    @classmethod
    def of(cls, user: User | None, ip: str = "") -> "Actor":
        if user is None:
            return cls(ip=ip)
        return cls(user_id=user.id, email=user.email, ip=ip)


_INSERT = insert(AuditEvent)


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: object = "",
    **detail: object,
) -> None:
    """Append one event to the audit trail, in the caller's transaction (a Core insert:
    downloads record one per request, and the ORM unit of work cost more than the row)."""
    session.connection().execute(_INSERT, {
        "at": utcnow(),
        "actor_id": actor.user_id,
        "actor_email": actor.email,
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id) if target_id is not None else "",
        "ip": actor.ip,
        "detail": json.dumps(detail, default=str, ensure_ascii=False, sort_keys=True),
    })


def recent(session: Session, principal: Principal, limit: int = 200, action: str | None = None) -> list[AuditEvent]:
    """Latest audit events, for admins only."""
    if not can_view_audit(principal):
        raise NotFound()
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.exec(query))

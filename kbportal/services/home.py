"""What the home page shows: the user's previous login and, for admins, portal activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from kbportal.models import AuditEvent, LoginAttempt, Organisation, User
from kbportal.services import access
from kbportal.services.access import Principal
from kbportal.timeutil import utcnow


@dataclass
class Overview:
    previous_login: datetime | None
    stats: dict[str, int] = field(default_factory=dict)
    logins_by_day: list[dict] = field(default_factory=list)  # [{"day": "11-25", "ok": 3, "failed": 1}]


def overview(session: Session, principal: Principal, user: User, days: int = 14) -> Overview:
    logins = session.exec(
        select(LoginAttempt.at).where(LoginAttempt.email == user.email, LoginAttempt.outcome == "ok")
        .order_by(col(LoginAttempt.at).desc()).limit(2)
    ).all()
    result = Overview(previous_login=logins[1] if len(logins) > 1 else None)
    if not access.can_view_audit(principal):
        return result
    now = utcnow()
    week = now - timedelta(days=7)
    result.stats = {
        "organisations": session.exec(select(func.count()).select_from(Organisation).where(Organisation.active == True)).one(),  # noqa: E712
        "users": session.exec(select(func.count()).select_from(User).where(User.active == True)).one(),  # noqa: E712
        "logins_7d": session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "login.ok", AuditEvent.at >= week)).one(),
        "failed_7d": session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "login.failed", AuditEvent.at >= week)).one(),
    }
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    buckets = {(start + timedelta(days=i)).date(): {"ok": 0, "failed": 0} for i in range(days)}
    events = session.exec(
        select(AuditEvent.at, AuditEvent.action).where(
            col(AuditEvent.action).in_(["login.ok", "login.failed"]), AuditEvent.at >= start)
    )
    for at, action in events:
        bucket = buckets.get(at.date())
        if bucket is not None:
            bucket["ok" if action == "login.ok" else "failed"] += 1
    result.logins_by_day = [{"day": day.strftime("%m-%d"), **counts} for day, counts in buckets.items()]
    return result

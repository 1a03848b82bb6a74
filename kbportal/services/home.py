"""What the home page shows, per role, all through the access policy:

* everyone: the previous login, and the newest documents they may see (the library's
  own listing, so its audience rules apply);
* partners: their organisation's latest co-branded PDFs (the co-branding history);
* staff who may open analytics (marketing, admins): documents by state, stale
  translations, downloads per day and the most downloaded documents;
* admins: organisations, users and sign-ins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, func, select

from kbportal.models import AuditEvent, Document, DocumentVariant, LoginAttempt, Organisation, User
from kbportal.services import access, cobranding, repository
from kbportal.services.access import Principal
from kbportal.timeutil import utcnow

RECENT_DOCUMENTS = 6
RECENT_GENERATED = 3
TOP_DOCUMENTS = 5


@dataclass
class TopDocument:
    document_id: int
    title: str
    downloads: int


@dataclass
class Usage:
    """Collateral at a glance, for staff."""

    published: int
    drafts: int
    stale_translations: int
    downloads_7d: int
    downloads_by_day: list[dict] = field(default_factory=list)  # [{"day": "11-25", "downloads": 4}]
    top_documents: list[TopDocument] = field(default_factory=list)  # the last 30 days


@dataclass
class Overview:
    previous_login: datetime | None
    stats: dict[str, int] = field(default_factory=dict)
    logins_by_day: list[dict] = field(default_factory=list)  # [{"day": "11-25", "ok": 3, "failed": 1}]
    recent: list[repository.DocumentCard] = field(default_factory=list)
    generated: list[cobranding.GeneratedItem] = field(default_factory=list)
    usage: Usage | None = None


def _day_buckets(now: datetime, days: int) -> tuple[datetime, list]:
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, [(start + timedelta(days=i)).date() for i in range(days)]


def overview(session: Session, principal: Principal, user: User, days: int = 14,
             reader_language: str = "") -> Overview:
    logins = session.exec(
        select(LoginAttempt.at).where(LoginAttempt.email == user.email, LoginAttempt.outcome == "ok")
        .order_by(col(LoginAttempt.at).desc()).limit(2)
    ).all()
    result = Overview(previous_login=logins[1] if len(logins) > 1 else None)
    if access.can_open_page(principal, "library"):
        result.recent = repository.list_documents(session, principal, repository.DocumentFilters(
            sort="updated", page_size=RECENT_DOCUMENTS, reader_language=reader_language)).items
    if principal.org_id is not None and access.can_open_page(principal, "cobrand"):
        result.generated = cobranding.history(session, principal, limit=RECENT_GENERATED)
    now = utcnow()
    if access.can_open_page(principal, "analytics"):
        result.usage = usage(session, now, days)
    if access.can_view_audit(principal):
        _admin_stats(session, result, now, days)
    return result


def usage(session: Session, now: datetime, days: int = 14) -> Usage:
    """Documents by state, stale translations and downloads (callers checked the rights)."""
    by_status = dict(session.exec(select(Document.status, func.count()).group_by(Document.status)).all())
    downloads = [AuditEvent.action == "document.downloaded"]
    start, day_list = _day_buckets(now, days)
    per_day = {day: 0 for day in day_list}
    day = func.date(AuditEvent.at)  # counted in the database: downloads are the busiest audit rows
    for value, n in session.exec(select(day, func.count()).where(*downloads, AuditEvent.at >= start).group_by(day)):
        key = date.fromisoformat(str(value)[:10])
        if key in per_day:
            per_day[key] += int(n)
    month = now - timedelta(days=30)
    top = session.exec(
        select(AuditEvent.target_id, func.count().label("n")).where(*downloads, AuditEvent.at >= month)
        .group_by(AuditEvent.target_id).order_by(func.count().desc(), AuditEvent.target_id).limit(TOP_DOCUMENTS)
    ).all()
    titles = dict(session.exec(select(Document.id, Document.title).where(
        col(Document.id).in_([int(t) for t, _ in top if str(t).isdigit()]))).all()) if top else {}
    return Usage(
        published=by_status.get("published", 0),
        drafts=by_status.get("draft", 0),
        stale_translations=session.exec(select(func.count()).select_from(DocumentVariant).where(
            DocumentVariant.stale == True)).one(),  # noqa: E712
        downloads_7d=session.exec(select(func.count()).select_from(AuditEvent).where(
            *downloads, AuditEvent.at >= now - timedelta(days=7))).one(),
        downloads_by_day=[{"day": day.strftime("%m-%d"), "downloads": n} for day, n in per_day.items()],
        top_documents=[TopDocument(document_id=int(t), title=titles[int(t)], downloads=n)
                       for t, n in top if str(t).isdigit() and int(t) in titles],
    )


def _admin_stats(session: Session, result: Overview, now: datetime, days: int) -> None:
    week = now - timedelta(days=7)
    result.stats = {
        "organisations": session.exec(select(func.count()).select_from(Organisation).where(Organisation.active == True)).one(),  # noqa: E712
        "users": session.exec(select(func.count()).select_from(User).where(User.active == True)).one(),  # noqa: E712
        "logins_7d": session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "login.ok", AuditEvent.at >= week)).one(),
        "failed_7d": session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "login.failed", AuditEvent.at >= week)).one(),
    }
    start, day_list = _day_buckets(now, days)
    buckets = {day: {"ok": 0, "failed": 0} for day in day_list}
    events = session.exec(
        select(AuditEvent.at, AuditEvent.action).where(
            col(AuditEvent.action).in_(["login.ok", "login.failed"]), AuditEvent.at >= start)
    )
    for at, action in events:
        bucket = buckets.get(at.date())
        if bucket is not None:
            bucket["ok" if action == "login.ok" else "failed"] += 1
    result.logins_by_day = [{"day": day.strftime("%m-%d"), **counts} for day, counts in buckets.items()]

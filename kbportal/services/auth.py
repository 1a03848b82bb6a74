"""Logging in and out, sessions, and the account lock after repeated failures.

A session token is random (``secrets.token_urlsafe``); only its sha256 is stored.
Sessions end after ``session_idle_hours`` without activity, on logout, and when the
user (or their organisation) is disabled.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from functools import lru_cache
from datetime import timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from kbportal.config import get_settings
from kbportal.models import LoginAttempt, LoginLock, LoginSession, Organisation, Tier, User
from kbportal.services import access, audit
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import AuthFailed
from kbportal.services.passwords import hash_password, needs_rehash, verify_password
from kbportal.timeutil import utcnow

# Refresh last_seen_at at most this often, so every click does not write.
_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class LoginOk:
    token: str
    user: User


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _active_lock(session: Session, email: str, now) -> LoginLock | None:
    lock = session.get(LoginLock, email)
    if lock is not None and lock.locked_until > now:
        return lock
    return None


def _recent_failures(session: Session, email: str, now) -> int:
    settings = get_settings()
    since = now - timedelta(minutes=settings.login_window_minutes)
    lock = session.get(LoginLock, email)
    if lock is not None and lock.locked_until > since:
        since = lock.locked_until  # failures before a lock expired do not count again
    last_ok = session.exec(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.email == email, LoginAttempt.outcome == "ok")
    ).one()
    if last_ok is not None and last_ok > since:
        since = last_ok
    return session.exec(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.email == email,
            col(LoginAttempt.outcome).in_(["bad_password", "unknown"]),
            LoginAttempt.at > since,
        )
    ).one()


def login(session: Session, email: str, password: str, ip: str = "", user_agent: str = "") -> LoginOk:
    """Check credentials and open a session, or raise ``AuthFailed`` with a reason.

    The caller commits; failures are recorded too, so commit in every case.
    """
    settings = get_settings()
    email = normalise_email(email)
    now = utcnow()
    user = session.exec(select(User).where(User.email == email)).first() if email else None
    actor = Actor(user_id=user.id if user else None, email=email, ip=ip)

    def fail(outcome: str, code: str, **params) -> AuthFailed:
        session.add(LoginAttempt(email=email, at=now, outcome=outcome, ip=ip))
        audit.record(session, actor, "login.failed", "user", user.id if user else "", reason=outcome)
        return AuthFailed(code, **params)

    lock = _active_lock(session, email, now)
    if lock is not None:
        minutes = max(1, math.ceil((lock.locked_until - now).total_seconds() / 60))
        raise fail("locked", "auth.locked", minutes=minutes)

    if not verify_password(user.password_hash if user else None, password):
        error = fail("unknown" if user is None else "bad_password", "auth.invalid_credentials")
        session.flush()
        if _recent_failures(session, email, now) >= settings.login_max_failures:
            until = now + timedelta(minutes=settings.login_lock_minutes)
            existing = session.get(LoginLock, email)
            if existing is None:
                session.add(LoginLock(email=email, locked_until=until))
            else:
                existing.locked_until = until
            audit.record(session, actor, "login.locked", "user", user.id if user else "", minutes=settings.login_lock_minutes)
            raise AuthFailed("auth.locked", minutes=settings.login_lock_minutes)
        raise error

    assert user is not None
    org = session.get(Organisation, user.org_id) if user.org_id else None
    if not user.active:
        raise fail("disabled", "auth.disabled")
    if org is not None and not org.active:
        raise fail("disabled", "auth.org_disabled")

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_hash=_hash_token(token), user_id=user.id, created_at=now, last_seen_at=now,
                             ip=ip[:64], user_agent=user_agent[:255]))
    session.add(LoginAttempt(email=email, at=now, outcome="ok", ip=ip))
    user.last_login_at = now
    session.add(user)
    audit.record(session, actor, "login.ok", "user", user.id)
    return LoginOk(token=token, user=user)


def authenticate(email: str, password: str, ip: str = "", user_agent: str = "") -> LoginOk:
    """``login`` in its own transaction; failed attempts are committed before raising."""
    from kbportal.db import session_scope

    error: AuthFailed | None = None
    with session_scope() as session:
        try:
            return login(session, email, password, ip, user_agent)
        except AuthFailed as exc:
            error = exc
    raise error


def _session_verdict(now, last_seen_at, revoked: bool, user_active: bool | None, org_id: int | None,
                     org_active: bool | None) -> str:
    """"ok", "idle" (ended now: mark it revoked) or "invalid" for one session row."""
    if revoked:
        return "invalid"
    if now - last_seen_at > timedelta(hours=get_settings().session_idle_hours):
        return "idle"
    if not user_active:
        return "invalid"
    if org_id is not None and not org_active:  # a missing organisation reads as None
        return "invalid"
    return "ok"


def resolve_session(session: Session, token: str | None) -> User | None:
    """The user behind a session token, or None when it is unknown, ended or idle too long."""
    if not token:
        return None
    row = session.get(LoginSession, _hash_token(token))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    org = session.get(Organisation, user.org_id) if user is not None and user.org_id is not None else None
    now = utcnow()
    verdict = _session_verdict(now, row.last_seen_at, row.revoked, user.active if user else None,
                               user.org_id if user else None, org.active if org else None)
    if verdict == "idle":
        row.revoked = True
        session.add(row)
    if verdict != "ok":
        return None
    if now - row.last_seen_at > _TOUCH_INTERVAL:
        row.last_seen_at = now
        session.add(row)
    return user


@dataclass(frozen=True)
class SessionPrincipal:
    """Who is behind a session token: enough to check access and audit, without ORM rows."""

    user_id: int
    email: str
    principal: Principal


@lru_cache(maxsize=1)
def _principal_query():
    """Built once (building it cost more than running it); ``:token_hash`` is the parameter."""
    own, eligible = aliased(Tier), aliased(Tier)
    return (
        select(LoginSession.last_seen_at, LoginSession.revoked, User.id, User.email, User.role, User.active,
               User.org_id, Organisation.id, Organisation.active, Organisation.region_code,
               Organisation.tier_code, eligible.code)
        .join(User, col(User.id) == LoginSession.user_id)
        .outerjoin(Organisation, col(Organisation.id) == User.org_id)
        .outerjoin(own, col(own.code) == Organisation.tier_code)
        .outerjoin(eligible, col(eligible.rank) <= own.rank)
        .where(LoginSession.token_hash == bindparam("token_hash"))
    )


def resolve_principal(session: Session, token: str | None) -> SessionPrincipal | None:
    """``resolve_session`` and ``access.principal_for`` in one query (one row per eligible
    tier): the hot path of every download, where ORM loads were most of the fixed cost."""
    if not token:
        return None
    token_hash = _hash_token(token)
    rows = session.connection().execute(_principal_query(), {"token_hash": token_hash}).all()
    if not rows:
        return None
    (last_seen_at, revoked, user_id, email, role, user_active, user_org_id, org_id, org_active, region,
     tier) = rows[0][:11]
    now = utcnow()
    verdict = _session_verdict(now, last_seen_at, revoked, user_active, user_org_id,
                               org_active if org_id is not None else None)
    if verdict == "idle":
        session.exec(update(LoginSession).where(col(LoginSession.token_hash) == token_hash).values(revoked=True))
    if verdict != "ok":
        return None
    if now - last_seen_at > _TOUCH_INTERVAL:
        session.exec(update(LoginSession).where(col(LoginSession.token_hash) == token_hash).values(last_seen_at=now))
    principal = access.make_principal(
        user_id=user_id, role=role, user_active=user_active, org_id=org_id, org_active=org_active,
        region=region, tier=tier, eligible_tiers=frozenset(r[11] for r in rows if r[11] is not None))
    return SessionPrincipal(user_id=user_id, email=email, principal=principal)


def logout(session: Session, token: str | None, ip: str = "") -> None:
    if not token:
        return
    row = session.get(LoginSession, _hash_token(token))
    if row is None or row.revoked:
        return
    row.revoked = True
    session.add(row)
    user = session.get(User, row.user_id)
    audit.record(session, Actor.of(user, ip), "logout", "user", row.user_id)


def end_sessions_of(session: Session, user_id: int, except_token: str | None = None) -> int:
    """Revoke every open session of a user (on disable or password change), but ``except_token``'s."""
    rows = session.exec(select(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked == False))  # noqa: E712
    keep = _hash_token(except_token) if except_token else None
    count = 0
    for row in rows:
        if row.token_hash == keep:
            continue
        row.revoked = True
        session.add(row)
        count += 1
    return count

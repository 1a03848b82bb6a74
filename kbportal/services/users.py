"""User accounts: create, edit, disable, passwords, preferences.

Admins manage everyone; partner admins manage the users of their own organisation
(which roles they may hand out is in ``access.ASSIGNABLE_ROLES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, func, or_, select

from kbportal.config import get_settings
from kbportal.i18n import LANGUAGES
from kbportal.models import Organisation, Role, User
from kbportal.services import access, audit, auth
from kbportal.services.access import Principal
from kbportal.services.audit import Actor
from kbportal.services.errors import NotFound, ValidationFailed
from kbportal.services.passwords import check_new_password, hash_password
from kbportal.services.reference import time_zones
from kbportal.services.validation import clean_text
from kbportal.timeutil import utcnow


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    role: str
    org_id: int | None
    org_name: str
    ui_language: str
    time_zone: str
    active: bool
    last_login_at: datetime | None


def clean_email(email: str) -> str:
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed("user.invalid_email", field="email", email=(email or "").strip()) from None


def _check_role(value: str) -> Role:
    try:
        return Role((value or "").strip().lower())
    except ValueError:
        raise ValidationFailed("user.unknown_role", field="role", role=value,
                               known=", ".join(r.value for r in Role)) from None


def _check_language(value: str | None) -> str:
    lang = (value or get_settings().default_language).strip()
    if lang not in LANGUAGES:
        raise ValidationFailed("user.unknown_language", field="ui_language", lang=lang,
                               known=", ".join(LANGUAGES))
    return lang


def _check_time_zone(value: str | None) -> str:
    tz = (value or get_settings().default_timezone).strip()
    if tz not in time_zones():
        raise ValidationFailed("user.unknown_time_zone", field="time_zone", tz=tz)
    return tz


def _check_role_org(session: Session, role: Role, org_id: int | None) -> None:
    if role.is_partner:
        if org_id is None:
            raise ValidationFailed("user.partner_needs_org", field="org_id")
        if session.get(Organisation, org_id) is None:
            raise ValidationFailed("user.unknown_org", field="org_id")
    elif org_id is not None:
        raise ValidationFailed("user.staff_has_no_org", field="org_id")


def _manageable(session: Session, principal: Principal, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not access.can_manage_users_of(principal, user.org_id):
        raise NotFound()
    return user


def create_user(session: Session, principal: Principal, actor: Actor, *, email: str, name: str, role: str,
                password: str, org_id: int | None = None, ui_language: str | None = None,
                time_zone: str | None = None, active: bool = True) -> User:
    role_value = _check_role(role)
    if org_id is None:
        org_id = access.default_org_for_new_users(principal)
    if not access.can_manage_users_of(principal, org_id):
        raise NotFound()
    if not access.can_assign_role(principal, role_value):
        raise ValidationFailed("user.role_not_allowed", field="role", role=role_value.value)
    email = clean_email(email)
    name = clean_text(name, "name", min_len=1, max_len=120)
    _check_role_org(session, role_value, org_id)
    check_new_password(password)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise ValidationFailed("user.email_taken", field="email", email=email)
    user = User(email=email, name=name, role=role_value.value, org_id=org_id, password_hash=hash_password(password),
                ui_language=_check_language(ui_language), time_zone=_check_time_zone(time_zone), active=active)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", "user", user.id, email=email, role=role_value.value, org_id=org_id)
    return user


def update_user(session: Session, principal: Principal, actor: Actor, user_id: int, *, name: str | None = None,
                role: str | None = None, org_id: int | None = None, ui_language: str | None = None,
                time_zone: str | None = None, change_org: bool = False) -> User:
    """Edit a user. ``change_org`` makes ``org_id`` (possibly None) apply."""
    user = _manageable(session, principal, user_id)
    changes: dict[str, object] = {}
    if name is not None:
        name = clean_text(name, "name", min_len=1, max_len=120)
        if name != user.name:
            changes["name"] = [user.name, name]
            user.name = name
    new_role = _check_role(role) if role is not None else Role(user.role)
    new_org = org_id if change_org else user.org_id
    if new_role.value != user.role or new_org != user.org_id:
        if not access.can_assign_role(principal, new_role):
            raise ValidationFailed("user.role_not_allowed", field="role", role=new_role.value)
        if change_org and not access.can_manage_users_of(principal, new_org):
            raise NotFound()
        _check_role_org(session, new_role, new_org)
        if user.id == principal.user_id and new_role != Role(user.role):
            raise ValidationFailed("user.cannot_change_own_role", field="role")
        if new_role.value != user.role:
            changes["role"] = [user.role, new_role.value]
        if new_org != user.org_id:
            changes["org_id"] = [user.org_id, new_org]
        user.role, user.org_id = new_role.value, new_org
    if ui_language is not None and (lang := _check_language(ui_language)) != user.ui_language:
        changes["ui_language"] = [user.ui_language, lang]
        user.ui_language = lang
    if time_zone is not None and (tz := _check_time_zone(time_zone)) != user.time_zone:
        changes["time_zone"] = [user.time_zone, tz]
        user.time_zone = tz
    if changes:
        user.updated_at = utcnow()
        session.add(user)
        audit.record(session, actor, "user.updated", "user", user.id, **changes)
    return user


def set_active(session: Session, principal: Principal, actor: Actor, user_id: int, active: bool) -> User:
    """Enable or disable a user; disabling ends every session at once."""
    user = _manageable(session, principal, user_id)
    if not active and user.id == principal.user_id:
        raise ValidationFailed("user.cannot_disable_self", field="active")
    if user.active != active:
        user.active = active
        user.updated_at = utcnow()
        session.add(user)
        ended = auth.end_sessions_of(session, user.id) if not active else 0
        audit.record(session, actor, "user.enabled" if active else "user.disabled", "user", user.id,
                     sessions_ended=ended)
    return user


def set_password(session: Session, principal: Principal, actor: Actor, user_id: int, password: str) -> User:
    """Set a new password (by a manager, or by the user themselves); other sessions end."""
    user = session.get(User, user_id)
    if user is None or not (user.id == principal.user_id or access.can_manage_users_of(principal, user.org_id)):
        raise NotFound()
    check_new_password(password)
    user.password_hash = hash_password(password)
    user.updated_at = utcnow()
    session.add(user)
    auth.end_sessions_of(session, user.id)
    audit.record(session, actor, "user.password_changed", "user", user.id)
    return user


def set_own_preferences(session: Session, user: User, *, ui_language: str | None = None,
                        time_zone: str | None = None) -> User:
    """A user's own UI language and time zone (no audit: not security relevant)."""
    if ui_language is not None:
        user.ui_language = _check_language(ui_language)
    if time_zone is not None:
        user.time_zone = _check_time_zone(time_zone)
    session.add(user)
    return user


def get_user(session: Session, principal: Principal, user_id: int) -> User:
    user = session.exec(select(User).where(User.id == user_id, access.users_sql_filter(principal))).first()
    if user is None:
        raise NotFound()
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == auth.normalise_email(email))).first()


def list_users(session: Session, principal: Principal, query: str = "", org_id: int | None = None) -> list[UserRow]:
    stmt = (
        select(User, Organisation.name)
        .outerjoin(Organisation, col(User.org_id) == Organisation.id)
        .where(access.users_sql_filter(principal))
        .order_by(func.lower(User.email))
    )
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    if query:
        q = f"%{query.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.email).like(q), func.lower(User.name).like(q)))
    return [
        UserRow(id=u.id, email=u.email, name=u.name, role=u.role, org_id=u.org_id, org_name=org_name or "",
                ui_language=u.ui_language, time_zone=u.time_zone, active=u.active, last_login_at=u.last_login_at)
        for u, org_name in session.exec(stmt)
    ]


def change_own_password(session: Session, user: User, actor: Actor, current: str, new: str,
                        keep_token: str | None = None) -> User:
    """A user changes their own password: the current one must be given; every session but
    ``keep_token``'s (the one making the change) ends."""
    from kbportal.services.passwords import verify_password

    if not verify_password(user.password_hash, current):
        raise ValidationFailed("profile.wrong_current_password", field="current_password")
    check_new_password(new)
    user.password_hash = hash_password(new)
    user.updated_at = utcnow()
    session.add(user)
    auth.end_sessions_of(session, user.id, except_token=keep_token)
    audit.record(session, actor, "user.password_changed", "user", user.id, by="self")
    return user

"""Accounts, login sessions and login attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class Role(StrEnum):
    ADMIN = "admin"
    MARKETING = "marketing"
    PARTNER_ADMIN = "partner_admin"
    PARTNER_USER = "partner_user"

    @property
    def is_partner(self) -> bool:
        return self in (Role.PARTNER_ADMIN, Role.PARTNER_USER)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=120)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20)
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    ui_language: str = Field(default="en", max_length=10)
    time_zone: str = Field(default="UTC", max_length=64)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = Field(default=None)
    # When the user last opened "what's new" (the top bar's bell): newer publications are unread.
    feed_seen_at: datetime | None = Field(default=None)


class LoginSession(SQLModel, table=True):
    """A logged-in browser or client; the raw token is never stored, only its sha256."""

    __tablename__ = "login_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)
    revoked: bool = Field(default=False)


class LoginAttempt(SQLModel, table=True):
    """One login attempt per row; failures drive the account lock."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    outcome: str = Field(max_length=20)  # ok | bad_password | unknown | locked | disabled
    ip: str = Field(default="", max_length=64)


class LoginLock(SQLModel, table=True):
    """An account (by email, known or not) locked after too many failures."""

    __tablename__ = "login_lock"

    email: str = Field(primary_key=True, max_length=254)
    locked_until: datetime

"""Audit trail of security-relevant actions: who, what, when, from where."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_email: str = Field(default="", max_length=254)
    action: str = Field(max_length=60, index=True)
    target_type: str = Field(default="", max_length=40)
    target_id: str = Field(default="", max_length=64)
    ip: str = Field(default="", max_length=64)
    detail: str = Field(default="{}")  # JSON

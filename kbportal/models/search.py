"""Search bookkeeping: the outbox that feeds the index, and the searches people made.

The search index is derived data. Every change to searchable content adds an outbox
row in the same transaction as the change; the indexer applies the rows and deletes
them. So the index can lag, but never miss a change, and can always be rebuilt.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class SearchOutbox(SQLModel, table=True):
    __tablename__ = "search_outbox"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # document | article | post
    object_id: int
    created_at: datetime = Field(default_factory=utcnow, index=True)


class SearchLog(SQLModel, table=True):
    """One search someone ran (for the analytics issue: zero-result searches above all)."""

    __tablename__ = "search_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, index=True)
    org_id: int | None = Field(default=None)
    query: str = Field(max_length=500)
    language: str = Field(default="en", max_length=10)
    filters: str = Field(default="{}")  # JSON
    results: int = Field(default=0, index=True)


class SearchIndexState(SQLModel, table=True):
    """One row (id 1): what admins see about the indexer: last run, last error, last rebuild."""

    __tablename__ = "search_index_state"

    id: int | None = Field(default=None, primary_key=True)
    last_applied_at: datetime | None = Field(default=None)
    last_error: str = Field(default="", max_length=2000)
    last_error_at: datetime | None = Field(default=None)
    rebuilt_at: datetime | None = Field(default=None)
    rebuild_requested_at: datetime | None = Field(default=None)

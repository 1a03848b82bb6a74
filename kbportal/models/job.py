"""Background work people wait for: its state, progress and outcome, kept in the DB.

The queue (huey) only carries job ids; this row is the truth the UI shows, so a
lost queue message or a dead worker never loses the job (a sweep re-queues it).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from kbportal.timeutil import utcnow


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(SQLModel, table=True):
    __tablename__ = "job"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=60, index=True)
    state: str = Field(default=JobState.QUEUED.value, max_length=20, index=True)
    # What the job works on, e.g. ("document_version", 12): lets pages find their jobs.
    subject_type: str = Field(default="", max_length=40)
    subject_id: int | None = Field(default=None, index=True)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # JSON
    progress: int = Field(default=0)  # 0..100
    # Outcome: a catalogue key + JSON params (an error sentence on failure), and a JSON result.
    message_code: str = Field(default="", max_length=120)
    message_params: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    result: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    retryable: bool = Field(default=False)  # failed for a passing reason (an outage): may be run again
    attempts: int = Field(default=0)
    created_by: int | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = Field(default=None)
    finished_at: datetime | None = Field(default=None)

"""Following a background job from a page: read its status every fraction of a second."""

from __future__ import annotations

import asyncio

from kbportal.db import session_scope
from kbportal.services import jobs

POLL_SECONDS = 0.4
GIVE_UP_SECONDS = 600


def read_status(job_id: int, user_id: int) -> jobs.JobStatus:
    """The job's status for its owner (NotFound for anyone else, like every object)."""
    with session_scope() as session:
        return jobs.status(session, job_id, user_id or None)


async def next_status(job_id: int, user_id: int) -> jobs.JobStatus:
    await asyncio.sleep(POLL_SECONDS)
    return await asyncio.to_thread(read_status, job_id, user_id)

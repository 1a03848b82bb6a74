"""Receiving uploads: the size limit, on the server and as the browser reports it."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

import pytest

from kbportal.config import reset_settings
from kbportal.services import uploads
from kbportal.services.errors import ValidationFailed


def run(coro):
    """Run a coroutine to the end on its own thread (the browser tests' Playwright keeps an
    event loop running on the main thread of the test session)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Body:
    """An async readable over bytes, like the web framework's upload object."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    async def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


@pytest.fixture
def one_mb_limit(db, monkeypatch):
    monkeypatch.setenv("KBPORTAL_MAX_UPLOAD_MB", "1")
    reset_settings()
    yield
    reset_settings()


def test_an_upload_within_the_limit_lands_in_a_private_temp_file(one_mb_limit):
    path = run(uploads.receive(Body(b"x" * 1000)))
    try:
        assert path.read_bytes() == b"x" * 1000
        assert path.stat().st_mode & 0o077 == 0
    finally:
        path.unlink()


def test_an_upload_over_the_limit_is_refused_and_nothing_is_left_behind(one_mb_limit):
    with pytest.raises(ValidationFailed) as refused:
        run(uploads.receive(Body(b"x" * (1024 * 1024 + 1))))
    assert refused.value.code == "upload.too_large"
    assert list(uploads.upload_dir().iterdir()) == []


def test_a_browser_refusal_for_size_reads_like_the_servers(one_mb_limit):
    refusal = uploads.browser_refusal([[{"code": "file-too-large", "message": "File is larger than 1048576 bytes"}]])
    assert (refusal.code, refusal.field) == ("upload.too_large", "file")
    assert refusal.message("en") == "The file is too large: the limit is 1 MB."


def test_any_other_browser_refusal_asks_for_one_file(one_mb_limit):
    assert uploads.browser_refusal([[{"code": "too-many-files"}]]).code == "upload.choose_file"
    assert uploads.browser_refusal([]).code == "upload.choose_file"

"""Receiving an upload: stream it to a private temp file, enforcing the size limit.

The web UI and the CLI both hand the repository a file on disk (``repository.Upload``);
nothing is held whole in memory and nothing lands in a publicly served folder.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from kbportal.config import get_settings
from kbportal.services.errors import ValidationFailed

CHUNK = 1024 * 1024


class AsyncReadable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


def upload_dir() -> Path:
    path = get_settings().resolved_data_dir / "tmp" / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_upload_bytes() -> int:
    return get_settings().max_upload_mb * 1024 * 1024


async def receive(source: AsyncReadable) -> Path:
    """Copy ``source`` to a private temp file; refuse (and delete it) past the size limit."""
    limit = max_upload_bytes()
    fd, name = tempfile.mkstemp(dir=upload_dir(), prefix="up-")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed("upload.too_large", field="file", max_mb=get_settings().max_upload_mb)
                out.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


@contextmanager
def cleanup(*paths: Path):
    """Delete temp upload files when the request is done, whatever happened."""
    try:
        yield
    finally:
        for path in paths:
            Path(path).unlink(missing_ok=True)


def browser_refusal(reasons: list[list[dict]]) -> ValidationFailed:
    """Why the browser refused a dropped file before sending it (react-dropzone's errors per
    rejected file: ``[[{"code": "file-too-large", "message": ...}]]``), as the error the
    server would have given, so the uploader reads the same sentence either way."""
    codes = {error.get("code") for errors in reasons or [] for error in errors or [] if isinstance(error, dict)}
    if "file-too-large" in codes:
        return ValidationFailed("upload.too_large", field="file", max_mb=get_settings().max_upload_mb)
    return ValidationFailed("upload.choose_file", field="file")


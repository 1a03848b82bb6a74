"""The blob store interface: versioned objects under readable keys.

Two implementations: ``S3BlobStore`` (any S3-compatible server through the ``minio``
client; the bucket has versioning enabled) and ``FilesystemBlobStore`` (smallest
installs). Both keep every version of a key; a version is never overwritten.
A contract test suite runs against both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kbportal.services.errors import KbError


class StorageError(KbError):
    """The store cannot be reached or refused the request; ``code`` says which."""

    code = "storage.unavailable"


class BlobNotFound(StorageError):
    code = "storage.not_found"


@dataclass(frozen=True)
class StoredBlob:
    """One version of one key."""

    key: str
    version_id: str
    size: int
    etag: str = ""
    content_type: str = ""
    is_latest: bool = True


class BlobStore(Protocol):
    """What the repository needs from storage. Ranges are inclusive byte offsets."""

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> StoredBlob:
        """Store the file's bytes as a new version of ``key`` (streamed; multipart when large)."""
        ...

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredBlob: ...

    def stat(self, key: str, version_id: str | None = None) -> StoredBlob:
        """Metadata of one version (latest when None); raises BlobNotFound."""
        ...

    def iter_bytes(self, key: str, version_id: str | None = None, start: int = 0, end: int | None = None,
                   chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream a version's bytes from ``start`` to ``end`` (inclusive; None = to the end)."""
        ...

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes: ...

    def list_versions(self, prefix: str = "") -> Iterator[StoredBlob]:
        """Every version of every key under ``prefix`` (for gc and verify)."""
        ...

    def delete_version(self, key: str, version_id: str) -> None:
        """Permanently remove one version (gc of orphans only)."""
        ...

    def check(self) -> None:
        """Raise StorageError with an actionable message when the store is unusable."""
        ...

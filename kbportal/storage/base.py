"""The blob store interface: versioned objects under readable keys.

Two implementations: ``S3BlobStore`` (any S3-compatible server through the ``minio``
client; the bucket has versioning enabled) and ``FilesystemBlobStore`` (smallest
installs). Both keep every version of a key; a version is never overwritten.
A contract test suite runs against both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from kbportal.services.errors import KbError


class StorageError(KbError):
    """The store cannot be reached or refused the request; ``code`` says which."""

    code = "storage.unavailable"
    transient = True


class BlobNotFound(StorageError):
    """No such key, or no such version of it (params: ``key``, ``version``)."""

    code = "storage.not_found"
    transient = False


class StorageUnavailable(StorageError):
    """The store does not answer (connection refused, timeout, reset); params: ``endpoint``."""

    code = "storage.unavailable"


class StorageAuthFailed(StorageError):
    """The store rejected the access key or secret (params: ``endpoint``)."""

    code = "storage.auth_failed"


class InvalidBlobKey(StorageError):
    """A key or version id the store refuses ("../x", empty, control characters); params: ``key``."""

    code = "storage.bad_key"
    transient = False


class StorageWriteFailed(StorageError):
    """Bytes could not be written (disk full, permissions, the store refused); params: ``detail``."""

    code = "storage.write_failed"


class BucketMissing(StorageError):
    """The bucket does not exist and could not be created (params: ``bucket``, ``endpoint``)."""

    code = "storage.bucket_missing"


class VersioningOff(StorageError):
    """The bucket does not keep versions and it could not be switched on (params: ``bucket``)."""

    code = "storage.versioning_off"


class StorageRequestFailed(StorageError):
    """Any other refusal by the store (params: ``endpoint``, ``detail``)."""

    code = "storage.request_failed"


@dataclass(frozen=True)
class StoredBlob:
    """One version of one key."""

    key: str
    version_id: str
    size: int
    etag: str = ""
    content_type: str = ""
    is_latest: bool = True
    #: When this version was written (timezone-aware UTC); None if the store cannot say.
    last_modified: datetime | None = None


class BlobStore(Protocol):
    """What the repository needs from storage. Ranges are inclusive byte offsets.

    Contract (``tests/test_storage_contract.py`` runs it against every store):

    * every put creates a new version with its own ``version_id``; older versions stay
      readable by id until ``delete_version`` removes exactly that one;
    * ``stat``/``iter_bytes``/``get_bytes`` raise ``BlobNotFound`` for a missing key or
      version; ``iter_bytes`` raises it when called, before the first chunk is read;
    * ``iter_bytes(start, end)``: ``end`` past the last byte is clamped, a ``start`` at or
      past the size yields nothing, a negative ``start`` is a ``ValueError``; the iterator
      has ``close()`` (call it, or exhaust it, to free the file or connection early);
    * ``list_versions`` order is unspecified; ``delete_version`` of a missing version is a
      no-op (gc may race with itself);
    * failures are ``StorageError`` subclasses whose ``code`` is a catalogue key.
    """

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> StoredBlob:
        """Store the file's bytes as a new version of ``key`` (streamed; multipart when large)."""
        ...

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream",
                  sha256: str | None = None) -> StoredBlob:
        """Store ``data`` as a new version of ``key``. ``sha256`` (hex) is the caller's hash
        of exactly these bytes, when it has one: the S3 store signs the request with it
        instead of hashing the bytes again (servers that check payload hashes, e.g. AWS S3
        and MinIO, refuse a mismatch; SeaweedFS does not check), the filesystem store
        checks it. Pass only a hash computed from ``data`` itself."""
        ...

    def stat(self, key: str, version_id: str | None = None) -> StoredBlob:
        """Metadata of one version (latest when None); raises BlobNotFound."""
        ...

    def iter_bytes(self, key: str, version_id: str | None = None, start: int = 0, end: int | None = None,
                   chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Stream a version's bytes from ``start`` to ``end`` (inclusive; None = to the end)."""
        ...

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes: ...

    def local_path(self, key: str, version_id: str, size: int | None = None) -> Path | None:
        """A file on this machine holding exactly this version, or None (then stream it).
        Filesystem store: its own file. S3 store: the node's read cache, when it has it.
        The path is for reading only, and may vanish later (cache eviction): open it soon."""
        ...

    def keep_local(self, key: str, version_id: str, path: Path) -> None:
        """Hand over ``path`` (exactly this version's bytes, e.g. the file check's copy)
        for ``local_path`` to serve; the store takes the file or leaves it. Never raises."""
        ...

    def caching_stream(self, key: str, version_id: str, size: int, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """``chunks`` (a whole-version ``iter_bytes``) unchanged, kept locally as they pass
        when the store has a read cache (else ``chunks`` itself)."""
        ...

    def download_url(self, key: str, version_id: str, *, filename_header: str, content_type: str,
                     expires=None) -> str | None:
        """A signed link browsers may fetch the version from directly, or None (serve it)."""
        ...

    def list_versions(self, prefix: str = "") -> Iterator[StoredBlob]:
        """Every version of every key under ``prefix`` (for gc and verify)."""
        ...

    def delete_version(self, key: str, version_id: str) -> None:
        """Permanently remove one version (gc of orphans only)."""
        ...

    def check(self) -> None:
        """Raise StorageError with an actionable message when the store is unusable."""
        ...


class EmptyStream:
    """An exhausted byte iterator with ``close()``: what ``iter_bytes`` returns for an empty range."""

    def __iter__(self) -> EmptyStream:
        return self

    def __next__(self) -> bytes:
        raise StopIteration

    def close(self) -> None:
        pass


MAX_KEY_BYTES = 1024  # S3's limit
MAX_SEGMENT_BYTES = 255  # a file name on common filesystems


def validate_key(key: str) -> str:
    """Return ``key`` if every store can hold it, else raise ``InvalidBlobKey``.

    A key is a relative, "/"-separated path: no empty, "." or ".." segment (so no leading,
    trailing or doubled "/"), no control characters, at most 1024 UTF-8 bytes and 255 per
    segment. Any other character is fine ("documents/7/Präsentation Q3 日本.pdf"). Both
    stores apply the same rule, so a key never works on one and fails on the other.
    """
    if not isinstance(key, str) or not key:
        raise InvalidBlobKey(key=repr(key))
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates
        raise InvalidBlobKey(key=repr(key)) from None
    if size > MAX_KEY_BYTES or any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise InvalidBlobKey(key=repr(key))
    for segment in key.split("/"):
        if segment in ("", ".", "..") or len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidBlobKey(key=key)
    return key

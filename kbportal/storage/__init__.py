"""Blob storage: ``get_blob_store()`` returns the store the settings select.

* ``KBPORTAL_STORAGE=filesystem``: ``FilesystemBlobStore`` under ``<data_dir>/blobs``.
* ``KBPORTAL_STORAGE=s3`` with ``KBPORTAL_S3_ENDPOINT``: ``S3BlobStore`` on that server.
* ``KBPORTAL_STORAGE=s3`` without an endpoint (the default): the embedded SeaweedFS server
  of ``<data_dir>/seaweedfs`` (reused when running, else started; see ``seaweed.py``).

The store is cached per settings; ``reset_blob_store()`` forgets it (tests, settings change).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from kbportal.config import get_settings
from kbportal.storage.base import (BlobNotFound, BlobStore, BucketMissing, InvalidBlobKey, StorageAuthFailed,
                                   StorageError, StorageRequestFailed, StorageUnavailable, StorageWriteFailed,
                                   StoredBlob, VersioningOff, validate_key)

__all__ = ["BlobNotFound", "BlobStore", "BucketMissing", "InvalidBlobKey", "StorageAuthFailed", "StorageError",
           "StorageRequestFailed", "StorageUnavailable", "StorageWriteFailed", "StoredBlob", "VersioningOff",
           "embedded_server_started_here", "get_blob_store", "reset_blob_store", "validate_key"]

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _store_for(kind: str, data_dir: str, endpoint: str, access_key: str, secret_key: str, bucket: str,
               secure: bool, region: str, public_endpoint: str = "", cache_mb: int = 0) -> BlobStore:
    if kind == "filesystem":
        from kbportal.storage.filesystem import FilesystemBlobStore

        return FilesystemBlobStore(Path(data_dir) / "blobs")
    from kbportal.storage.cache import BlobCache
    from kbportal.storage.s3 import S3BlobStore

    cache = BlobCache(Path(data_dir) / "blob-cache", cache_mb * 1024 * 1024) if cache_mb > 0 else None
    if endpoint:
        return S3BlobStore(endpoint, access_key, secret_key, bucket, secure=secure, region=region,
                           public_endpoint=public_endpoint, cache=cache)
    from kbportal.storage import seaweed

    conn = seaweed.ensure_running(data_dir)
    return S3BlobStore(conn.endpoint, conn.access_key, conn.secret_key, bucket, secure=False, region=region,
                       public_endpoint=public_endpoint, cache=cache)


def get_blob_store() -> BlobStore:
    s = get_settings()
    with _lock:  # one store (and at most one embedded-server start) per settings
        return _store_for(s.storage, str(s.resolved_data_dir), s.s3_endpoint, s.s3_access_key, s.s3_secret_key,
                          s.s3_bucket, s.s3_secure, s.s3_region, s.s3_public_endpoint, s.blob_cache_mb)


def reset_blob_store() -> None:
    with _lock:
        _store_for.cache_clear()


def uses_embedded_server() -> bool:
    """True when the settings select the embedded SeaweedFS server."""
    s = get_settings()
    return s.storage == "s3" and not s.s3_endpoint


def embedded_server_started_here() -> bool:
    """True when this process started the embedded server of the current data dir (so it
    should stop it when it exits: ``seaweed.stop(data_dir)``)."""
    if not uses_embedded_server():
        return False
    from kbportal.storage import seaweed

    return seaweed.started_here(get_settings().resolved_data_dir)

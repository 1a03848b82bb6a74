"""Blob storage: ``get_blob_store()`` returns the store the settings select."""

from __future__ import annotations

from functools import lru_cache

from kbportal.config import get_settings
from kbportal.storage.base import BlobNotFound, BlobStore, StorageError, StoredBlob

__all__ = ["BlobNotFound", "BlobStore", "StorageError", "StoredBlob", "get_blob_store", "reset_blob_store"]


@lru_cache(maxsize=1)
def _store_for(kind: str, data_dir: str, endpoint: str) -> BlobStore:
    if kind == "filesystem":
        from pathlib import Path

        from kbportal.storage.filesystem import FilesystemBlobStore

        return FilesystemBlobStore(Path(data_dir) / "blobs")
    raise NotImplementedError("S3 storage is being wired in (kbportal/storage/s3.py)")


def get_blob_store() -> BlobStore:
    settings = get_settings()
    return _store_for(settings.storage, str(settings.resolved_data_dir), settings.s3_endpoint)


def reset_blob_store() -> None:
    _store_for.cache_clear()

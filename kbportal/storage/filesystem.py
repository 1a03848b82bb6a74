"""Blob store on the local filesystem, for the smallest installs.

Layout: ``<root>/<key>/<version_id>`` holds the bytes of one version and
``<root>/<key>/<version_id>.json`` its metadata; versions are ordered by the
``created_ns`` in that metadata. Files are written to a temp name and renamed,
so a crash never leaves a half-written version visible.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from kbportal.storage.base import BlobNotFound, StorageError, StoredBlob

_META = ".json"


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ----------------------------------------------------------------- helpers

    def _key_dir(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise StorageError("storage.bad_key", key=key)
        return self.root.joinpath(*parts)

    def _versions(self, key: str) -> list[tuple[int, str, dict]]:
        folder = self._key_dir(key)
        if not folder.is_dir():
            return []
        found = []
        for meta_path in folder.glob(f"*{_META}"):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError):
                continue
            found.append((meta["created_ns"], meta_path.name[: -len(_META)], meta))
        return sorted(found)

    def _blob(self, key: str, version_id: str, meta: dict, latest: bool) -> StoredBlob:
        return StoredBlob(key=key, version_id=version_id, size=meta["size"], etag=meta["etag"],
                          content_type=meta.get("content_type", ""), is_latest=latest)

    # ----------------------------------------------------------------- interface

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> StoredBlob:
        folder = self._key_dir(key)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            version_id = uuid.uuid4().hex
            digest = hashlib.md5(usedforsecurity=False)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
            size = 0
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                while chunk := src.read(1024 * 1024):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            os.replace(tmp, folder / version_id)
            meta = {"size": size, "etag": digest.hexdigest(), "content_type": content_type,
                    "created_ns": time.time_ns()}
            (folder / f"{version_id}{_META}").write_text(json.dumps(meta))
        except OSError as exc:
            raise StorageError("storage.write_failed", detail=str(exc)) from exc
        return self._blob(key, version_id, meta, True)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredBlob:
        with tempfile.NamedTemporaryFile() as tmp:
            tmp.write(data)
            tmp.flush()
            return self.put_file(key, Path(tmp.name), content_type)

    def stat(self, key: str, version_id: str | None = None) -> StoredBlob:
        versions = self._versions(key)
        if not versions:
            raise BlobNotFound(key=key)
        latest_id = versions[-1][1]
        for _, vid, meta in versions:
            if version_id is None and vid == latest_id or vid == version_id:
                return self._blob(key, vid, meta, vid == latest_id)
        raise BlobNotFound(key=key)

    def iter_bytes(self, key: str, version_id: str | None = None, start: int = 0, end: int | None = None,
                   chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        blob = self.stat(key, version_id)
        last = blob.size - 1 if end is None else min(end, blob.size - 1)
        remaining = last - start + 1
        with open(self._key_dir(key) / blob.version_id, "rb") as src:
            src.seek(start)
            while remaining > 0:
                chunk = src.read(min(chunk_size, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        return b"".join(self.iter_bytes(key, version_id))

    def list_versions(self, prefix: str = "") -> Iterator[StoredBlob]:
        if not self.root.is_dir():
            return
        for meta_path in sorted(self.root.rglob(f"*{_META}")):
            key = meta_path.parent.relative_to(self.root).as_posix()
            if not key.startswith(prefix):
                continue
            versions = self._versions(key)
            latest = versions[-1][1] if versions else ""
            vid = meta_path.name[: -len(_META)]
            meta = next((m for _, v, m in versions if v == vid), None)
            if meta is not None:
                yield self._blob(key, vid, meta, vid == latest)

    def delete_version(self, key: str, version_id: str) -> None:
        folder = self._key_dir(key)
        for path in (folder / version_id, folder / f"{version_id}{_META}"):
            path.unlink(missing_ok=True)
        if folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".probe"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise StorageError("storage.write_failed", detail=str(exc)) from exc

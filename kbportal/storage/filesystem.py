"""Blob store on the local filesystem, for the smallest installs.

Layout: ``<root>/<key>/<version_id>`` holds the bytes of one version and
``<root>/<key>/<version_id>.json`` its metadata; versions are ordered by the
``created_ns`` in that metadata (strictly increasing per key, even if the clock
steps back). Bytes and metadata are written to temp names and renamed, metadata
last, so a crash never leaves a half-written version visible (at worst an
unreferenced temp file). Keys follow ``base.validate_key``; version ids are the
32 hex digits this store generates, anything else is simply not found.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from kbportal.storage.base import (BlobNotFound, EmptyStream, StorageRequestFailed, StorageWriteFailed, StoredBlob,
                                   validate_key)

_META = ".json"
_VERSION_ID = re.compile(r"[0-9a-f]{32}")


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FilesystemBlobStore({str(self.root)!r})"

    # ----------------------------------------------------------------- helpers

    def _key_dir(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def _versions(self, key: str) -> list[tuple[int, str, dict]]:
        """(created_ns, version_id, meta) of every version of ``key``, oldest first."""
        return self._versions_in(self._key_dir(key))

    @staticmethod
    def _versions_in(folder: Path) -> list[tuple[int, str, dict]]:
        found = []
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        for entry in entries:
            name = entry.name
            if not name.endswith(_META) or not _VERSION_ID.fullmatch(name[: -len(_META)]):
                continue
            try:
                meta = json.loads(Path(entry.path).read_text())
                found.append((int(meta["created_ns"]), name[: -len(_META)], meta))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return sorted(found)

    def _blob(self, key: str, version_id: str, meta: dict, latest: bool) -> StoredBlob:
        return StoredBlob(key=key, version_id=version_id, size=meta["size"], etag=meta["etag"],
                          content_type=meta.get("content_type", ""), is_latest=latest,
                          last_modified=datetime.fromtimestamp(meta["created_ns"] / 1e9, tz=timezone.utc))

    # ----------------------------------------------------------------- interface

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> StoredBlob:
        folder = self._key_dir(key)
        for attempt in range(3):  # a concurrent delete_version may remove the empty folder under us
            try:
                return self._put(key, folder, Path(path), content_type)
            except FileNotFoundError as exc:
                if attempt == 2 or not Path(path).exists():
                    raise StorageWriteFailed(detail=f"{exc.filename or path}: {exc.strerror}") from exc
            except OSError as exc:
                raise StorageWriteFailed(detail=f"{exc.filename or folder}: {exc.strerror or exc}") from exc
        raise AssertionError("unreachable")

    def _put(self, key: str, folder: Path, path: Path, content_type: str) -> StoredBlob:
        folder.mkdir(parents=True, exist_ok=True)
        version_id = uuid.uuid4().hex
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                while chunk := src.read(1024 * 1024):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            os.replace(tmp, folder / version_id)
            previous = self._versions_in(folder)
            created_ns = max(time.time_ns(), previous[-1][0] + 1 if previous else 0)
            meta = {"size": size, "etag": digest.hexdigest(), "content_type": content_type,
                    "created_ns": created_ns}
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".meta-")
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps(meta))
            os.replace(tmp, folder / f"{version_id}{_META}")  # the version exists from here on
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            with contextlib.suppress(OSError):
                if not (folder / f"{version_id}{_META}").exists():
                    os.unlink(folder / version_id)
            raise
        return self._blob(key, version_id, meta, True)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream",
                  sha256: str | None = None) -> StoredBlob:
        validate_key(key)
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256.lower():
            raise StorageWriteFailed(key=key, detail="sha256 mismatch")
        with tempfile.NamedTemporaryFile() as tmp:
            tmp.write(data)
            tmp.flush()
            return self.put_file(key, Path(tmp.name), content_type)

    def stat(self, key: str, version_id: str | None = None) -> StoredBlob:
        versions = self._versions(key)
        if not versions:
            raise BlobNotFound(key=key, version=version_id or "")
        latest_id = versions[-1][1]
        wanted = latest_id if version_id is None else version_id
        for _, vid, meta in versions:
            if vid == wanted:
                return self._blob(key, vid, meta, vid == latest_id)
        raise BlobNotFound(key=key, version=version_id or "")

    def iter_bytes(self, key: str, version_id: str | None = None, start: int = 0, end: int | None = None,
                   chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        if start < 0:
            raise ValueError("start must be >= 0")
        blob = self.stat(key, version_id)
        last = blob.size - 1 if end is None else min(end, blob.size - 1)
        if last < start:
            return EmptyStream()
        try:
            src = open(self._key_dir(key) / blob.version_id, "rb")  # noqa: SIM115 - closed by _FileStream
        except FileNotFoundError as exc:  # deleted since stat
            raise BlobNotFound(key=key, version=blob.version_id) from exc
        except OSError as exc:
            raise StorageRequestFailed(endpoint=str(self.root), detail=str(exc)) from exc
        src.seek(start)
        return _FileStream(src, last - start + 1, chunk_size)

    def local_path(self, key: str, version_id: str, size: int | None = None) -> Path | None:
        if not isinstance(version_id, str) or not _VERSION_ID.fullmatch(version_id):
            return None
        path = self._key_dir(key) / version_id
        if not (self._key_dir(key) / f"{version_id}{_META}").exists() or not path.is_file():
            return None  # deleted (the metadata goes first)
        return path

    def keep_local(self, key: str, version_id: str, path: Path) -> None:
        """The version is on local disk already."""

    def caching_stream(self, key: str, version_id: str, size: int, chunks: Iterator[bytes]) -> Iterator[bytes]:
        return chunks

    def download_url(self, key: str, version_id: str, *, filename_header: str, content_type: str,
                     expires=None) -> str | None:
        """Files on local disk have no link of their own: kbportal serves them."""
        return None

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        with contextlib.closing(self.iter_bytes(key, version_id)) as chunks:
            return b"".join(chunks)

    def list_versions(self, prefix: str = "") -> Iterator[StoredBlob]:
        start = self.root
        parent_segments = prefix.split("/")[:-1]  # the folders the prefix names in full
        if parent_segments and all(s not in ("", ".", "..") for s in parent_segments):
            start = self.root.joinpath(*parent_segments)
        if not start.is_dir():
            return
        for folder, dirs, _files in os.walk(start):
            dirs.sort()
            if folder == str(self.root):
                continue
            key = Path(folder).relative_to(self.root).as_posix()
            if not key.startswith(prefix):
                continue
            versions = self._versions_in(Path(folder))
            for _, vid, meta in versions:
                yield self._blob(key, vid, meta, vid == versions[-1][1])

    def delete_version(self, key: str, version_id: str) -> None:
        folder = self._key_dir(key)
        if not isinstance(version_id, str) or not _VERSION_ID.fullmatch(version_id):
            return  # not an id of ours: nothing to delete (and never a path to follow)
        try:
            (folder / f"{version_id}{_META}").unlink(missing_ok=True)  # invisible from here on
            (folder / version_id).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageWriteFailed(detail=f"{exc.filename}: {exc.strerror}") from exc
        # Drop folders left empty, up to the root (rmdir refuses a folder that got a new file).
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=".probe-")
            os.write(fd, b"ok")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise StorageWriteFailed(detail=f"{self.root}: {exc.strerror or exc}") from exc


class _FileStream:
    """Iterator over ``remaining`` bytes of an open file; closes it when done or closed."""

    def __init__(self, src, remaining: int, chunk_size: int) -> None:
        self._src = src
        self._remaining = remaining
        self._chunk_size = chunk_size

    def __iter__(self) -> _FileStream:
        return self

    def __next__(self) -> bytes:
        if self._src is None:
            raise StopIteration
        chunk = self._src.read(min(self._chunk_size, self._remaining)) if self._remaining > 0 else b""
        if not chunk:
            self.close()
            raise StopIteration
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        src, self._src = self._src, None
        if src is not None:
            src.close()

    def __del__(self) -> None:
        self.close()

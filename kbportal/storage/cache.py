"""A node-local read cache of stored versions.

A stored version never changes (a key's version id names exactly one byte string), so
a local copy is valid for as long as it exists: no invalidation, only eviction. The S3
store keeps one here so that downloads are served from local disk (the web server
sends the file itself) instead of passing every byte from S3 through Python, and the
file check's copy is kept instead of being thrown away.

Layout: ``<root>/<aa>/<sha256(key NUL version id)>``; ``<root>/tmp`` holds files being
written, renamed into place only when complete (a reader never sees half a file).
Eviction removes the least recently used files (modification time, refreshed on use)
once the total passes ``max_bytes``. Several processes (web server, worker) may share
one root: every step is a rename or an unlink, and each process rescans the folder
before it evicts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

TOUCH_AFTER_S = 60.0  # refresh a hit's time at most this often (one syscall saved per hit)
RESCAN_EVERY = 200  # admissions between rescans of the folder (other processes add files too)
LOW_WATER = 0.9  # eviction stops at this share of max_bytes


class BlobCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._tmp = self.root / "tmp"
        self._lock = threading.Lock()
        self._total: int | None = None  # None: unknown, scan before the next eviction decision
        self._admitted = 0

    def __repr__(self) -> str:
        return f"BlobCache({str(self.root)!r}, max_bytes={self.max_bytes})"

    def path_for(self, key: str, version_id: str) -> Path:
        name = hashlib.sha256(f"{key}\0{version_id}".encode()).hexdigest()
        return self.root / name[:2] / name

    # -- reading

    def get(self, key: str, version_id: str, size: int | None = None) -> Path | None:
        """The local copy of this version, or None. ``size`` (when known) guards against
        a file cut short by something outside kbportal."""
        path = self.path_for(key, version_id)
        try:
            st = path.stat()
        except OSError:
            return None
        if size is not None and st.st_size != size:
            self._unlink(path)
            return None
        if time.time() - st.st_mtime > TOUCH_AFTER_S:
            try:
                os.utime(path)
            except OSError:
                return None  # evicted meanwhile
        return path

    # -- writing

    def admit(self, key: str, version_id: str, source: Path, move: bool = False) -> Path | None:
        """Keep a copy of ``source`` (the exact bytes of this version). ``move``: take the
        file itself (the caller gives it up). Never raises: a cache is optional."""
        if self.max_bytes <= 0:
            return None
        try:
            size = source.stat().st_size
            if size > self.max_bytes * LOW_WATER:
                return None
            tmp = self._temp_path()
            if move:
                try:
                    os.replace(source, tmp)
                except OSError:  # another filesystem
                    shutil.copyfile(source, tmp)
            else:
                shutil.copyfile(source, tmp)
            return self._install(key, version_id, tmp, size)
        except OSError as exc:
            log.warning("blob cache: could not keep %s (%s)", key, exc)
            return None

    def tee(self, key: str, version_id: str, size: int, chunks: Iterator[bytes]) -> "TeeStream":
        """``chunks`` (the whole version, as read from storage) passed through unchanged,
        written aside and kept once complete. A stream that breaks off keeps nothing."""
        return TeeStream(self, key, version_id, size, chunks)

    def discard(self, key: str, version_id: str) -> None:
        self._unlink(self.path_for(key, version_id))

    def _temp_path(self) -> Path:
        self._tmp.mkdir(parents=True, exist_ok=True)
        return self._tmp / uuid.uuid4().hex

    def _install(self, key: str, version_id: str, tmp: Path, size: int) -> Path:
        final = self.path_for(key, version_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, final)
        with self._lock:
            self._admitted += 1
            if self._total is not None:
                self._total += size
            if self._total is None or self._total > self.max_bytes or self._admitted % RESCAN_EVERY == 0:
                self._total = None
        if self._total is None:
            self.evict()
        return final

    # -- eviction

    def usage(self) -> tuple[int, int]:
        """(files, bytes) in the cache now."""
        files = total = 0
        for _, size, _ in self._entries():
            files += 1
            total += size
        return files, total

    def evict(self) -> int:
        """Remove least recently used files until the total is under the low-water mark;
        returns the bytes removed. Also clears abandoned temp files."""
        with self._lock:
            entries = sorted(self._entries(), key=lambda e: e[2])
            total = sum(size for _, size, _ in entries)
            removed = 0
            limit = self.max_bytes if total <= self.max_bytes else self.max_bytes * LOW_WATER
            for path, size, _ in entries:
                if total - removed <= limit:
                    break
                if self._unlink(path):
                    removed += size
            self._total = total - removed
            self._clear_stale_temps()
            return removed

    def _entries(self) -> Iterator[tuple[Path, int, float]]:
        if not self.root.is_dir():
            return
        for bucket in os.scandir(self.root):
            if not bucket.is_dir() or len(bucket.name) != 2:
                continue
            for entry in os.scandir(bucket.path):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                yield Path(entry.path), st.st_size, st.st_mtime

    def _clear_stale_temps(self, older_than_s: float = 3600.0) -> None:
        if not self._tmp.is_dir():
            return
        cutoff = time.time() - older_than_s
        for entry in os.scandir(self._tmp):
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
            except OSError:
                pass

    @staticmethod
    def _unlink(path: Path) -> bool:
        try:
            os.unlink(path)
            return True
        except OSError:
            return False


class TeeStream:
    """Iterator over a storage stream that also writes it to a cache temp file."""

    def __init__(self, cache: BlobCache, key: str, version_id: str, size: int, chunks: Iterator[bytes]) -> None:
        self._cache, self._key, self._version_id, self._size = cache, key, version_id, size
        self._chunks = chunks
        self._tmp: Path | None = None
        self._out = None
        self._written = 0
        if 0 < size <= cache.max_bytes * LOW_WATER:
            try:
                self._tmp = cache._temp_path()
                self._out = open(self._tmp, "wb")
            except OSError:
                self._abandon()

    def __iter__(self) -> "TeeStream":
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._finish()
            raise
        except BaseException:
            self._abandon()
            raise
        if self._out is not None:
            try:
                self._out.write(chunk)
                self._written += len(chunk)
            except OSError:
                self._abandon()
        return chunk

    def _finish(self) -> None:
        if self._out is None:
            return
        out, tmp = self._out, self._tmp
        self._out = self._tmp = None
        try:
            out.close()
            if self._written == self._size:
                self._cache._install(self._key, self._version_id, tmp, self._size)
            else:
                os.unlink(tmp)
        except OSError as exc:
            log.warning("blob cache: could not keep %s (%s)", self._key, exc)

    def _abandon(self) -> None:
        out, tmp = self._out, self._tmp
        self._out = self._tmp = None
        if out is not None:
            try:
                out.close()
            except OSError:
                pass
        if tmp is not None:
            BlobCache._unlink(tmp)

    def close(self) -> None:
        """Stop early (client went away): nothing is kept, the storage stream is closed."""
        self._abandon()
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def __del__(self) -> None:
        self._abandon()

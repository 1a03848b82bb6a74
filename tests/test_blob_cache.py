"""The node-local read cache of stored versions: kept whole or not at all, bounded, LRU."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kbportal.storage.cache import BlobCache


@pytest.fixture
def cache(tmp_path) -> BlobCache:
    return BlobCache(tmp_path / "cache", max_bytes=10_000)


def a_file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_an_admitted_copy_is_found_by_key_and_version(cache, tmp_path):
    source = a_file(tmp_path, "a", 1000)
    cache.admit("documents/1/a.pdf", "v1", source)
    found = cache.get("documents/1/a.pdf", "v1", size=1000)
    assert found is not None and found.read_bytes() == source.read_bytes()


def test_another_version_of_the_same_key_is_not_a_hit(cache, tmp_path):
    cache.admit("documents/1/a.pdf", "v1", a_file(tmp_path, "a", 1000))
    assert cache.get("documents/1/a.pdf", "v2") is None


def test_admit_with_move_takes_the_file_itself(cache, tmp_path):
    source = a_file(tmp_path, "a", 1000)
    cache.admit("k", "v1", source, move=True)
    assert not source.exists() and cache.get("k", "v1", size=1000) is not None


def test_a_copy_of_the_wrong_size_is_dropped_not_served(cache, tmp_path):
    cache.admit("k", "v1", a_file(tmp_path, "a", 1000))
    assert cache.get("k", "v1", size=999) is None
    assert cache.get("k", "v1") is None  # and it is gone


def test_a_completed_stream_is_kept_byte_for_byte(cache):
    chunks = [os.urandom(300) for _ in range(4)]
    passed = list(cache.tee("k", "v1", 1200, iter(chunks)))
    assert passed == chunks
    assert cache.get("k", "v1", size=1200).read_bytes() == b"".join(chunks)


def test_a_stream_that_breaks_off_keeps_nothing(cache):
    def broken():
        yield b"x" * 300
        raise ConnectionError("storage went away")

    with pytest.raises(ConnectionError):
        list(cache.tee("k", "v1", 600, broken()))
    assert cache.get("k", "v1") is None
    assert not any((cache.root / "tmp").iterdir())


def test_a_stream_closed_early_keeps_nothing_and_closes_the_source(cache):
    class Source:
        closed = False

        def __iter__(self):
            return self

        def __next__(self):
            return b"y" * 100

        def close(self):
            Source.closed = True

    stream = cache.tee("k", "v1", 1000, Source())
    next(stream)
    stream.close()
    assert Source.closed and cache.get("k", "v1") is None


def test_a_stream_shorter_than_the_version_keeps_nothing(cache):
    list(cache.tee("k", "v1", 1000, iter([b"z" * 400])))
    assert cache.get("k", "v1") is None


def test_past_the_limit_the_least_recently_used_copies_go_first(cache, tmp_path):
    for index in range(4):
        cache.admit("k", f"v{index}", a_file(tmp_path, f"f{index}", 3000))
        age(cache.path_for("k", f"v{index}"), 1000 - index * 100)  # v0 oldest
    assert cache.get("k", "v0") is None  # 12 000 > 10 000: the oldest went
    assert all(cache.get("k", f"v{i}") is not None for i in (1, 2, 3))
    assert cache.usage()[1] <= 10_000


def test_a_recently_read_copy_survives_eviction(cache, tmp_path):
    for index in range(3):
        cache.admit("k", f"v{index}", a_file(tmp_path, f"f{index}", 3000))
        age(cache.path_for("k", f"v{index}"), 1000 - index * 100)
    cache.get("k", "v0")  # read now: the most recent
    cache.admit("k", "v3", a_file(tmp_path, "f3", 3000))
    assert cache.get("k", "v0") is not None and cache.get("k", "v1") is None


def test_a_file_larger_than_the_cache_is_not_kept(cache, tmp_path):
    assert cache.admit("k", "big", a_file(tmp_path, "big", 20_000)) is None
    assert list(cache.tee("k", "big2", 20_000, iter([b"b" * 20_000]))) == [b"b" * 20_000]
    assert cache.get("k", "big2") is None


def test_discard_removes_a_copy(cache, tmp_path):
    cache.admit("k", "v1", a_file(tmp_path, "a", 100))
    cache.discard("k", "v1")
    assert cache.get("k", "v1") is None


def test_cached_files_are_readable_by_their_owner_only(cache, tmp_path):
    path = cache.admit("k", "v1", a_file(tmp_path, "a", 100))
    assert path.stat().st_mode & 0o077 == 0

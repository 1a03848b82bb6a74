"""One contract for every blob store: the same tests run against ``FilesystemBlobStore``
(in a temp dir) and ``S3BlobStore`` (on a real SeaweedFS server, ``s3_server``).
S3-only tests at the end cover what only a network store can do wrong: credentials,
outages, an upload cut off by a crashing server."""

from __future__ import annotations

import hashlib
import io
import os
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from minio import Minio

from kbportal.storage import (BlobNotFound, InvalidBlobKey, StorageAuthFailed, StorageError, StorageUnavailable,
                              StoredBlob, get_blob_store)
from kbportal.storage.filesystem import FilesystemBlobStore
from kbportal.storage.s3 import InvalidBucketName, S3BlobStore

MiB = 1024 * 1024
LARGE_SIZE = 40 * MiB
DATA = b"0123456789abcdefghij"  # 20 bytes: easy to slice by eye


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    return request.getfixturevalue("s3_store")


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """40 MB of random bytes on disk (more than two 16 MiB parts), and its sha256."""
    path = tmp_path_factory.mktemp("large") / "large.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(LARGE_SIZE // MiB):
            chunk = os.urandom(MiB)
            f.write(chunk)
            digest.update(chunk)
    return path, digest.hexdigest()


def read_all(store, key: str, version_id: str | None = None, **kwargs) -> bytes:
    return b"".join(store.iter_bytes(key, version_id, **kwargs))


# --------------------------------------------------------------------------- writing and reading


def test_put_file_stores_the_bytes_under_a_new_version(store, tmp_path):
    source = tmp_path / "source.pdf"
    source.write_bytes(DATA)
    blob = store.put_file("documents/1/a.pdf", source, "application/pdf")
    assert store.get_bytes("documents/1/a.pdf", blob.version_id) == DATA


def test_put_returns_the_metadata_of_the_new_version(store):
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    blob = store.put_bytes("documents/1/a.txt", DATA, "text/plain")
    assert (blob.key, blob.size, blob.content_type, blob.is_latest) == ("documents/1/a.txt", 20, "text/plain", True)
    assert blob.version_id and blob.etag
    assert before <= blob.last_modified <= datetime.now(timezone.utc) + timedelta(seconds=5)


def test_stat_returns_what_put_returned(store):
    blob = store.put_bytes("documents/1/a.txt", DATA, "text/plain")
    found = store.stat("documents/1/a.txt", blob.version_id)
    assert (found.key, found.version_id, found.size, found.etag, found.content_type, found.is_latest) == \
        (blob.key, blob.version_id, blob.size, blob.etag, blob.content_type, True)
    assert found.last_modified is not None and found.last_modified.tzinfo is not None


def test_an_empty_file_round_trips(store):
    blob = store.put_bytes("documents/1/empty.txt", b"")
    assert store.stat("documents/1/empty.txt").size == 0
    assert store.get_bytes("documents/1/empty.txt", blob.version_id) == b""


def test_keys_with_spaces_and_non_ascii_characters_work(store):
    key = "documents/7/Präsentation Q3 日本.pdf"
    blob = store.put_bytes(key, DATA)
    assert store.get_bytes(key, blob.version_id) == DATA
    assert [b.key for b in store.list_versions("documents/7/")] == [key]


def test_a_put_with_the_callers_sha256_stores_the_bytes(store):
    data = os.urandom(MiB)
    blob = store.put_bytes("documents/1/hashed.bin", data, sha256=hashlib.sha256(data).hexdigest())
    assert store.get_bytes("documents/1/hashed.bin", blob.version_id) == data


# --------------------------------------------------------------------------- versions


def test_a_second_put_creates_a_new_version_and_keeps_the_old_one(store):
    first = store.put_bytes("documents/2/a.txt", b"first")
    second = store.put_bytes("documents/2/a.txt", b"second")
    assert first.version_id != second.version_id
    assert store.get_bytes("documents/2/a.txt", first.version_id) == b"first"
    assert store.get_bytes("documents/2/a.txt", second.version_id) == b"second"


def test_stat_without_a_version_returns_the_latest(store):
    store.put_bytes("documents/2/a.txt", b"first")
    second = store.put_bytes("documents/2/a.txt", b"second!")
    latest = store.stat("documents/2/a.txt")
    assert (latest.version_id, latest.size, latest.is_latest) == (second.version_id, 7, True)


def test_reading_without_a_version_returns_the_latest_bytes(store):
    store.put_bytes("documents/2/a.txt", b"first")
    store.put_bytes("documents/2/a.txt", b"second")
    assert store.get_bytes("documents/2/a.txt") == b"second"


def test_stat_of_an_older_version_says_it_is_not_the_latest(store):
    first = store.put_bytes("documents/2/a.txt", b"first")
    store.put_bytes("documents/2/a.txt", b"second")
    assert store.stat("documents/2/a.txt", first.version_id).is_latest is False


def test_list_versions_lists_every_version_and_marks_the_latest(store):
    first = store.put_bytes("documents/3/a.txt", b"1")
    second = store.put_bytes("documents/3/a.txt", b"22")
    other = store.put_bytes("documents/3/b.txt", b"333")
    listed = {(b.key, b.version_id): (b.size, b.is_latest) for b in store.list_versions("documents/")}
    assert listed == {
        ("documents/3/a.txt", first.version_id): (1, False),
        ("documents/3/a.txt", second.version_id): (2, True),
        ("documents/3/b.txt", other.version_id): (3, True),
    }


def test_list_versions_only_lists_keys_under_the_prefix(store):
    store.put_bytes("documents/4/a.txt", b"a")
    store.put_bytes("documents/40/b.txt", b"b")
    store.put_bytes("thumbnails/4/a.png", b"c")
    assert sorted(b.key for b in store.list_versions("documents/4/")) == ["documents/4/a.txt"]
    assert sorted(b.key for b in store.list_versions("documents/4")) == ["documents/4/a.txt", "documents/40/b.txt"]


def test_list_versions_reports_when_each_version_was_written(store):
    store.put_bytes("documents/4/a.txt", b"a")
    (blob,) = store.list_versions("documents/4/")
    assert abs(blob.last_modified - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_delete_version_removes_exactly_that_version(store):
    first = store.put_bytes("documents/5/a.txt", b"first")
    second = store.put_bytes("documents/5/a.txt", b"second")
    third = store.put_bytes("documents/5/a.txt", b"third")
    store.delete_version("documents/5/a.txt", second.version_id)
    assert {b.version_id for b in store.list_versions("documents/5/")} == {first.version_id, third.version_id}
    with pytest.raises(BlobNotFound):
        store.stat("documents/5/a.txt", second.version_id)
    assert store.get_bytes("documents/5/a.txt") == b"third"


def test_deleting_the_latest_version_makes_the_previous_one_latest(store):
    first = store.put_bytes("documents/5/a.txt", b"first")
    second = store.put_bytes("documents/5/a.txt", b"second")
    store.delete_version("documents/5/a.txt", second.version_id)
    assert store.stat("documents/5/a.txt").version_id == first.version_id
    assert [b.is_latest for b in store.list_versions("documents/5/")] == [True]


def test_deleting_the_only_version_removes_the_key(store):
    blob = store.put_bytes("documents/5/a.txt", b"only")
    store.delete_version("documents/5/a.txt", blob.version_id)
    assert list(store.list_versions("documents/5/")) == []
    with pytest.raises(BlobNotFound):
        store.stat("documents/5/a.txt")


@pytest.mark.parametrize("version_id", ["nosuchversion", "0" * 32, "../../../etc"])
def test_deleting_a_version_that_does_not_exist_changes_nothing(store, version_id):
    # SeaweedFS 4.48 re-points "latest" to the oldest version when asked to delete a
    # malformed version id: the store must not let that happen.
    store.put_bytes("documents/5/a.txt", b"first")
    second = store.put_bytes("documents/5/a.txt", b"second")
    store.delete_version("documents/5/a.txt", version_id)
    assert store.stat("documents/5/a.txt").version_id == second.version_id
    assert len(list(store.list_versions("documents/5/"))) == 2


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize("start, end, expected", [
    (0, 0, DATA[0:1]),  # first byte
    (2, 5, DATA[2:6]),  # end is inclusive
    (0, None, DATA),  # whole blob
    (5, None, DATA[5:]),  # from an offset to the end
    (15, 1000, DATA[15:]),  # end beyond the size is clamped
    (19, 19, DATA[19:]),  # the last byte alone
    (19, None, DATA[19:]),  # start at the last byte
    (20, None, b""),  # start just past the end: nothing
    (25, 30, b""),  # wholly past the end: nothing
    (6, 5, b""),  # end before start: nothing
], ids=["first-byte", "inclusive-end", "whole", "offset-to-end", "end-beyond-size", "last-byte",
        "start-at-last-byte", "start-at-size", "past-the-end", "end-before-start"])
def test_iter_bytes_returns_the_inclusive_range(store, start, end, expected):
    blob = store.put_bytes("documents/6/a.bin", DATA)
    assert read_all(store, "documents/6/a.bin", blob.version_id, start=start, end=end) == expected


def test_iter_bytes_reads_a_range_of_an_older_version(store):
    first = store.put_bytes("documents/6/a.bin", DATA)
    store.put_bytes("documents/6/a.bin", DATA.upper())
    assert read_all(store, "documents/6/a.bin", first.version_id, start=10, end=12) == b"abc"


def test_iter_bytes_yields_chunks_no_larger_than_asked(store):
    store.put_bytes("documents/6/a.bin", DATA)
    chunks = list(store.iter_bytes("documents/6/a.bin", chunk_size=8))
    assert b"".join(chunks) == DATA and max(map(len, chunks)) <= 8


def test_iter_bytes_refuses_a_negative_start(store):
    store.put_bytes("documents/6/a.bin", DATA)
    with pytest.raises(ValueError):
        store.iter_bytes("documents/6/a.bin", start=-1)


def test_an_iterator_closed_early_lets_the_store_go_on(store):
    store.put_bytes("documents/6/a.bin", DATA * 1000)
    stream = store.iter_bytes("documents/6/a.bin", chunk_size=100)
    next(stream)
    stream.close()
    assert store.get_bytes("documents/6/a.bin") == DATA * 1000


# --------------------------------------------------------------------------- missing things


@pytest.mark.parametrize("operation", ["stat", "get_bytes", "iter_bytes"])
def test_a_missing_key_raises_blob_not_found(store, operation):
    with pytest.raises(BlobNotFound) as err:
        getattr(store, operation)("documents/9/missing.pdf")
    assert err.value.code == "storage.not_found"


@pytest.mark.parametrize("operation", ["stat", "get_bytes", "iter_bytes"])
def test_a_missing_version_raises_blob_not_found(store, operation):
    blob = store.put_bytes("documents/9/a.pdf", DATA)
    missing = "f" * len(blob.version_id)
    with pytest.raises(BlobNotFound):
        getattr(store, operation)("documents/9/a.pdf", missing)


def test_iter_bytes_raises_when_called_not_when_first_read(store):
    with pytest.raises(BlobNotFound):
        store.iter_bytes("documents/9/missing.pdf")  # never iterated


@pytest.mark.parametrize("key", ["../x", "documents/../x", "/etc/passwd", "documents//x", "documents/x/",
                                 "./x", "", "documents/a\x00b", "documents/a\nb", "x" * 256],
                         ids=["dotdot", "inner-dotdot", "absolute", "double-slash", "trailing-slash", "dot",
                              "empty", "nul", "newline", "segment-too-long"])
def test_bad_keys_are_rejected(store, key, tmp_path):
    with pytest.raises(InvalidBlobKey) as err:
        store.put_bytes(key, DATA)
    assert err.value.code == "storage.bad_key"
    assert not (tmp_path / "x").exists()


def test_filesystem_store_never_follows_a_version_id_out_of_the_key_folder(tmp_path):
    fs = FilesystemBlobStore(tmp_path / "blobs")
    fs.put_bytes("documents/1/a.txt", DATA)
    victim = tmp_path / "blobs" / "documents" / "victim.txt"
    victim.write_text("keep me")
    fs.delete_version("documents/1/a.txt", "../victim.txt")
    with pytest.raises(BlobNotFound):
        fs.stat("documents/1/a.txt", "../victim.txt")
    assert victim.read_text() == "keep me"


# --------------------------------------------------------------------------- large files, threads


def test_a_large_file_streams_in_and_out_unchanged(store, large_file):
    path, sha256 = large_file
    blob = store.put_file("documents/8/large.bin", path)  # multipart on S3 (16 MiB parts)
    assert blob.size == LARGE_SIZE
    digest, size = hashlib.sha256(), 0
    for chunk in store.iter_bytes("documents/8/large.bin", blob.version_id):
        digest.update(chunk)
        size += len(chunk)
    assert (size, digest.hexdigest()) == (LARGE_SIZE, sha256)


def test_a_range_across_a_multipart_boundary_is_exact(store, large_file):
    path, _ = large_file
    blob = store.put_file("documents/8/large.bin", path)
    start, end = 16 * MiB - 10, 16 * MiB + 9
    with open(path, "rb") as f:
        f.seek(start)
        expected = f.read(end - start + 1)
    assert read_all(store, "documents/8/large.bin", blob.version_id, start=start, end=end) == expected


def test_reading_a_large_file_holds_only_a_few_chunks_in_memory(store, large_file):
    path, _ = large_file
    blob = store.put_file("documents/8/large.bin", path)
    tracemalloc.start()
    try:
        for _ in store.iter_bytes("documents/8/large.bin", blob.version_id, chunk_size=MiB):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB while streaming a {LARGE_SIZE // MiB} MiB file"


def test_puts_from_many_threads_all_land(store):
    def put(i: int) -> StoredBlob:
        return store.put_bytes(f"documents/10/{i % 3}.txt", f"payload {i}".encode())

    with ThreadPoolExecutor(max_workers=8) as pool:
        written = list(pool.map(put, range(24)))
    listed = {(b.key, b.version_id) for b in store.list_versions("documents/10/")}
    assert listed == {(b.key, b.version_id) for b in written}
    assert sum(b.is_latest for b in store.list_versions("documents/10/")) == 3


def test_check_passes_on_a_working_store(store):
    store.check()


# --------------------------------------------------------------------------- S3 only


def test_use_s3_storage_points_the_app_at_the_test_server(use_s3_storage):
    store = get_blob_store()
    assert isinstance(store, S3BlobStore)
    assert (store.endpoint, store.bucket) == (use_s3_storage.endpoint, use_s3_storage.bucket)
    blob = store.put_bytes("documents/1/a.txt", DATA)
    assert store.get_bytes("documents/1/a.txt", blob.version_id) == DATA


def test_s3_bucket_gets_versioning_on_first_use(s3_server):
    store = s3_server.store()
    store.put_bytes("documents/1/a.txt", DATA)
    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)
    assert client.get_bucket_versioning(store.bucket).status == "Enabled"


def test_s3_multipart_upload_returns_a_real_version(s3_server, large_file):
    path, _ = large_file
    store = s3_server.store()
    blob = store.put_file("documents/8/large.bin", path)
    assert "-" in blob.etag  # S3 marks multipart ETags "<md5>-<parts>"
    assert store.stat("documents/8/large.bin").version_id == blob.version_id


def test_s3_a_put_with_the_callers_sha256_is_signed_with_it_instead_of_hashing_the_bytes_again(s3_store,
                                                                                               monkeypatch):
    import minio.api

    data = os.urandom(MiB)
    digest = hashlib.sha256(data).hexdigest()
    hashed_sizes = []
    stock_hash = minio.api.sha256_hash

    def watched_hash(body):  # a spy: minio still hashes what it hashes
        hashed_sizes.append(len(body or b""))
        return stock_hash(body)

    monkeypatch.setattr(minio.api, "sha256_hash", watched_hash)
    wire = io.StringIO()
    s3_store.check()
    s3_store._client.trace_on(wire)
    try:
        s3_store.put_bytes("documents/1/signed.bin", data, sha256=digest)
    finally:
        s3_store._client.trace_off()
    assert MiB not in hashed_sizes  # the body was not hashed a second time
    put = next(b for b in wire.getvalue().split("---------START-HTTP---------") if b.strip().startswith("PUT"))
    assert f"x-amz-content-sha256: {digest}" in put.lower() and "content-md5" not in put.lower()
    s3_store.put_bytes("documents/1/plain.bin", data)  # without it, minio hashes the body itself
    assert MiB in hashed_sizes


def test_s3_wrong_secret_is_reported_as_auth_failed(s3_server):
    store = S3BlobStore(s3_server.endpoint, s3_server.access_key, "not-the-secret", "t-wrong-secret")
    with pytest.raises(StorageAuthFailed) as err:
        store.check()
    assert err.value.code == "storage.auth_failed"
    message = str(err.value)
    assert message != err.value.code and s3_server.endpoint in message and message.endswith(".")
    assert "KBPORTAL_S3_SECRET_KEY" in message


def test_s3_unknown_access_key_is_reported_as_auth_failed(s3_server):
    store = S3BlobStore(s3_server.endpoint, "NOSUCHKEY0000000000", s3_server.secret_key, "t-wrong-key")
    with pytest.raises(StorageAuthFailed):
        store.put_bytes("documents/1/a.txt", DATA)


def test_s3_invalid_bucket_name_is_reported_at_once(s3_server):
    with pytest.raises(InvalidBucketName) as err:
        s3_server.store("Not_A_Bucket")
    assert "KBPORTAL_S3_BUCKET" in str(err.value)


def test_s3_stopped_server_is_reported_as_unavailable_within_seconds(s3_server, s3_store):
    s3_store.put_bytes("documents/1/a.txt", DATA)
    with s3_server.stopped():
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as err:
            s3_store.stat("documents/1/a.txt")
        elapsed = time.monotonic() - started
    assert elapsed < 5, f"took {elapsed:.1f} s to notice the outage"
    assert err.value.code == "storage.unavailable"
    assert s3_server.endpoint in str(err.value) and "KBPORTAL_S3_ENDPOINT" in str(err.value)


def test_s3_store_works_again_once_the_server_is_back(s3_server, s3_store):
    blob = s3_store.put_bytes("documents/1/a.txt", DATA)
    with s3_server.stopped(), pytest.raises(StorageUnavailable):
        s3_store.get_bytes("documents/1/a.txt")
    assert s3_store.get_bytes("documents/1/a.txt", blob.version_id) == DATA


def test_s3_server_crash_during_multipart_upload_fails_and_leaves_no_version(s3_server, large_file, monkeypatch):
    path, _ = large_file
    store = s3_server.store(part_size=5 * MiB, parallel_parts=1)  # 8 parts, one after the other
    store.check()
    upload_part = store._client._upload_part
    parts_done = []

    def crash_after_two_parts(*args, **kwargs):  # fault injection: the server dies mid-upload
        if len(parts_done) == 2:
            s3_server.stop(kill=True)
        etag = upload_part(*args, **kwargs)
        parts_done.append(etag)
        return etag

    monkeypatch.setattr(store._client, "_upload_part", crash_after_two_parts)
    try:
        with pytest.raises(StorageError) as err:
            store.put_file("documents/8/cut.bin", path)
    finally:
        s3_server.start()
    assert err.value.code == "storage.unavailable" and len(parts_done) == 2
    assert list(store.list_versions("documents/8/")) == []
    with pytest.raises(BlobNotFound):
        store.stat("documents/8/cut.bin")


def test_s3_reading_while_the_server_dies_raises_storage_error(s3_server, large_file):
    path, _ = large_file
    store = s3_server.store()
    blob = store.put_file("documents/8/large.bin", path)
    stream = store.iter_bytes("documents/8/large.bin", blob.version_id, chunk_size=MiB)
    next(stream)
    try:
        s3_server.stop(kill=True)
        with pytest.raises(StorageUnavailable):
            for _ in stream:
                pass
    finally:
        s3_server.start()

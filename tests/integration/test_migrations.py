"""Migrations: empty to head on both databases, and no drift between models and migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.schema import metadata as schema_metadata
from tests.conftest import fresh_postgres


@pytest.fixture
def empty_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    if backend == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'empty.db'}")
    return Database(fresh_postgres(request.getfixturevalue("pg_base_url"), migrated=False))


def test_upgrade_from_empty_to_head(empty_database: Database) -> None:
    assert migrate.current_revision(empty_database) is None
    with pytest.raises(migrate.SchemaNotCurrent, match="isegoria db upgrade"):
        migrate.ensure_current(empty_database)
    migrate.upgrade(empty_database)
    assert migrate.current_revision(empty_database) == migrate.head_revision()
    migrate.ensure_current(empty_database)
    tables = set(inspect(empty_database.engine).get_table_names())
    assert set(schema_metadata.tables) <= tables
    migrate.upgrade(empty_database)  # a second upgrade is a no-op
    empty_database.dispose()


def test_models_match_migrations(empty_database: Database) -> None:
    migrate.upgrade(empty_database)
    with empty_database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, schema_metadata)
    empty_database.dispose()
    assert diff == [], f"models and migrations differ; add a revision: {diff}"

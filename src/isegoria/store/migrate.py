"""Schema migrations (Alembic), driven from code so no alembic.ini is needed."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from isegoria.store.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaNotCurrent(RuntimeError):
    """The database schema is not at the revision this code expects."""


def alembic_config(database: Database) -> Config:
    """An Alembic configuration pointing at our migrations and ``database``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", database.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision this code knows (read once: parsing the scripts takes ~20 ms,
    and /healthz asks on every probe)."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest)."""
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_current(database: Database) -> None:
    """Raise with instructions unless the schema is at head."""
    current, head = current_revision(database), head_revision()
    if current != head:
        where = "empty" if current is None else f"at revision {current}"
        raise SchemaNotCurrent(
            f"the database is {where} but this isegoria needs revision {head}; "
            "run `isegoria db upgrade` (or start with `isegoria serve --upgrade`)"
        )
